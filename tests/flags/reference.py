"""The per-patient reference evaluator (tests only): each patient's own check-ins read through
the ORM, one patient at a time, into the same rules (``flags.rules``). The property test and
the drills compare the set-based sweep (``flags.sweep``: chunks, time zones, one query for many
patients) with it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from accounts.models import Patient
from checkins.models import AlliancePulse
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
    return rules.order(findings)
