"""The optional next-morning follow-up (a clinic setting, off by default), and reminders that
come too late to send."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core import mail
from django.urls import reverse

from checkins.models import CheckIn
from reminders import services
from reminders.models import Delivery, ReminderSettings
from tests.factories import PatientFactory, patient_on_a_plan

pytestmark = pytest.mark.django_db

# Wednesday 25 Nov 2026, 21:00 in London: the daily reminder is due (default 20:00).
WEDNESDAY_EVENING = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
# Thursday 26 Nov, 09:30 in London: past the default 09:00 follow-up time.
THURSDAY_MORNING = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


@pytest.fixture
def reminded_yesterday(derm):
    """A London patient whose Wednesday reminder went out, in a clinic with follow-ups on."""
    clinic = derm.membership.clinic
    clinic.reminder_follow_up = True
    clinic.save(update_fields=["reminder_follow_up"])
    patient = patient_on_a_plan(derm, since=WEDNESDAY_EVENING.date() - timedelta(days=10))
    (daily,) = services.reminders_claim(now=WEDNESDAY_EVENING)
    services.reminder_send(delivery_id=daily, now=WEDNESDAY_EVENING)
    mail.outbox.clear()
    return patient


def test_the_morning_after_an_unlogged_day_one_follow_up_is_sent(reminded_yesterday):
    # when
    claimed = services.reminders_claim(now=THURSDAY_MORNING)
    again = services.reminders_claim(now=THURSDAY_MORNING + timedelta(hours=1))
    outcomes = [services.reminder_send(delivery_id=pk, now=THURSDAY_MORNING) for pk in claimed]
    # then: one follow-up about Wednesday, linking to Wednesday's check-in
    assert (outcomes, again) == (["sent"], [])
    follow_up = Delivery.objects.get(kind="follow_up")
    assert follow_up.local_date == WEDNESDAY_EVENING.date()
    (email,) = mail.outbox
    assert email.subject == "Your Alliance Portal check-in"
    assert "Yesterday (Wednesday 25 November) isn't logged yet" in email.body
    assert "/today/?date=2026-11-25" in email.body
    assert "Emollient" not in email.body  # the clinic has not opted in to step names


def test_no_follow_up_before_the_clinic_time_or_when_off(reminded_yesterday):
    # given / when / then: 08:30 is before the clinic's 09:00
    assert services.follow_ups_due(THURSDAY_MORNING - timedelta(hours=1)) == []
    # given: the clinic turns follow-ups off (the default)
    clinic = reminded_yesterday.clinic
    clinic.reminder_follow_up = False
    clinic.save(update_fields=["reminder_follow_up"])
    # then
    assert services.follow_ups_due(THURSDAY_MORNING) == []


@pytest.mark.parametrize("change", ["checked_in", "turned_off"])
def test_no_follow_up_when_yesterday_is_logged_or_reminders_are_off(reminded_yesterday, change):
    # given
    patient = reminded_yesterday
    if change == "checked_in":
        CheckIn.objects.create(patient=patient, local_date=WEDNESDAY_EVENING.date(),
                               revision=patient.care_plan.revisions.get(), steps_due=1,
                               steps_done=1)
    else:
        ReminderSettings.objects.create(patient=patient, enabled=False)
    # when / then
    assert services.follow_ups_due(THURSDAY_MORNING) == []


def test_no_follow_up_without_a_reminder_sent_the_day_before(reminded_yesterday):
    # given: the Wednesday reminder was skipped (nothing to remind about), not sent
    Delivery.objects.filter(kind="daily").update(status="skipped")
    # when / then
    assert services.follow_ups_due(THURSDAY_MORNING) == []


def test_the_follow_up_is_in_the_patients_own_morning(derm):
    # given: a patient in Auckland (UTC+13 in November) reminded on their Wednesday
    clinic = derm.membership.clinic
    clinic.reminder_follow_up = True
    clinic.save(update_fields=["reminder_follow_up"])
    local_wednesday = date(2026, 11, 25)
    patient = patient_on_a_plan(derm, since=local_wednesday - timedelta(days=10),
                                timezone="Pacific/Auckland")
    Delivery.objects.create(patient=patient, local_date=local_wednesday, status="sent",
                            claimed_at=datetime(2026, 11, 25, 7, 0, tzinfo=UTC))
    # when / then: 08:30 Thursday in Auckland is 19:30 UTC Wednesday; 09:30 is 20:30 UTC
    assert services.follow_ups_due(datetime(2026, 11, 25, 19, 30, tzinfo=UTC)) == []
    assert services.follow_ups_due(datetime(2026, 11, 25, 20, 30, tzinfo=UTC)) == [
        (patient.pk, local_wednesday)]


def test_a_reminder_claimed_yesterday_is_not_sent_today(derm):
    # given: claimed on Wednesday evening, then (broker down overnight) picked up on Thursday
    patient_on_a_plan(derm, since=WEDNESDAY_EVENING.date() - timedelta(days=10))
    (delivery_id,) = services.reminders_claim(now=WEDNESDAY_EVENING)
    # when
    outcome = services.reminder_send(delivery_id=delivery_id, now=THURSDAY_MORNING)
    # then: recorded as too late, never sent as "today's routine"
    assert outcome == "skipped"
    assert Delivery.objects.get().skip_reason == "too_late"
    assert not mail.outbox


def test_the_settings_page_tells_the_patient_about_the_follow_up(client, derm):
    # given: a patient whose clinic sends follow-ups at 08:30
    clinic = derm.membership.clinic
    patient = PatientFactory(dermatologist=derm, timezone="Europe/London")
    client.force_login(patient.user)
    url = reverse("reminder_settings")
    assert "follow-up" not in client.get(url).content.decode()
    clinic.reminder_follow_up, clinic.reminder_follow_up_time = True, time(8, 30)
    clinic.save(update_fields=["reminder_follow_up", "reminder_follow_up_time"])
    # when
    page = client.get(url).content.decode()
    # then
    assert "one gentle follow-up at 08:30" in page
