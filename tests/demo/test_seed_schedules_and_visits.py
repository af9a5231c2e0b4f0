"""seed_demo shows every schedule kind (an injection every 2 weeks with a late window, a monthly
blood test, a course with an end date, a step "when needed"), a missed injection, and the next
visit in each of its states."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from accounts.models import Patient
from careplans.models import ClinicVisit, Frequency, ItemKind, PlanItem, PlanRevision
from careplans.schedule import dose_for
from careplans.visits import OVERDUE, REVIEW_DUE, UPCOMING, next_visit_on
from checkins import services
from checkins.adherence import window_adherence
from checkins.models import AlliancePulse, CheckIn, SkipReason, StepLog
from demo.seed.patterns import STEADY, history_pattern
from flags.models import Flag, Rule
from reminders.visit_reminders import visit_reminders_due

pytestmark = pytest.mark.django_db

# Each weekday of a week, in the morning and the evening (London), and a daylight-saving change.
INSTANTS = [datetime(2027, 3, 22, hour, 30, tzinfo=UTC) + timedelta(days=n)
            for n in range(7) for hour in (9, 21)]
INSTANTS += [datetime(2027, 3, 28, 0, 30, tzinfo=UTC)]


def _seed(**options: int) -> None:
    call_command("seed_demo", stdout=StringIO(), stderr=StringIO(), **options)


@pytest.fixture
def default_demo() -> None:
    _seed()


def _patient(number: int) -> Patient:
    email = "patient@demo.test" if number == 0 else f"patient{number:05d}@demo.test"
    return Patient.objects.select_related("care_plan").get(user__email=email)


def _current_items() -> list[PlanItem]:
    """The items of every patient's current revision."""
    current = [r for r in PlanRevision.objects.select_related("plan")
               if r.number == r.plan.current_number]
    return list(PlanItem.objects.filter(revision__in=current))


def test_the_demo_plans_hold_every_schedule_kind(default_demo):
    # when
    items = _current_items()
    by_name = {item.name: item for item in items}
    # then
    injection = by_name["Dupilumab 300 mg pen"]
    assert (injection.kind, injection.frequency, injection.every_n_weeks,
            injection.window_days) == (ItemKind.INJECTION, Frequency.EVERY_N_WEEKS, 2, 3)
    blood_test = by_name["Blood test: liver function and lipids"]
    assert (blood_test.frequency, blood_test.day_of_month, blood_test.window_days) == (
        Frequency.MONTHLY, 1, 5)
    assert by_name["Hydrocortisone 1% cream"].frequency == Frequency.AS_NEEDED
    courses = [item for item in items if item.ends_on is not None]
    assert courses
    assert all(item.name.startswith("Doxycycline") for item in courses)
    assert all((item.ends_on - item.starts_on).days == 12 * 7 - 1 for item in courses)


def test_a_dated_dose_is_logged_done_once_on_a_day_of_its_window(default_demo):
    # given
    logs = StepLog.objects.filter(item__window_days__gt=0).select_related(
        "item", "checkin__patient__care_plan")
    # when
    done = Counter()
    for log in logs:
        day = log.checkin.local_date
        scheduled, last = dose_for(log.item, day,
                                   plan_starts_on=log.checkin.patient.care_plan.starts_on)
        # then: counted, on a day of its window; skipped only on the window's last day
        assert log.counted
        if log.done:
            assert log.taken_on == day
            done[log.checkin.patient_id, log.item_key, log.slot, scheduled] += 1
        else:
            assert day == last
    assert done
    assert set(done.values()) == {1}
    assert {log.item.kind for log in logs} == {ItemKind.INJECTION, ItemKind.PROCEDURE}


def test_as_needed_uses_are_logged_now_and_then_and_never_counted(default_demo):
    # given
    uses = StepLog.objects.filter(counted=False).select_related("item", "checkin")
    patients = {use.checkin.patient_id for use in uses}
    # when
    logged_days = CheckIn.objects.filter(patient_id__in=patients).count()
    # then
    assert patients
    assert all(use.item.frequency == Frequency.AS_NEEDED and use.done and use.slot == "as_needed"
               and use.taken_on == use.checkin.local_date for use in uses)
    assert 0.03 * logged_days < uses.count() < 0.4 * logged_days
    for checkin in CheckIn.objects.filter(steps__counted=False).prefetch_related("steps"):
        counted = [log for log in checkin.steps.all() if log.counted]
        assert checkin.steps_due == len(counted)
        assert checkin.steps_done == sum(log.done for log in counted)


