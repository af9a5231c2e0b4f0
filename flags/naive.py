"""The rules evaluated the straightforward way: one patient at a time, a few queries each.

Kept as the reference the set-based sweep (``flags.sweep``) is checked against (property test)
and measured against (benchmarks/flag_sweep.py). Decisions come from ``flags.rules``, the same
functions the sweep uses; only the way the numbers are gathered differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from accounts.models import Patient
from checkins.models import AlliancePulse, CheckIn

from . import rules
from .findings import Finding
from .models import FlagSettings
from .rules import Counts, Pulses, Ratings, Verdict

Row = tuple[int, date, int, int, datetime]  # id, local date, done, due, saved


def evaluate(*, now: datetime, clinic_ids: list[int] | None = None,
             patient_ids: Iterable[int] | None = None) -> list[Finding]:
    """Findings about the active patients with a plan (of these clinics / these patients)."""
    patients = Patient.objects.filter(is_active=True, care_plan__isnull=False)
    if clinic_ids is not None:
        patients = patients.filter(clinic_id__in=clinic_ids)
    if patient_ids is not None:
        patients = patients.filter(pk__in=list(patient_ids))
    settings: dict[int, FlagSettings] = {}
    findings: list[Finding] = []
    for patient in patients.select_related("care_plan").order_by("pk"):
        if patient.clinic_id not in settings:
            settings[patient.clinic_id] = FlagSettings.for_clinic(patient.clinic_id)
        findings += evaluate_patient(patient, now=now, settings=settings[patient.clinic_id])
    return rules.order(findings)


def evaluate_patient(patient: Patient, *, now: datetime, settings: FlagSettings
                     ) -> list[Finding]:
    s = settings
    as_of = rules.local_yesterday(now, patient.zone)
    starts_on = patient.care_plan.starts_on
    w = rules.windows_for(as_of, s)
    rows: list[Row] = list(
        CheckIn.objects.filter(
            patient=patient, local_date__range=(as_of - timedelta(days=rules.lookback_days(s)),
                                                as_of))
        .values_list("id", "local_date", "steps_done", "steps_due", "updated_at")
    )
    found: list[Finding] = []
    for verdict in _window_verdicts(rows, starts_on, w, s):
        inside = [r for r in rows if any(a <= r[1] <= b for a, b in verdict.id_ranges)]
        found.append(rules.finding(patient.pk, verdict, as_of, [r[0] for r in inside],
                                   max(r[4] for r in inside)))
    found += _rating_findings(patient, as_of, s)
    found += _pulse_findings(patient, as_of, s)
    return rules.with_at_risk(rules.order(found), as_of, s)


def _counts(rows: list[Row], start: date, end: date) -> Counts:
    inside = [r for r in rows if start <= r[1] <= end]
    return Counts(done=sum(r[2] for r in inside), due=sum(r[3] for r in inside),
                  logged=len(inside))


def _window_verdicts(rows: list[Row], starts_on: date, w: rules.Windows, s: FlagSettings
                     ) -> list[Verdict]:
    weeks = [(week, _counts(rows, *rules.plan_week_range(starts_on, week)))
             for week in rules.compared_plan_weeks(starts_on, w.as_of, s)]
    prior = [r for r in rows if w.prior[0] <= r[1] <= w.prior[1]]
    found = (
        rules.adherence_drop(_counts(rows, *w.recent), _counts(rows, *w.baseline), w, s),
        rules.below_expected(starts_on, weeks, w.as_of, s),
        rules.gone_quiet(_counts(rows, *w.quiet).logged, len(prior),
                         max((r[1] for r in prior), default=None), w, s),
    )
    return [verdict for verdict in found if verdict is not None]


def _rating_findings(patient: Patient, as_of: date, s: FlagSettings) -> list[Finding]:
    compared = s.satisfaction_recent_count + s.satisfaction_previous_count
    rated = list(
        CheckIn.objects.filter(patient=patient, satisfaction__isnull=False, local_date__lte=as_of)
        .order_by("-local_date").values_list("id", "local_date", "satisfaction",
                                             "updated_at")[:compared]
    )
    ratings = Ratings.from_newest_first([(day, value) for _, day, value, _ in rated], s)
    verdict = rules.satisfaction_drop(ratings, as_of, s)
    if verdict is None:
        return []
    return [rules.finding(patient.pk, verdict, as_of, [r[0] for r in rated],
                          max(r[3] for r in rated))]


def _pulse_findings(patient: Patient, as_of: date, s: FlagSettings) -> list[Finding]:
    latest = list(
        AlliancePulse.objects.filter(patient=patient, local_date__lte=as_of)
        .order_by("-local_date")
        .values_list("total", "local_date", "checkin_id", "checkin__updated_at")[:2]
    )
    if not latest:
        return []
    previous = latest[1] if len(latest) > 1 else (None, None, None, None)
    pulses = Pulses(latest_total=latest[0][0], latest_date=latest[0][1],
                    latest_checkin=latest[0][2], previous_total=previous[0],
                    previous_date=previous[1], previous_checkin=previous[2])
    verdict = rules.alliance_drop(pulses, as_of, s)
    if verdict is None:
        return []
    return [rules.finding(patient.pk, verdict, as_of, pulses.checkin_ids,
                          max(r[3] for r in latest))]
