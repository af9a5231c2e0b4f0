"""seed_demo gives every demo patient weeks of daily check-ins that follow the plan in effect."""

import itertools
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Count, Q

from accounts.models import Patient
from careplans import selectors
from careplans.models import Concern, Frequency
from careplans.schedule import due_steps
from checkins import services
from checkins.adherence import window_adherence
from checkins.models import AlliancePulse, AttentionRequest, CheckIn, SideEffect, StepLog
from demo.seed.patterns import DECLINING, FALLING_ALLIANCE, STEADY, WEEKEND_GAPS, history_pattern
from flags.models import Flag, Rule

pytestmark = pytest.mark.django_db

DAYS = 28
PULSE_INTERVAL = 28  # the clinic default


def _seed(**options: int) -> None:
    call_command("seed_demo", stdout=StringIO(), stderr=StringIO(), **options)


@pytest.fixture
def small_cohort() -> None:
    """patient@demo.test and 16 synthetic patients: every pattern, one severe side effect."""
    _seed(patients=16, days=DAYS)


@pytest.fixture
def default_demo() -> None:
    _seed()


def _patient(number: int) -> Patient:
    email = "patient@demo.test" if number == 0 else f"patient{number:05d}@demo.test"
    return Patient.objects.select_related("care_plan").get(user__email=email)


def _patients_with(pattern: object, *, up_to: int) -> list[Patient]:
    return [_patient(n) for n in range(1, up_to + 1) if history_pattern(n) == pattern]


def _row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count()
            for model in (CheckIn, StepLog, AlliancePulse, AttentionRequest, Flag)}


def _kept_share(patient: Patient, *, weekend: bool) -> float:
    """Share of days logged times share of due steps done on them, at weekends or on weekdays."""
    checkins = [c for c in patient.checkins.all() if (c.local_date.weekday() >= 5) == weekend]
    start, end = patient.care_plan.starts_on, patient.local_today()
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    logged = len(checkins) / sum((day.weekday() >= 5) == weekend for day in days)
    return logged * sum(c.steps_done for c in checkins) / sum(c.steps_due for c in checkins)


def _weekend_gap(patient: Patient) -> float:
    """How much of the routine is kept at weekends, relative to weekdays."""
    return _kept_share(patient, weekend=True) / _kept_share(patient, weekend=False)


def _windowed_done_on(patient_id: int) -> dict[tuple, list]:
    """Per (item key, slot): the days of the check-ins that logged a windowed dose done."""
    done_on: dict[tuple, list] = {}
    for key, slot, day in StepLog.objects.filter(
            checkin__patient_id=patient_id, done=True, counted=True,
            item__window_days__gt=0).values_list("item_key", "slot", "checkin__local_date"):
        done_on.setdefault((key, slot), []).append(day)
    return done_on


def test_each_checkin_counts_its_step_logs_and_follows_the_revision_in_effect(small_cohort):
    # given
    checkins = CheckIn.objects.select_related("patient__care_plan").prefetch_related(
        "steps", "revision__items"
    )
    done_on = {pk: _windowed_done_on(pk) for pk in Patient.objects.values_list("pk", flat=True)}
    # when / then: the counted logs are the steps due that day as the check-in page offers
    # them (a windowed dose done on another day of its window is not due; before its last day
    # it may be left unlogged); as-needed uses are logged uncounted
    assert checkins.count() > 17 * DAYS // 2
    for checkin in checkins:
        plan = checkin.patient.care_plan
        logs = [log for log in checkin.steps.all() if log.counted]
        uses = [log for log in checkin.steps.all() if not log.counted]
        items = list(checkin.revision.items.all())
        due = due_steps(items, checkin.local_date, plan_starts_on=plan.starts_on,
                        done_on=done_on[checkin.patient_id])
        logged = {(log.item_id, log.slot) for log in logs}
        assert checkin.revision == selectors.revision_in_effect(plan, checkin.local_date)
        assert checkin.steps_done == sum(log.done for log in logs)
        assert checkin.steps_due == len(logs) > 0
        assert {(s.item.pk, s.slot) for s in due if not s.optional} <= logged
        assert logged <= {(s.item.pk, s.slot) for s in due}
        assert all(log.done for log in logs if (log.item_id, log.slot) in {
            (s.item.pk, s.slot) for s in due if s.optional})
        assert all(log.item_key == log.item.key for log in checkin.steps.all())
        assert all(bool(log.skip_reason) != log.done for log in checkin.steps.all())
        assert all(log.done and log.slot == "as_needed" and log.taken_on == checkin.local_date
                   and log.item.frequency == Frequency.AS_NEEDED for log in uses)
        assert all(log.taken_on == (checkin.local_date if log.done else None)
                   for log in logs if log.item.window_days)


