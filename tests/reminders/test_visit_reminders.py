"""The reminder the day before a visit (reminders/visit_reminders.py): once, at the patient's
usual time, in their zone and language, never when reminders are off."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.core import mail

from careplans.visits import visit_record
from reminders import services, tasks
from reminders.models import Delivery, PushSubscription, ReminderSettings
from tests.factories import PatientFactory, plan_for
from tests.reminders.test_push_channel import decrypt, push_service, run_dispatch, subscribe

pytestmark = pytest.mark.django_db
__all__ = ["push_service"]  # a fixture, used below

# The visit is on Thursday 26 Nov 2026; the day before, 21:00 UTC is past 20:00 in London.
VISIT_DAY = date(2026, 11, 26)
EVENING_BEFORE = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)


def seen_on(derm, reviews_on=VISIT_DAY, **patient):
    """A patient whose plan (saved three weeks before) has its review on ``reviews_on``."""
    patient = PatientFactory(dermatologist=derm, **patient)
    plan_for(patient, author=derm, now=EVENING_BEFORE - timedelta(weeks=3), reviews_on=reviews_on)
    return patient


def visit_claims(now):
    return [pk for pk in services.reminders_claim(now=now)
            if Delivery.objects.get(pk=pk).kind == Delivery.Kind.VISIT]


def test_sent_once_the_evening_before(derm, monkeypatch):
    # given
    patient = seen_on(derm, user__first_name="Ana")
    # when: the dispatcher runs twice, then the send task again (a redelivered message)
    with time_machine.travel(EVENING_BEFORE, tick=False):
        run_dispatch(monkeypatch)
        run_dispatch(monkeypatch)
        visit = Delivery.objects.get(kind=Delivery.Kind.VISIT)
        assert tasks.reminder_send.apply(args=[visit.pk]).get() == "nothing to do"
    # then: one visit email (beside the day's check-in reminder), naming the clinic and the day
    visit.refresh_from_db()
    assert (visit.patient, visit.local_date, visit.status, visit.sent_at) == (
        patient, VISIT_DAY - timedelta(days=1), "sent", EVENING_BEFORE)
    (email,) = [m for m in mail.outbox if m.subject == "Your visit tomorrow"]
    assert f"Your visit with {patient.clinic.name} is tomorrow, Thursday 26 November." in email.body
    assert "Hello Ana," in email.body
    assert "/plan/" in email.body
    assert "Stop these reminders" in email.body
    assert "Adapalene" not in email.body  # nothing of the patient's care


@pytest.mark.parametrize("instant", [
    EVENING_BEFORE - timedelta(days=1),  # two days before
    EVENING_BEFORE + timedelta(days=1),  # the visit's own evening
    EVENING_BEFORE - timedelta(hours=2),  # the day before, 19:00: before the usual time
])
def test_not_sent_on_other_days_or_before_the_usual_time(derm, instant):
    seen_on(derm)
    assert visit_claims(instant) == []


def test_sent_at_the_patients_own_time_whatever_weekdays_they_chose(derm):
    # given: reminders at 07:30, on Mondays only (the day before is a Wednesday)
    patient = seen_on(derm)
    ReminderSettings.objects.create(patient=patient, local_time=time(7, 30), weekdays="0")
    # when / then
    assert visit_claims(datetime(2026, 11, 25, 7, 0, tzinfo=UTC)) == []
    assert len(visit_claims(datetime(2026, 11, 25, 7, 31, tzinfo=UTC))) == 1


def test_not_sent_when_reminders_are_off(derm):
    patient = seen_on(derm)
    ReminderSettings.objects.create(patient=patient, enabled=False)
    assert visit_claims(EVENING_BEFORE) == []


def test_skipped_if_turned_off_or_the_date_moved_after_the_claim(derm):
    # given: two claimed visit reminders
    off, moved = seen_on(derm), seen_on(derm)
    claimed = visit_claims(EVENING_BEFORE)
    ReminderSettings.objects.create(patient=off, enabled=False)
    plan_for(moved, author=derm, base_number=1, now=EVENING_BEFORE,
             reviews_on=VISIT_DAY + timedelta(days=7))
    mail.outbox.clear()
    # when
    outcomes = [services.reminder_send(delivery_id=pk, now=EVENING_BEFORE) for pk in claimed]
    # then
    assert outcomes == ["skipped", "skipped"]
    assert dict(Delivery.objects.filter(kind="visit").values_list("patient", "skip_reason")) == {
        off.pk: "turned_off", moved.pk: "nothing_due"}
    assert mail.outbox == []


def test_not_sent_once_the_patient_was_seen_since_the_plan(derm):
    # given: seen yesterday (early); the plan's review date is now stale
    patient = seen_on(derm)
    visit_record(patient=patient, recorded_by=derm, happened_on=date(2026, 11, 24), note="",
                 now=EVENING_BEFORE, today=date(2026, 11, 25))
    # when / then
    assert visit_claims(EVENING_BEFORE) == []


def test_in_the_patients_zone_around_midnight(derm):
    # given: Auckland (UTC+13 in November), reminders at 23:30; the visit on Thursday there
    patient = seen_on(derm, timezone="Pacific/Auckland")
    ReminderSettings.objects.create(patient=patient, local_time=time(23, 30))
    # when: 23:20 Wednesday in Auckland (10:20 UTC), 23:40 (10:40 UTC), 00:10 Thursday there
    before = visit_claims(datetime(2026, 11, 25, 10, 20, tzinfo=UTC))
    on_time = visit_claims(datetime(2026, 11, 25, 10, 40, tzinfo=UTC))
    after_midnight = visit_claims(datetime(2026, 11, 25, 11, 10, tzinfo=UTC))
    # then: due only in its last half hour of the day before, and claimed once
    assert (before, len(on_time), after_midnight) == ([], 1, [])
    assert Delivery.objects.get(kind="visit").local_date == date(2026, 11, 25)


def test_a_claim_sent_after_the_patients_midnight_is_too_late(derm):
    # given: claimed at 23:40 in Auckland; the worker only gets to it after midnight there
    patient = seen_on(derm, timezone="Pacific/Auckland")
    ReminderSettings.objects.create(patient=patient, local_time=time(23, 30))
    (claimed,) = visit_claims(datetime(2026, 11, 25, 10, 40, tzinfo=UTC))
    # when
    outcome = services.reminder_send(delivery_id=claimed, now=datetime(2026, 11, 25, 11, 5,
                                                                        tzinfo=UTC))
    # then
    assert outcome == "skipped"
    assert Delivery.objects.get(pk=claimed).skip_reason == "too_late"


def test_in_the_patients_language(derm):
    patient = seen_on(derm, user__first_name="Lucía", user__language="es")
    (claimed,) = visit_claims(EVENING_BEFORE)
    services.reminder_send(delivery_id=claimed, now=EVENING_BEFORE)
    (email,) = mail.outbox
    assert f"Tu cita en {patient.clinic.name} es mañana, jueves 26 de noviembre." in email.body


def test_by_push_to_a_subscribed_phone(derm, push_service, monkeypatch):
    # given
    patient = seen_on(derm)
    private_key, auth = subscribe(patient, push_service)
    # when
    with time_machine.travel(EVENING_BEFORE, tick=False):
        run_dispatch(monkeypatch)
    # then: the check-in reminder and the visit reminder, by push; no email
    assert len(push_service.received) == 2
    bodies = {decrypt(body, private_key, auth)["body"] for _, _, body in push_service.received}
    assert f"Your visit with {patient.clinic.name} is tomorrow." in bodies
    assert mail.outbox == []
    assert Delivery.objects.get(kind="visit").channel == "push"
    assert PushSubscription.objects.get().failure_count == 0
