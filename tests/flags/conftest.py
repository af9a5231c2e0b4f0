"""Hand-built histories for the flag rules, and the evaluator behind one fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

import pytest

from accounts.models import Patient
from checkins.models import AlliancePulse, AttentionRequest, CheckIn
from flags import sweep
from flags.findings import Finding
from flags.models import Flag
from tests.factories import PatientFactory, backdated_revision, item_draft

# 12:00 UTC on Wed 11 Mar 2026: London's yesterday is Tue 10 Mar.
NOW = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
YESTERDAY = date(2026, 3, 10)


def ago(days: int, *, from_day: date = YESTERDAY) -> date:
    """The date ``days`` before yesterday (0 = yesterday)."""
    return from_day - timedelta(days=days)


def make_patient(derm, *, zone: str = "Europe/London", plan_days: int = 60,
                 starts_on: date | None = None) -> Patient:
    """A patient whose plan started ``plan_days`` days before yesterday (or on ``starts_on``)."""
    patient = PatientFactory(dermatologist=derm, timezone=zone)
    backdated_revision(patient, author=derm, number=1,
                       effective_from=starts_on or ago(plan_days), items=[item_draft()])
    return patient


def on_injections(derm, *, dose_day: date, window_days: int, every_n_weeks: int = 4,
                  zone: str = "Europe/London", kind: str = "injection",
                  frequency: str = "every_n_weeks", **item) -> Patient:
    """A patient whose plan (from 60 days before yesterday) is one dated step: an injection
    every ``every_n_weeks`` weeks from ``dose_day`` with a window of ``window_days`` days."""
    patient = PatientFactory(dermatologist=derm, timezone=zone)
    backdated_revision(patient, author=derm, number=1, effective_from=ago(60), items=[item_draft(
        **{"name": "Adalimumab 40 mg injection", "kind": kind, "time_of_day": "morning",
           "frequency": frequency, "every_n_weeks": every_n_weeks, "window_days": window_days,
           "starts_on": dose_day, **item})])
    return patient


def log(patient: Patient, on: date, *, done: int = 1, due: int = 1,
        satisfaction: int | None = None) -> CheckIn:
    """A check-in as history holds it (counts given directly, as the adherence module reads)."""
    revision = patient.care_plan.revisions.filter(effective_from__lte=on).order_by(
        "-effective_from", "-number").first() or patient.care_plan.revisions.earliest("number")
    return CheckIn.objects.create(patient=patient, local_date=on, revision=revision,
                                  steps_due=due, steps_done=done, satisfaction=satisfaction)


def log_days(patient: Patient, days_ago: Iterable[int], *, done: int = 1, due: int = 1,
             satisfaction: int | None = None, from_day: date = YESTERDAY) -> list[CheckIn]:
    return [log(patient, ago(n, from_day=from_day), done=done, due=due,
                satisfaction=satisfaction) for n in days_ago]


def pulse(patient: Patient, on: date, total: int) -> AlliancePulse:
    """A pulse of ``total``/40 on a check-in of that day (made if missing)."""
    checkin = CheckIn.objects.filter(patient=patient, local_date=on).first() or log(patient, on)
    answers = [min(10, max(0, total - 10 * n)) for n in range(3)]
    answers.append(total - sum(answers))
    return AlliancePulse.objects.create(
        checkin=checkin, patient=patient, local_date=on, heard=answers[0],
        shared_goals=answers[1], fits_life=answers[2], safe_to_raise=answers[3], total=total)


Evaluate = Callable[..., list[Finding]]


@pytest.fixture
def evaluate() -> Evaluate:
    """The sweep's findings without applying them (the one evaluator, flags.sweep)."""

    def run(*, now: datetime = NOW, clinic_ids: list[int] | None = None) -> list[Finding]:
        return sweep.evaluate(now=now, clinic_ids=clinic_ids)

    return run


def only(findings: list[Finding], rule: str, patient: Patient | None = None) -> Finding | None:
    matching = [f for f in findings if f.rule == rule
                and (patient is None or f.patient_id == patient.pk)]
    assert len(matching) <= 1
    return matching[0] if matching else None


def steady(patient: Patient, days_ago: Iterable[int], *, pattern: Sequence[int] = (9, 10, 9, 8),
           due: int = 10, satisfaction: int | None = None, every: int = 1) -> list[CheckIn]:
    """Check-ins on ``days_ago`` (every ``every``-th), steps done cycling through ``pattern``
    of ``due``: a patient's own steady level with a little day-to-day spread."""
    days = [n for n in days_ago if n % every == 0]
    return [log(patient, ago(n), done=pattern[i % len(pattern)], due=due,
                satisfaction=satisfaction) for i, n in enumerate(sorted(days, reverse=True))]


def answer(patient: Patient, on: date, value: int, question: str = "heard") -> CheckIn:
    """The week's partnership answer on that day's check-in (made if missing)."""
    checkin = CheckIn.objects.filter(patient=patient, local_date=on).first() or log(patient, on)
    checkin.partnership, checkin.partnership_question = value, question
    checkin.save(update_fields=["partnership", "partnership_question"])
    return checkin


def flags_of_every_rule(derm) -> dict[str, Flag]:
    """Histories that raise a flag of every rule the sweep raises, swept at ``NOW`` through
    the real rules; plus a severe side effect raised at check-in. {the flag's title: flag}."""
    from flags.services import flag_raise_severe_side_effect

    falling = make_patient(derm)  # adherence and ratings fall together: at risk
    steady(falling, range(5, 60), satisfaction=4)
    log_days(falling, range(0, 5), done=2, due=10, satisfaction=2)
    partnership = make_patient(derm)  # weekly answers around 8, then 3
    steady(partnership, range(0, 60))
    for n, value in zip(range(63, 14, -7), [8, 9, 8, 8, 9, 8, 8], strict=True):
        answer(partnership, ago(n), value)
    answer(partnership, ago(1), 3)
    quiet = make_patient(derm)  # every day for eight weeks, then nothing for 5 days
    steady(quiet, range(5, 60))
    on_injections(derm, dose_day=ago(6), window_days=3)  # Wed 4 Mar, never logged
    sweep.sweep(now=NOW)

    severe = make_patient(derm)
    checkin = log(severe, ago(0))
    checkin.side_effect = "severe"
    checkin.save()
    flag_raise_severe_side_effect(request=AttentionRequest.objects.create(
        patient=severe, checkin=checkin, kind=AttentionRequest.Kind.SEVERE_SIDE_EFFECT), now=NOW)
    flags = {flag.title: flag for flag in Flag.objects.select_related("patient")}
    assert len(flags) == Flag.objects.count(), "each flag of these histories has its own title"
    return flags