def test_history_lies_between_the_plan_start_and_the_patients_today(small_cohort):
    # given
    patients = Patient.objects.select_related("care_plan")
    # when / then
    for patient in patients:
        today = patient.local_today()
        dates = list(patient.checkins.values_list("local_date", flat=True))
        assert dates, patient.pk
        assert min(dates) >= max(patient.care_plan.starts_on, today - timedelta(days=DAYS))
        assert max(dates) <= today


def test_the_demo_patient_has_history_but_has_not_checked_in_today(small_cohort):
    # given
    patient = _patient(0)
    # when
    dates = set(patient.checkins.values_list("local_date", flat=True))
    # then
    assert len(dates) >= DAYS // 2
    assert patient.local_today() not in dates
    assert selectors.steps_due_on(patient, patient.local_today())[1]


def test_the_pulse_is_answered_whenever_the_checkin_page_would_ask_it(small_cohort):
    # given
    checkins = CheckIn.objects.select_related("patient__clinic").annotate(
        has_pulse=Count("pulse")
    )
    # when / then
    assert {c.patient.clinic.pulse_interval_days for c in checkins} == {PULSE_INTERVAL}
    for checkin in checkins:
        assert bool(checkin.has_pulse) == services.pulse_due(checkin.patient, checkin.local_date)
    for pulse in AlliancePulse.objects.select_related("checkin"):
        answers = [pulse.heard, pulse.shared_goals, pulse.fits_life, pulse.safe_to_raise]
        assert pulse.local_date == pulse.checkin.local_date
        assert pulse.total == sum(answers)
        assert all(0 <= a <= 10 for a in answers)


def test_pulses_come_about_every_four_weeks(default_demo):
    # given
    patients = Patient.objects.all()
    # when
    dates = [list(p.pulses.order_by("local_date").values_list("local_date", flat=True))
             for p in patients]
    # then
    assert all(len(pulse_dates) >= 2 for pulse_dates in dates)
    gaps = [(later - earlier).days for pulse_dates in dates
            for earlier, later in itertools.pairwise(pulse_dates)]
    assert all(PULSE_INTERVAL <= gap <= PULSE_INTERVAL + 7 for gap in gaps)


def test_a_severe_side_effect_asks_for_attention_and_is_flagged(small_cohort):
    # given
    severe = CheckIn.objects.filter(side_effect=SideEffect.SEVERE).prefetch_related("steps")
    # when
    every_request = AttentionRequest.objects.filter(
        kind=AttentionRequest.Kind.SEVERE_SIDE_EFFECT)
    # (the demo's conversations hold a severe side effect reported in a message too)
    requests = every_request.filter(checkin__isnull=False)
    by_message = set(every_request.filter(checkin__isnull=True).values_list("patient_id",
                                                                            flat=True))
    # then
    assert severe.exists()
    assert set(requests.values_list("checkin_id", flat=True)) == {c.pk for c in severe}
    assert not every_request.filter(processed_at__isnull=True).exists()
    flagged = Flag.objects.filter(rule=Rule.SEVERE_SIDE_EFFECT)
    assert set(flagged.values_list("patient_id", flat=True)) == (
        {c.patient_id for c in severe} | by_message)
    for checkin in severe:
        assert checkin.side_effect_text
        assert checkin.side_effect_item_id in {log.item_id for log in checkin.steps.all()}
        assert requests.get(checkin=checkin).patient_id == checkin.patient_id


def test_re_running_seed_demo_adds_no_checkins(small_cohort):
    # given
    before = _row_counts()
    # when
    _seed(patients=16, days=DAYS)
    # then
    assert _row_counts() == before


def test_the_declining_patient_adheres_less_in_the_last_two_weeks_than_in_weeks_one_to_three(
    small_cohort,
):
    # given
    patient = _patients_with(DECLINING, up_to=16)[0]
    today = patient.local_today()
    first = patient.checkins.order_by("local_date").first().local_date
    # when
    early = window_adherence(patient, first, first + timedelta(weeks=3, days=-1))
    late = window_adherence(patient, today - timedelta(days=13), today)
    # then
    assert late.rate < early.rate


