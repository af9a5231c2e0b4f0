"""Reminders for schedules beyond daily steps: sent while an injection's window is open and
not logged, skipped once it is logged, never for as-needed steps, not after a course ends, on
a monthly task's day only."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from checkins.services import checkin_submit
from reminders import services
from reminders.models import Delivery
from tests.factories import patient_on_a_plan

pytestmark = pytest.mark.django_db

# 21:00 UTC on Wednesday 25 Nov 2026 is past the default 20:00 reminder time in London.
EVENING_IN_LONDON = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
WEDNESDAY = date(2026, 11, 25)
MONDAY = date(2026, 11, 23)
SINCE = WEDNESDAY - timedelta(days=30)


def send_one() -> str:
    (delivery_id,) = services.reminders_claim(now=EVENING_IN_LONDON)
    return services.reminder_send(delivery_id=delivery_id, now=EVENING_IN_LONDON)


def injection(**overrides) -> dict:
    return {"name": "Dupilumab 300 mg", "kind": "injection", "time_of_day": "morning",
            "frequency": "every_n_weeks", "every_n_weeks": 2, "window_days": 3,
            "starts_on": MONDAY, **overrides}


def test_a_late_injection_still_in_its_window_is_reminded(derm):
    # given: due Monday, counted until Thursday, not logged
    patient_on_a_plan(derm, since=SINCE, **injection())
    # when / then
    assert send_one() == "sent"
    assert len(mail.outbox) == 1


def test_an_injection_logged_earlier_in_its_window_is_not_reminded_again(derm):
    # given: logged done in Monday's check-in
    patient = patient_on_a_plan(derm, since=SINCE, **injection())
    checkin_submit(patient=patient, local_date=MONDAY, answers=None,
                   now=datetime.combine(MONDAY, time(9), ZoneInfo("Europe/London")))
    # when / then
    assert send_one() == "skipped"
    assert Delivery.objects.get().skip_reason == "nothing_due"


def test_an_injection_whose_window_closed_is_not_reminded(derm):
    patient_on_a_plan(derm, since=SINCE, **injection(window_days=1))  # counted until Tuesday
    assert send_one() == "skipped"
    assert Delivery.objects.get().skip_reason == "nothing_due"


def test_as_needed_steps_are_never_reminded(derm):
    patient_on_a_plan(derm, since=SINCE, name="Hydrocortisone 1%", frequency="as_needed")
    assert send_one() == "skipped"
    assert Delivery.objects.get().skip_reason == "nothing_due"
    assert not mail.outbox


def test_a_course_that_ended_is_not_reminded(derm):
    patient_on_a_plan(derm, since=SINCE, name="Doxycycline", frequency="daily",
                      ends_on=WEDNESDAY - timedelta(days=1))
    assert send_one() == "skipped"
    assert Delivery.objects.get().skip_reason == "nothing_due"


@pytest.mark.parametrize(("day_of_month", "outcome"), [(25, "sent"), (24, "skipped")])
def test_a_monthly_task_is_reminded_on_its_day_only(derm, day_of_month, outcome):
    patient_on_a_plan(derm, since=SINCE, name="Repeat prescription", kind="procedure",
                      time_of_day="morning", frequency="monthly", day_of_month=day_of_month)
    assert send_one() == outcome
