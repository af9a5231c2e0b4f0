"""The per-patient reference evaluator (tests only): each patient's own check-ins read through
the ORM, one patient at a time, into the same rules (``flags.rules``). The property test and
the drills compare the set-based sweep (``flags.sweep``: chunks, time zones, one query for many
patients) with it. A missed dose is read from the plan's schedule, not the day histories: here
through ``checkins.selectors.missed_doses`` for one patient at a time."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from accounts.models import Patient
from checkins.models import AlliancePulse
from checkins.selectors import missed_doses
from flags import rules
from flags.findings import Finding
from flags.models import FlagSettings


def reference(now: datetime, clinic_ids: list[int] | None = None,
              patient_ids: list[int] | None = None) -> list[Finding]:
    """Each evaluated patient alone (of these clinics, or these patients: all when None):
    their own check-ins through the ORM into the rules."""
    findings: list[Finding] = []
    patients = Patient.objects.filter(is_active=True, care_plan__isnull=False)
    if clinic_ids is not None:
        patients = patients.filter(clinic_id__in=clinic_ids)
    if patient_ids is not None:
        patients = patients.filter(pk__in=patient_ids)
    for patient in patients.select_related("care_plan"):
        as_of = rules.local_yesterday(now, ZoneInfo(patient.timezone))
        start = as_of - timedelta(days=rules.LOOKBACK_DAYS - 1)
        shape = (1, rules.LOOKBACK_DAYS)
        h = rules.Histories(
            as_of=as_of, patient_ids=[patient.pk], plan_starts=[patient.care_plan.starts_on],
            logged=np.zeros(shape, dtype=bool), done=np.zeros(shape, dtype=np.int32),
            due=np.zeros(shape, dtype=np.int32), adherence=np.full(shape, np.nan),
            ratings=np.full(shape, np.nan), partnership=np.full(shape, np.nan),
            checkin_ids=np.zeros(shape, dtype=np.int64))
        for checkin in patient.checkins.filter(local_date__range=(start, as_of)):
            col = (checkin.local_date - start).days
            h.logged[0, col] = True
            h.done[0, col], h.due[0, col] = checkin.steps_done, checkin.steps_due
            if checkin.steps_due:
                h.adherence[0, col] = checkin.steps_done / checkin.steps_due
            if checkin.satisfaction is not None:
                h.ratings[0, col] = checkin.satisfaction
            pulse = AlliancePulse.objects.filter(checkin=checkin).first()
            if pulse is not None:
                h.partnership[0, col] = pulse.total / 4
            elif checkin.partnership is not None:
                h.partnership[0, col] = checkin.partnership
                h.questions[(0, col)] = checkin.partnership_question
            h.checkin_ids[0, col] = checkin.pk
            h.saved[checkin.pk] = checkin.updated_at
        settings_ = FlagSettings.for_clinic(patient.clinic_id)
        findings += rules.findings_of(h, rules.evaluate(h, settings_), settings_)
        findings += _missed_dose(patient, as_of)
    return rules.order(findings)


def _missed_dose(patient: Patient, as_of) -> list[Finding]:
    doses = missed_doses([patient.pk], as_of - timedelta(days=rules.MONITOR_DAYS - 1), as_of)
    if not doses:
        return []
    ids = [pk for pk, day in patient.checkins.filter(
        local_date__range=(min(d.scheduled_on for d in doses), as_of)).values_list(
        "pk", "local_date") if any(d.scheduled_on <= day <= d.last_day for d in doses)]
    closed = max(d.last_day for d in doses) + timedelta(days=1)
    return [rules.missed_dose_finding(
        patient.pk, doses, as_of, sorted(ids),
        datetime.combine(closed, datetime.min.time(), ZoneInfo(patient.timezone)))]