def test_the_default_demo_holds_each_pattern_a_flag_would_look_for(default_demo):
    # given
    severe = set(AttentionRequest.objects.values_list("patient_id", flat=True))
    steady = [p for p in _patients_with(STEADY, up_to=32) if p.pk not in severe]
    weekend = _patients_with(WEEKEND_GAPS, up_to=32)
    falling = _patients_with(FALLING_ALLIANCE, up_to=32)
    # when / then
    for patient in steady:
        start = patient.care_plan.starts_on
        assert window_adherence(patient, start, patient.local_today()).rate >= 0.78
    for patient in weekend:
        assert _weekend_gap(patient) < 0.6
    for patient in falling:  # a recent fall: weekly answers under their usual pulses' level
        first_total = patient.pulses.order_by("local_date").values_list("total", flat=True)[0]
        recent = CheckIn.objects.filter(
            patient=patient, partnership__isnull=False,
            local_date__gte=patient.local_today() - timedelta(days=7),
        ).values_list("partnership", flat=True)
        assert first_total >= 28
        assert all(answer <= first_total / 4 - 2 for answer in recent)
    assert severe
    steady_totals = AlliancePulse.objects.filter(patient__in=steady).values_list("total",
                                                                                 flat=True)
    assert sum(28 <= total <= 38 for total in steady_totals) >= 0.8 * len(steady_totals)


def test_the_demo_patient_has_twelve_weeks_of_good_history_with_weekend_gaps(default_demo):
    # given
    patient = _patient(0)
    today = patient.local_today()
    # when
    checkins = list(patient.checkins.all())
    pulses = patient.pulses.count()
    adherence = window_adherence(patient, today - timedelta(weeks=12), today)
    # then
    assert patient.care_plan.starts_on == today - timedelta(weeks=12)
    assert (min(c.local_date for c in checkins) - patient.care_plan.starts_on).days < 7
    assert adherence.rate >= 0.8
    assert adherence.not_logged_days > 0
    assert _weekend_gap(patient) < 0.6
    assert pulses == 3  # 12 weeks, every 4 weeks; the next is due today
    assert patient.concerns.filter(status=Concern.Status.OPEN).exists()


def test_satisfaction_and_itch_are_on_most_checkins_and_side_effects_name_a_due_step(
    default_demo,
):
    # when
    checkins = CheckIn.objects.aggregate(
        total=Count("id"), satisfaction=Count("id", filter=Q(satisfaction__isnull=False)),
        itch=Count("id", filter=Q(itch__isnull=False)), notes=Count("id", filter=~Q(note="")),
        mild=Count("id", filter=Q(side_effect=SideEffect.MILD)),
    )
    with_side_effect = CheckIn.objects.exclude(side_effect=SideEffect.NONE)
    # then
    assert checkins["satisfaction"] > 0.75 * checkins["total"]
    assert checkins["itch"] > 0.75 * checkins["total"]
    assert 0 < checkins["notes"] < 0.2 * checkins["total"]
    assert checkins["mild"] > 0
    for checkin in with_side_effect.prefetch_related("steps"):
        assert checkin.side_effect_text
        assert checkin.side_effect_item_id in {log.item_id for log in checkin.steps.all()}


def test_the_default_demo_has_flags_of_every_rule(default_demo):
    # given / when: seed_demo raised what the seeded history shows
    rules = set(Flag.objects.values_list("rule", flat=True))
    at_risk = Flag.objects.filter(rule=Rule.ALLIANCE_AT_RISK).select_related("patient")
    # then
    # BELOW_EXPECTED: no longer raised (docs/flags.md)
    assert rules == set(Rule.values) - {Rule.BELOW_EXPECTED}
    assert at_risk.exists()
    assert all(flag.routed_to_dermatologist for flag in at_risk)
    quiet = {f.patient_id for f in Flag.objects.filter(rule=Rule.GONE_QUIET)}
    for patient_id in quiet:
        yesterday = Patient.objects.get(pk=patient_id).local_today() - timedelta(days=1)
        assert not CheckIn.objects.filter(patient_id=patient_id,
                                          local_date__gt=yesterday - timedelta(days=4)).exists()


# A week that ends on a daylight-saving change in London (01:00 UTC on 28 March 2027) and the
# autumn change, a year ahead: each weekday, and both sides of a change.
SEED_INSTANTS = [datetime(2027, 3, 22, 9, 30, tzinfo=UTC) + timedelta(days=n) for n in range(7)]
SEED_INSTANTS += [datetime(2027, 3, 28, 0, 30, tzinfo=UTC), datetime(2027, 10, 31, 1, 30,
                                                                      tzinfo=UTC)]


@pytest.mark.parametrize("instant", SEED_INSTANTS, ids=lambda i: i.strftime("%a-%Y-%m-%dT%H%M"))
def test_the_demo_has_flags_of_every_rule_whatever_day_it_is_seeded(instant):
    # given / when
    with time_machine.travel(instant, tick=False):
        _seed()
    # then
    assert set(Flag.objects.values_list("rule", flat=True)) == set(Rule.values) - {
        Rule.BELOW_EXPECTED}  # no longer raised (docs/flags.md)


