"""The Reminders page tells the truth about the next reminder: a day already reminded, already
checked in or with nothing due gets no reminder, so the preview passes over it."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from checkins.models import CheckIn
from reminders.models import Delivery, ReminderSettings
from reminders.timing import ReminderTiming, next_reminder
from tests.factories import PatientFactory, patient_on_a_plan

pytestmark = pytest.mark.django_db

# Noon in London on Wednesday 2 December 2026 (GMT, so UTC too).
WEDNESDAY_NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
WEDNESDAY = WEDNESDAY_NOON.date()


@pytest.fixture(autouse=True)
def at_noon():
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        yield


@pytest.fixture
def patient(derm):
    return patient_on_a_plan(derm, since=WEDNESDAY - timedelta(days=10))


def preview(client, patient) -> str:
    client.force_login(patient.user)
    body = client.get(reverse("reminder_settings")).content.decode()
    start = body.index('role="status">')
    return body[start + len('role="status">'):body.index("</p>", start)]


def test_before_the_reminder_time_the_next_one_is_today(client, patient):
    assert preview(client, patient) == (
        "Next reminder: Wednesday 2 December, 20:00 (Europe/London time).")


def test_a_day_already_checked_in_gets_no_reminder(client, patient):
    # given: checked in this morning
    CheckIn.objects.create(patient=patient, local_date=WEDNESDAY,
                           revision=patient.care_plan.revisions.get(), steps_due=1, steps_done=1)
    # when / then
    assert preview(client, patient) == (
        "Next reminder: Thursday 3 December, 20:00 (Europe/London time).")


def test_a_day_already_reminded_gets_no_second_reminder(client, patient):
    # given: today's reminder went at 08:00, then the patient moved their time to 21:00
    Delivery.objects.create(patient=patient, local_date=WEDNESDAY, status=Delivery.Status.SENT,
                            claimed_at=timezone.now(), sent_at=timezone.now())
    ReminderSettings.objects.create(patient=patient, local_time=time(21, 0))
    # when / then
    assert preview(client, patient) == (
        "Next reminder: Thursday 3 December, 21:00 (Europe/London time).")


def test_days_with_nothing_due_get_no_reminder(client, derm):
    # given: a step on Fridays only
    patient = patient_on_a_plan(derm, since=WEDNESDAY - timedelta(days=10),
                                frequency="weekdays", weekdays="4")
    # when / then
    assert preview(client, patient) == (
        "Next reminder: Friday 4 December, 20:00 (Europe/London time).")


def test_without_a_plan_no_reminder_is_announced(client, derm):
    patient = PatientFactory(dermatologist=derm)
    assert preview(client, patient) == (
        "No reminder in the coming week: there is nothing left to log on your reminder days.")


def test_reminders_turned_off_say_so(client, patient):
    ReminderSettings.objects.create(patient=patient, enabled=False)
    assert preview(client, patient) == "Reminders are off."


def test_a_passed_over_only_weekday_moves_the_preview_a_week_on():
    # given: reminders on Wednesdays only, today (a Wednesday) passed over
    timing = ReminderTiming(enabled=True, local_time=time(20, 0), weekdays="2",
                            timezone="Europe/London")
    # when
    upcoming = next_reminder(WEDNESDAY_NOON, timing, without={WEDNESDAY})
    # then
    assert upcoming == datetime(2026, 12, 9, 20, 0, tzinfo=UTC)