def test_a_course_is_never_logged_after_its_end_date(default_demo):
    # when
    logs = StepLog.objects.filter(item__ends_on__isnull=False).select_related("item", "checkin")
    # then
    assert logs.exists()
    assert all(log.checkin.local_date <= log.item.ends_on for log in logs)


def test_steady_patients_stay_steady_with_injections_blood_tests_and_uses(default_demo):
    # given: steady patients whose plan holds a dated or an as-needed step
    dated = set(PlanItem.objects.filter(
        frequency__in=[Frequency.EVERY_N_WEEKS, Frequency.MONTHLY, Frequency.AS_NEEDED],
    ).values_list("revision__plan__patient_id", flat=True))
    steady = [p for p in (_patient(n) for n in range(1, 33) if history_pattern(n) == STEADY)
              if p.pk in dated]
    # when
    rates = [window_adherence(p, p.care_plan.starts_on, p.local_today()).rate for p in steady]
    # then
    assert steady
    assert all(0.8 <= rate <= 0.98 for rate in rates)


@pytest.mark.parametrize("instant", INSTANTS, ids=lambda i: i.strftime("%a-%H%M"))
def test_a_missed_injection_is_flagged_whatever_day_it_is_seeded(instant):
    # given / when
    with time_machine.travel(instant, tick=False):
        _seed(patients=8)
    # then: patient 8 left their latest injection whose window closed before today unlogged
    flag = Flag.objects.get(rule=Rule.MISSED_DOSE)
    patient = _patient(8)
    doses = flag.evidence["numbers"]["doses"]
    assert flag.patient_id == patient.pk
    assert [dose["item"] for dose in doses] == ["Dupilumab 300 mg pen"]
    assert not StepLog.objects.filter(
        checkin__patient=patient, item__name="Dupilumab 300 mg pen", done=True,
        checkin__local_date__gte=doses[0]["scheduled_on"]).exists()
    assert StepLog.objects.filter(checkin__patient=patient, item__name="Dupilumab 300 mg pen",
                                  done=True).exists()  # the doses before were done
    skipped = StepLog.objects.filter(
        checkin__patient=patient, done=False, item__name="Dupilumab 300 mg pen",
        checkin__local_date__gte=doses[0]["scheduled_on"]).select_related("checkin")
    for log in skipped:  # if they checked in on the window's last day: why
        assert log.skip_reason == SkipReason.RAN_OUT
        assert "delivery" in log.checkin.note


@pytest.mark.parametrize("instant", INSTANTS, ids=lambda i: i.strftime("%a-%H%M"))
def test_the_demo_shows_each_state_of_the_next_visit(instant):
    # given
    with time_machine.travel(instant, tick=False):
        _seed(patients=8)
        # when
        states = {n: next_visit_on(_patient(n), today=_patient(n).local_today())
                  for n in range(9)}
        seen = _patient(4)
        pulse_due = services.pulse_due(seen, seen.local_today())
    # then
    assert (states[0].state, states[0].days_away) == (UPCOMING, 1)
    assert states[1].state == OVERDUE
    assert -14 <= states[1].days_away <= -7
    assert not ClinicVisit.objects.filter(patient=_patient(1)).exists()
    assert states[4].state == REVIEW_DUE
    assert states[4].last_visit_on == states[4].today - timedelta(days=2)
    assert pulse_due
    assert not AlliancePulse.objects.filter(
        patient=seen, local_date__gte=states[4].last_visit_on).exists()
    for number in (2, 3, 5, 6, 7, 8):
        assert states[number].state == UPCOMING
        assert 14 <= states[number].days_away <= 70


def test_the_demo_patient_is_reminded_of_tomorrows_visit():
    # given: seeded in the morning; the demo moves patient@demo.test's reminder to minutes later
    instant = datetime(2027, 3, 24, 9, 30, tzinfo=UTC)
    with time_machine.travel(instant, tick=False):
        _seed(patients=4)
    patient = _patient(0)
    # when
    due = visit_reminders_due(instant + timedelta(minutes=5))
    # then
    assert (patient.pk, patient.local_date(instant)) in due


def test_re_running_seed_demo_adds_no_visits(default_demo):
    # given
    before = ClinicVisit.objects.count()
    # when
    _seed()
    # then
    assert before == 1
    assert ClinicVisit.objects.count() == before