@pytest.mark.parametrize("instant", SEED_INSTANTS[:7], ids=lambda i: i.strftime("%a"))
def test_the_demo_patient_is_asked_the_alliance_pulse_today(instant):
    # given
    with time_machine.travel(instant, tick=False):
        _seed(patients=4)
        patient = _patient(0)
        today = patient.local_today()
        # when
        due = services.pulse_due(patient, today)
    # then: due today, and answered on every check-in that was asked it before
    assert due
    assert patient.pulses.exists()
    for checkin in patient.checkins.all():
        assert checkin_has_pulse(checkin) == services.pulse_due(patient, checkin.local_date)


def _alliance_days(checkins: list[CheckIn]) -> list:
    """Days with an alliance answer: a pulse or an answered weekly question."""
    return [c.local_date for c in checkins if c.has_pulse or c.partnership is not None]


def test_the_weekly_partnership_question_follows_the_checkin_pages_rule(small_cohort):
    # given
    checkins = CheckIn.objects.annotate(has_pulse=Count("pulse")).order_by("local_date")
    by_patient = {}
    for checkin in checkins:
        by_patient.setdefault(checkin.patient_id, []).append(checkin)
    asked = answered = 0
    # when / then, patient by patient, day by day
    for days in by_patient.values():
        alliance = _alliance_days(days)
        assert all((later - earlier).days >= 7 for earlier, later in itertools.pairwise(alliance))
        last_question = None
        for checkin in days:
            recent = [d for d in alliance if 0 < (checkin.local_date - d).days < 7]
            if checkin.has_pulse:
                assert checkin.partnership_question == ""
                continue
            # asked exactly when no pulse or answer lies in the 6 days before
            assert bool(checkin.partnership_question) == (not recent), checkin.local_date
            if checkin.partnership_question:
                asked += 1
                assert checkin.partnership_question == services.next_partnership_question(
                    last_question)
                if checkin.partnership is not None:
                    answered += 1
                    assert 0 <= checkin.partnership <= 10
                    last_question = checkin.partnership_question
    assert answered > 17
    assert asked > answered


@pytest.mark.parametrize("instant", [i.replace(hour=hour) for i in SEED_INSTANTS[:7]
                                     for hour in (5, 9, 21)],
                         ids=lambda i: i.strftime("%a-%H"))
def test_a_falling_alliance_answers_the_weekly_question_lower(instant):
    # given: the demo seeded on each day of a week, at three hours (the weekly question's
    # days and the patients' local dates move with them)
    with time_machine.travel(instant, tick=False):
        _seed()
        falling = _patients_with(FALLING_ALLIANCE, up_to=31)
        steady = _patients_with(STEADY, up_to=31)
        # when
        falling_before = _partnership_answers(falling, recent=False)
        falling_after = _partnership_answers(falling, recent=True)
        steady_after = _partnership_answers(steady, recent=True)
    assert falling_after
    assert steady_after
    # then: lately lower than before and lower than the steady patients (one or two answers a
    # week: the fall is three to four points at its end, less while it ramps)
    assert _mean(falling_before) - _mean(falling_after) >= 1
    assert _mean(falling_after) < _mean(steady_after)
    assert _mean(steady_after) >= 7


def _partnership_answers(patients: list[Patient], *, recent: bool) -> list[int]:
    """The weekly answers of the last 8 days (``recent``) or of the days before."""
    today = patients[0].local_today()
    last_days = Q(local_date__gte=today - timedelta(days=8))
    rows = CheckIn.objects.filter(patient__in=patients, partnership__isnull=False)
    rows = rows.filter(last_days) if recent else rows.exclude(last_days)
    return list(rows.values_list("partnership", flat=True))


def _mean(values: list[int]) -> float:
    return sum(values) / len(values)


def test_the_demo_patient_answers_a_weekly_question_between_pulses(default_demo):
    # given
    patient = _patient(0)
    # when
    weekly = list(patient.checkins.exclude(partnership_question="")
                  .order_by("local_date").values_list("partnership_question", "partnership"))
    # then: about two a month between the pulses, rotating through the four
    assert len([answer for _, answer in weekly if answer is not None]) >= 6
    assert {question for question, _ in weekly} == {
        "heard", "shared_goals", "fits_life", "safe_to_raise"}


def checkin_has_pulse(checkin: CheckIn) -> bool:
    return AlliancePulse.objects.filter(checkin=checkin).exists()
