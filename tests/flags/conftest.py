"""Hand-built histories for the flag rules, and both evaluators behind one fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta

import pytest

from accounts.models import Patient
from checkins.models import AlliancePulse, AttentionRequest, CheckIn
from flags import naive, sweep
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


@pytest.fixture(params=["sweep", "naive"])
def evaluate(request) -> Evaluate:
    """Each rule test runs against both evaluators: the set-based sweep and the naive loop."""
    module = sweep if request.param == "sweep" else naive

    def run(*, now: datetime = NOW, clinic_ids: list[int] | None = None) -> list[Finding]:
        return module.evaluate(now=now, clinic_ids=clinic_ids)

    return run


def only(findings: list[Finding], rule: str, patient: Patient | None = None) -> Finding | None:
    matching = [f for f in findings if f.rule == rule
                and (patient is None or f.patient_id == patient.pk)]
    assert len(matching) <= 1
    return matching[0] if matching else None


def flags_of_every_rule(derm) -> dict[str, Flag]:
    """Histories that raise a flag of every rule, each branch a clinic meets (a fall, a low
    that stayed low), swept at ``NOW`` through the real rules; plus a severe side effect
    raised at check-in. {the flag's title: the flag}."""
    from flags.services import flag_raise_severe_side_effect

    falling = make_patient(derm)  # adherence, ratings and pulse fall together: at risk
    log_days(falling, range(7, 35), done=9, due=10, satisfaction=4)
    log_days(falling, range(0, 7), done=3, due=10, satisfaction=2)
    pulse(falling, ago(16), 36)
    pulse(falling, ago(2), 22)
    low_ratings = make_patient(derm)  # 1.1 before, 1.33 now: low, and a little higher
    for n, rating in enumerate([2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1]):
        log(low_ratings, ago(n), satisfaction=rating)
    low_pulse = make_patient(derm)  # 20 then 25 of 40: under 28, yet higher
    pulse(low_pulse, ago(16), 20)
    pulse(low_pulse, ago(2), 25)
    low_steps = make_patient(derm)  # 30 % then 40 %: under 50 %, yet higher
    log_days(low_steps, range(19, 31), done=3, due=10)  # (plan weeks 7 and 8 unlogged)
    log_days(low_steps, range(0, 5), done=4, due=10)
    below = make_patient(derm, plan_days=44)  # 40 % in plan weeks 5 and 6
    log_days(below, range(10, 14), done=8, due=20)
    log_days(below, range(3, 7), done=8, due=20)
    quiet = make_patient(derm)  # every day, then nothing for 4 days
    log_days(quiet, range(4, 11))
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
