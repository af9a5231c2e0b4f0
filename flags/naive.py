"""The rules evaluated the straightforward way: one patient at a time, each rule reading what it
needs with its own query (five a patient at most).

Kept as the reference the set-based sweep (``flags.sweep``) is checked against (property test)
and measured against (benchmarks/flag_sweep.py). Decisions come from ``flags.rules``, the same
functions the sweep uses; only the way the numbers are gathered differs, and here each rule
reads plainly what its definition names.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from accounts.models import Patient
from checkins.models import AlliancePulse, CheckIn

from . import rules
from .findings import Finding
from .models import FlagSettings
from .rules import Counts, Pulses, Ratings, Verdict, Windows

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
    w = rules.windows_for(as_of, s)
    found = [
        adherence_drop(patient, w, s), below_expected(patient, w, s),
        satisfaction_drop(patient, as_of, s), alliance_drop(patient, as_of, s),
        gone_quiet(patient, w, s),
    ]
    return rules.with_at_risk([f for f in found if f is not None], as_of, s)


def _checkins(patient: Patient, start: date, end: date) -> list[Row]:
    return list(
        CheckIn.objects.filter(patient=patient, local_date__range=(start, end))
        .values_list("id", "local_date", "steps_done", "steps_due", "updated_at")
    )


def _counts(rows: list[Row], start: date, end: date) -> Counts:
    inside = [r for r in rows if start <= r[1] <= end]
    return Counts(done=sum(r[2] for r in inside), due=sum(r[3] for r in inside),
                  logged=len(inside))


def _finding(patient: Patient, verdict: Verdict | None, as_of: date, rows: list[Row]
             ) -> Finding | None:
    """The finding of a window rule: the check-ins inside its windows are behind it."""
    if verdict is None:
        return None
    inside = [r for r in rows if any(a <= r[1] <= b for a, b in verdict.id_ranges)]
    return rules.finding(patient.pk, verdict, as_of, [r[0] for r in inside],
                         max(r[4] for r in inside))


def adherence_drop(patient: Patient, w: Windows, s: FlagSettings) -> Finding | None:
    rows = _checkins(patient, w.baseline[0], w.recent[1])
    verdict = rules.adherence_drop(_counts(rows, *w.recent), _counts(rows, *w.baseline), w, s)
    return _finding(patient, verdict, w.as_of, rows)


def below_expected(patient: Patient, w: Windows, s: FlagSettings) -> Finding | None:
    starts_on = patient.care_plan.starts_on
    weeks = rules.compared_plan_weeks(starts_on, w.as_of, s)
    if not weeks:
        return None
    ranges = [rules.plan_week_range(starts_on, week) for week in weeks]
    rows = _checkins(patient, ranges[0][0], ranges[-1][1])
    verdict = rules.below_expected(
        starts_on, [(week, _counts(rows, *rng)) for week, rng in zip(weeks, ranges, strict=True)],
        w.as_of, s)
    return _finding(patient, verdict, w.as_of, rows)


def gone_quiet(patient: Patient, w: Windows, s: FlagSettings) -> Finding | None:
    rows = _checkins(patient, w.prior[0], w.quiet[1])
    prior = [r for r in rows if w.prior[0] <= r[1] <= w.prior[1]]
    verdict = rules.gone_quiet(_counts(rows, *w.quiet).logged, len(prior),
                               max((r[1] for r in prior), default=None), w, s)
    return _finding(patient, verdict, w.as_of, rows)


def satisfaction_drop(patient: Patient, as_of: date, s: FlagSettings) -> Finding | None:
    compared = s.satisfaction_recent_count + s.satisfaction_previous_count
    rated = list(
        CheckIn.objects.filter(patient=patient, satisfaction__isnull=False, local_date__lte=as_of)
        .order_by("-local_date").values_list("id", "local_date", "satisfaction",
                                             "updated_at")[:compared]
    )
    ratings = Ratings.from_newest_first([(day, value) for _, day, value, _ in rated], s)
    verdict = rules.satisfaction_drop(ratings, as_of, s)
    if verdict is None:
        return None
    return rules.finding(patient.pk, verdict, as_of, [r[0] for r in rated],
                         max(r[3] for r in rated))


def alliance_drop(patient: Patient, as_of: date, s: FlagSettings) -> Finding | None:
    latest = list(
        AlliancePulse.objects.filter(patient=patient, local_date__lte=as_of)
        .order_by("-local_date")
        .values_list("total", "local_date", "checkin_id", "checkin__updated_at")[:2]
    )
    if not latest:
        return None
    previous = latest[1] if len(latest) > 1 else (None, None, None, None)
    pulses = Pulses(latest_total=latest[0][0], latest_date=latest[0][1],
                    latest_checkin=latest[0][2], previous_total=previous[0],
                    previous_date=previous[1], previous_checkin=previous[2])
    verdict = rules.alliance_drop(pulses, as_of, s)
    if verdict is None:
        return None
    return rules.finding(patient.pk, verdict, as_of, pulses.checkin_ids,
                         max(r[3] for r in latest))
