"""Schedules beyond daily steps on the patient's Today page and in adherence: an injection in
its window (logged once, with the day it was done), a monthly task, a course's end, as-needed
steps (logged, never counted), and a daylight-saving change inside an injection window."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from checkins.adherence import item_adherence, window_adherence
from checkins.models import CheckIn, StepLog
from checkins.services import StepAnswer, checkin_submit
from tests.factories import PatientFactory, backdated_revision, item_draft

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
DOSE_DAY = date(2026, 11, 20)  # a Friday: the injection is due, counted until Monday 23rd


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), LONDON)


def injection(**overrides):
    return item_draft(**{
        "name": "Dupilumab 300 mg injection", "kind": "injection", "time_of_day": "morning",
        "frequency": "every_n_weeks", "every_n_weeks": 2, "window_days": 3,
        "starts_on": DOSE_DAY, "position": 2, **overrides})


def cream(**overrides):
    return item_draft(**{"name": "Emollient", "kind": "skincare", "time_of_day": "morning",
                         "position": 1, **overrides})


@pytest.fixture
def patient(derm):
    return PatientFactory(dermatologist=derm, timezone="Europe/London")


@pytest.fixture
def on_injections(patient, derm):
    revision = backdated_revision(patient, author=derm, number=1,
                                  effective_from=DOSE_DAY - timedelta(days=30),
                                  items=[cream(), injection()])
    return revision.items.get(kind="injection"), revision.items.get(kind="skincare")


def today_page(client, patient, day: date, **params) -> str:
    with time_machine.travel(noon(day), tick=False):
        client.force_login(patient.user)
        return client.get(reverse("today"), params).content.decode()


def post_today(client, patient, day: date, data: dict):
    with time_machine.travel(noon(day), tick=False):
        client.force_login(patient.user)
        return client.post(reverse("today"), {"local_date": day.isoformat(), **data})


def submit(patient, day: date, answers=None):
    return checkin_submit(patient=patient, local_date=day, answers=answers, now=noon(day))


# --- injection in its window -------------------------------------------------------------------


def test_today_shows_the_injection_due_then_late_until_its_window_closes(
        client, patient, on_injections):
    # when
    pages = {n: today_page(client, patient, DOSE_DAY + timedelta(days=n)) for n in range(5)}
    # then
    assert "Due today. If you do it later, it still counts until Monday 23 November" in pages[0]
    assert "Late (due Friday 20 November), but it still counts until Monday 23 November" in (
        pages[1])
    assert "Late (due Friday 20 November): today is the last day it counts." in pages[3]
    assert "Dupilumab" not in pages[4]
    assert "Not yet" in pages[0]
    assert "Not yet" not in pages[3]


def test_not_yet_is_no_miss_and_a_late_dose_counts_once_on_the_day_logged(
        patient, on_injections):
    # given
    dose, emollient = on_injections
    # when: Friday "not yet"; Saturday done, injected on Saturday
    friday = submit(patient, DOSE_DAY, [StepAnswer(emollient.pk, "morning", True),
                                        StepAnswer(dose.pk, "morning", False)])
    saturday = submit(patient, DOSE_DAY + timedelta(days=1), [
        StepAnswer(emollient.pk, "morning", True), StepAnswer(dose.pk, "morning", True)])
    # then
    assert (friday.steps_due, friday.steps_done) == (1, 1)
    assert (saturday.steps_due, saturday.steps_done) == (2, 2)
    log = StepLog.objects.get(item_key=dose.key)
    assert (log.checkin_id, log.taken_on, log.counted) == (saturday.pk, DOSE_DAY + timedelta(1),
                                                           True)
    # and no longer asked on the window's other days
    sunday = submit(patient, DOSE_DAY + timedelta(days=2))
    assert (sunday.steps_due, sunday.steps_done) == (1, 1)
    adherence = window_adherence(patient, DOSE_DAY, DOSE_DAY + timedelta(days=3))
    assert (adherence.steps_done, adherence.steps_due) == (4, 4)


def test_the_patient_records_an_earlier_injection_day_within_the_window(
        client, patient, on_injections):
    # given
    dose, emollient = on_injections
    sunday = DOSE_DAY + timedelta(days=2)
    # when
    response = post_today(client, patient, sunday, {
        f"step_{emollient.pk}_morning": "done", f"step_{dose.pk}_morning": "done",
        f"taken_{dose.pk}_morning": DOSE_DAY.isoformat(), "side_effect": "none"})
    # then
    assert response.status_code == 302
    assert StepLog.objects.get(item_key=dose.key).taken_on == DOSE_DAY


def test_an_injection_day_before_it_was_due_is_refused_with_nothing_saved(
        client, patient, on_injections):
    dose, emollient = on_injections
    response = post_today(client, patient, DOSE_DAY + timedelta(days=1), {
        f"step_{emollient.pk}_morning": "done", f"step_{dose.pk}_morning": "done",
        f"taken_{dose.pk}_morning": (DOSE_DAY - timedelta(days=1)).isoformat(),
        "side_effect": "none"})
    assert response.status_code == 200
    assert "Give a day from Friday 20 November to Saturday 21 November" in (
        response.content.decode())
    assert not CheckIn.objects.exists()


def test_the_service_refuses_an_injection_day_outside_the_window(patient, on_injections):
    from django.core.exceptions import ValidationError

    dose, emollient = on_injections
    with pytest.raises(ValidationError, match="must be from"):
        submit(patient, DOSE_DAY + timedelta(days=1), [
            StepAnswer(emollient.pk, "morning", True),
            StepAnswer(dose.pk, "morning", True, taken_on=DOSE_DAY - timedelta(days=1))])
    assert not CheckIn.objects.exists()


def test_never_logged_the_dose_is_a_missed_step_of_the_windows_last_day(patient, on_injections):
    # given: "not yet" on the first three days, skipped on the last
    dose, emollient = on_injections
    for n in range(3):
        submit(patient, DOSE_DAY + timedelta(days=n), [StepAnswer(emollient.pk, "morning", True)])
    # when
    last = submit(patient, DOSE_DAY + timedelta(days=3), [
        StepAnswer(emollient.pk, "morning", True),
        StepAnswer(dose.pk, "morning", False, "ran_out")])
    # then
    assert (last.steps_due, last.steps_done) == (2, 1)
    (missed,) = [row for row in item_adherence(patient, DOSE_DAY, DOSE_DAY + timedelta(days=3))
                 if row.item_key == dose.key]
    assert (missed.due, missed.done, missed.top_skip_reason) == (1, 0, "ran_out")


def test_the_last_day_must_be_answered(patient, on_injections):
    from django.core.exceptions import ValidationError

    _, emollient = on_injections
    with pytest.raises(ValidationError, match="Answer each step"):
        submit(patient, DOSE_DAY + timedelta(days=3), [StepAnswer(emollient.pk, "morning", True)])


def test_i_did_everything_logs_the_dose_in_its_window_as_done_that_day(patient, on_injections):
    dose, _ = on_injections
    checkin = submit(patient, DOSE_DAY + timedelta(days=1))
    assert (checkin.steps_due, checkin.steps_done) == (2, 2)
    assert StepLog.objects.get(item_key=dose.key).taken_on == DOSE_DAY + timedelta(days=1)


def test_changing_a_logged_dose_back_to_not_yet_asks_for_it_again(patient, on_injections):
    dose, emollient = on_injections
    submit(patient, DOSE_DAY)  # all done
    again = submit(patient, DOSE_DAY, [StepAnswer(emollient.pk, "morning", True),
                                       StepAnswer(dose.pk, "morning", False)])
    assert (again.steps_due, again.steps_done) == (1, 1)
    assert not StepLog.objects.filter(item_key=dose.key).exists()
    saturday = submit(patient, DOSE_DAY + timedelta(days=1))
    assert saturday.steps_due == 2


# --- monthly task, course end -----------------------------------------------------------------


def test_a_monthly_blood_test_is_shown_with_its_date_on_its_day_only(client, patient, derm):
    backdated_revision(patient, author=derm, number=1, effective_from=date(2026, 10, 1), items=[
        cream(), item_draft(name="Blood test (liver function)", kind="procedure",
                            frequency="monthly", day_of_month=30, position=2)])
    assert "Due today, Monday 30 November." in today_page(client, patient, date(2026, 11, 30))
    assert "Blood test" not in today_page(client, patient, date(2026, 11, 29))


def test_a_course_stops_asking_after_its_end_date(client, patient, derm):
    backdated_revision(patient, author=derm, number=1, effective_from=date(2026, 9, 1), items=[
        item_draft(name="Doxycycline 100 mg", kind="oral", frequency="daily",
                   ends_on=date(2026, 11, 23))])
    assert "Doxycycline" in today_page(client, patient, date(2026, 11, 23))
    assert "Nothing is due today" in today_page(client, patient, date(2026, 11, 24))


# --- as needed ---------------------------------------------------------------------------------


@pytest.fixture
def with_as_needed(patient, derm):
    revision = backdated_revision(patient, author=derm, number=1,
                                  effective_from=DOSE_DAY - timedelta(days=10), items=[
        cream(), item_draft(name="Hydrocortisone 1% cream", frequency="as_needed",
                            instructions="On itchy patches, up to twice a day.", position=2)])
    return revision.items.get(frequency="as_needed"), revision.items.get(kind="skincare")


def test_as_needed_steps_have_their_own_group_and_never_count(client, patient, with_as_needed):
    # given
    hydrocortisone, emollient = with_as_needed
    # when
    page = today_page(client, patient, DOSE_DAY)
    response = post_today(client, patient, DOSE_DAY, {
        f"step_{emollient.pk}_morning": "done", f"used_{hydrocortisone.pk}": "on",
        "side_effect": "none"})
    # then
    assert "When needed" in page
    assert "I used Hydrocortisone 1% cream" in page
    assert response.status_code == 302
    checkin = CheckIn.objects.get()
    assert (checkin.steps_due, checkin.steps_done) == (1, 1)
    log = StepLog.objects.get(item_key=hydrocortisone.key)
    assert (log.counted, log.done, log.taken_on) == (False, True, DOSE_DAY)
    assert [row.name for row in item_adherence(patient, DOSE_DAY, DOSE_DAY)] == ["Emollient"]


def test_as_needed_unused_is_not_logged_and_never_a_miss(patient, with_as_needed):
    _, emollient = with_as_needed
    checkin = submit(patient, DOSE_DAY, [StepAnswer(emollient.pk, "morning", True)])
    assert (checkin.steps_due, checkin.steps_done) == (1, 1)
    assert StepLog.objects.count() == 1


def test_one_tap_logs_no_as_needed_use(patient, with_as_needed):
    submit(patient, DOSE_DAY)
    assert StepLog.objects.filter(counted=False).count() == 0


def test_a_day_with_only_as_needed_steps_can_log_a_use(client, patient, derm):
    # given
    revision = backdated_revision(patient, author=derm, number=1, effective_from=DOSE_DAY,
                                  items=[item_draft(name="Cetirizine 10 mg", kind="oral",
                                                    frequency="as_needed")])
    tablet = revision.items.get()
    # when
    page = today_page(client, patient, DOSE_DAY)
    response = post_today(client, patient, DOSE_DAY, {f"used_{tablet.pk}": "on",
                                                      "side_effect": "none"})
    # then
    assert "I did everything" not in page
    assert "Nothing is due today" in page
    assert response.status_code == 302
    checkin = CheckIn.objects.get()
    assert (checkin.steps_due, checkin.steps_done, checkin.adherence) == (0, 0, None)
    assert StepLog.objects.get().counted is False


# --- a daylight-saving change inside an injection window --------------------------------------


@pytest.mark.parametrize("change", [date(2027, 3, 28), date(2027, 10, 31)])
def test_a_clock_change_inside_the_window_shifts_no_day_on_today(client, derm, change):
    # given: due the Saturday before London's change, counted until Monday
    patient = PatientFactory(dermatologist=derm, timezone="Europe/London")
    saturday = change - timedelta(days=1)
    backdated_revision(patient, author=derm, number=1, effective_from=saturday - timedelta(30),
                       items=[cream(), injection(starts_on=saturday, window_days=2)])
    # when: Today at instants either side of the change and of each local midnight
    instants = {
        "Sat 23:30": datetime.combine(saturday, time(23, 30), LONDON),
        "Sun 00:30": datetime.combine(change, time(0, 30), LONDON),
        "Sun 03:30": datetime.combine(change, time(3, 30), LONDON),
        "Mon 00:10": datetime.combine(change + timedelta(days=1), time(0, 10), LONDON),
        "Mon 23:50": datetime.combine(change + timedelta(days=1), time(23, 50), LONDON),
        "Tue 00:10": datetime.combine(change + timedelta(days=2), time(0, 10), LONDON),
    }
    shown = {}
    for label, instant in instants.items():
        with time_machine.travel(instant.astimezone(UTC), tick=False):
            client.force_login(patient.user)  # sessions end 12 hours after sign-in
            shown[label] = "Dupilumab" in client.get(reverse("today")).content.decode()
    # then
    assert shown == {"Sat 23:30": True, "Sun 00:30": True, "Sun 03:30": True,
                     "Mon 00:10": True, "Mon 23:50": True, "Tue 00:10": False}
    # and a dose logged just after midnight on the last day counts on that day
    monday = change + timedelta(days=1)
    checkin = checkin_submit(patient=patient, local_date=monday, answers=None,
                             now=datetime.combine(monday, time(0, 10), LONDON))
    assert (checkin.local_date, checkin.steps_due, checkin.steps_done) == (monday, 2, 2)


# --- charts ------------------------------------------------------------------------------------


def test_the_history_heatmap_counts_an_unlogged_dose_on_its_windows_last_day(patient, derm):
    from checkins.charts import DayState, history_context

    # given: an injection-only plan, a dose logged late on Saturday, the next never logged
    revision = backdated_revision(patient, author=derm, number=1,
                                  effective_from=DOSE_DAY - timedelta(days=14),
                                  items=[injection(starts_on=DOSE_DAY - timedelta(days=14))])
    dose = revision.items.get()
    submit(patient, DOSE_DAY - timedelta(days=13), [StepAnswer(dose.pk, "morning", True)])
    # when
    charts = history_context(patient, audience="patient", today=DOSE_DAY + timedelta(days=4))
    # then
    states = {cell.day: cell.state for cell in charts["charts"].heatmap.cells}
    assert states[DOSE_DAY - timedelta(days=13)] == DayState.COMPLETE
    assert [states[DOSE_DAY + timedelta(days=n)] for n in range(4)] == [
        DayState.NOTHING_DUE, DayState.NOTHING_DUE, DayState.NOTHING_DUE, DayState.NOT_LOGGED]
    assert [row.name for row in charts["charts"].items] == ["Dupilumab 300 mg injection"]


def test_my_plan_lists_the_dose_on_its_day_and_describes_each_kind(client, patient, derm):
    # given
    backdated_revision(patient, author=derm, number=1, effective_from=DOSE_DAY - timedelta(10),
                       items=[cream(), injection(),
                              item_draft(name="Hydrocortisone 1% cream", frequency="as_needed",
                                         position=3)])

    def routine(day: date) -> str:
        with time_machine.travel(noon(day), tick=False):
            client.force_login(patient.user)
            body = client.get(reverse("my_plan")).content.decode()
        return body[body.index('id="today-heading"'):body.index("</section>",
                                                                body.index("today-heading"))]

    # then: on its day in today's routine; late days are the Today page's to ask
    assert "Dupilumab" in routine(DOSE_DAY)
    assert "Dupilumab" not in routine(DOSE_DAY + timedelta(days=1))
    assert "Hydrocortisone" not in routine(DOSE_DAY)
    with time_machine.travel(noon(DOSE_DAY), tick=False):
        body = client.get(reverse("my_plan")).content.decode()
    assert "Every 2 weeks from 20 November 2026, morning; a late one still counts for 3 days" in (
        body)
    assert "When needed" in body
