"""Dispatch and delivery: the right patients, each at most once, with a personal email."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from careplans.services import profile_update
from checkins.models import CheckIn
from reminders import services
from reminders.models import Delivery, ReminderSettings
from tests.factories import PatientFactory, backdated_revision, item_draft, unsubscribe_url

pytestmark = pytest.mark.django_db

# 21:00 UTC on Wednesday 25 Nov 2026 is 21:00 in London (past 20:00), 13:00 in Los Angeles.
EVENING_IN_LONDON = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)


def with_plan(patient, derm):
    backdated_revision(patient, author=derm, number=1,
                       effective_from=EVENING_IN_LONDON.date() - timedelta(days=10),
                       items=[item_draft(name="Azelaic acid 15%", time_of_day="evening")])
    return patient


@pytest.fixture
def london(derm):
    return with_plan(PatientFactory(dermatologist=derm, timezone="Europe/London"), derm)


def test_due_patients_respects_time_zone_plan_check_in_and_settings(derm, london):
    # given
    los_angeles = with_plan(PatientFactory(dermatologist=derm, timezone="America/Los_Angeles"),
                            derm)
    no_plan = PatientFactory(dermatologist=derm, timezone="Europe/London")
    checked_in = with_plan(PatientFactory(dermatologist=derm, timezone="Europe/London"), derm)
    CheckIn.objects.create(patient=checked_in, local_date=EVENING_IN_LONDON.date(),
                           revision=checked_in.care_plan.revisions.get(), steps_due=1,
                           steps_done=1)
    turned_off = with_plan(PatientFactory(dermatologist=derm, timezone="Europe/London"), derm)
    ReminderSettings.objects.create(patient=turned_off, enabled=False)
    later = with_plan(PatientFactory(dermatologist=derm, timezone="Europe/London"), derm)
    ReminderSettings.objects.create(patient=later, local_time=time(22, 0))
    not_today = with_plan(PatientFactory(dermatologist=derm, timezone="Europe/London"), derm)
    ReminderSettings.objects.create(patient=not_today, weekdays="0156")
    # when
    due = dict(services.due_patients(EVENING_IN_LONDON))
    # then
    assert due == {london.pk: EVENING_IN_LONDON.date()}
    assert los_angeles.pk not in due
    assert no_plan.pk not in due


def test_query_count_grows_with_time_zones_not_patients(derm, django_assert_max_num_queries):
    for _ in range(30):
        with_plan(PatientFactory(dermatologist=derm, timezone="Europe/London"), derm)
    with django_assert_max_num_queries(3):  # zones + one query for the one zone in use
        assert len(services.due_patients(EVENING_IN_LONDON)) == 30


def test_claiming_twice_claims_nothing_the_second_time(london):
    first = services.reminders_claim(now=EVENING_IN_LONDON)
    second = services.reminders_claim(now=EVENING_IN_LONDON + timedelta(minutes=1))
    assert len(first) == 1
    assert second == []
    assert Delivery.objects.count() == 1


def test_send_delivers_once_with_a_personal_message(london, derm):
    # given: a clinic that names steps, a patient who wants their goal quoted
    london.clinic.reminder_step_names = True
    london.clinic.save()
    ReminderSettings.objects.create(patient=london, include_goal=True)
    profile_update(patient=london, actor=derm, data={"what_matters": "Calm skin for June",
                                                     "monthly_budget": Decimal("30")},
                   preferences=None)
    (delivery_id,) = services.reminders_claim(now=EVENING_IN_LONDON)
    # when
    assert services.reminder_send(delivery_id=delivery_id, now=EVENING_IN_LONDON) == "sent"
    assert services.reminder_send(delivery_id=delivery_id, now=EVENING_IN_LONDON) == "nothing to do"
    # then
    (email,) = mail.outbox
    assert email.subject == "Your Alliance Portal check-in"
    assert email.to == [london.user.email]
    assert "Calm skin for June" in email.body
    assert "Azelaic acid 15%" in email.body
    assert f"/today/?date={EVENING_IN_LONDON.date().isoformat()}" in email.body
    assert email.extra_headers["List-Unsubscribe"].startswith("<http")
    assert Delivery.objects.get().status == "sent"


def test_a_patient_who_checked_in_meanwhile_is_not_reminded(london):
    (delivery_id,) = services.reminders_claim(now=EVENING_IN_LONDON)
    CheckIn.objects.create(patient=london, local_date=EVENING_IN_LONDON.date(),
                           revision=london.care_plan.revisions.get(), steps_due=1, steps_done=1)
    assert services.reminder_send(delivery_id=delivery_id, now=EVENING_IN_LONDON) == "skipped"
    assert not mail.outbox
    assert Delivery.objects.get().skip_reason == "checked_in"


def test_stale_claims_are_offered_again_once(london):
    (delivery_id,) = services.reminders_claim(now=EVENING_IN_LONDON)
    later = EVENING_IN_LONDON + timedelta(minutes=5)
    assert services.stale_claims(now=later) == [delivery_id]
    assert services.stale_claims(now=later + timedelta(seconds=30)) == []
    services.reminder_send(delivery_id=delivery_id, now=EVENING_IN_LONDON)
    assert services.stale_claims(now=later + timedelta(minutes=10)) == []


@time_machine.travel(EVENING_IN_LONDON, tick=False)
def test_transient_email_failure_is_retried_and_then_recorded(london, monkeypatch):
    from reminders import tasks
    from reminders.channels import EmailChannel

    def smtp_down(self, message):
        raise ConnectionError("SMTP unreachable")

    monkeypatch.setattr(EmailChannel, "send", smtp_down)
    (delivery_id,) = services.reminders_claim(now=EVENING_IN_LONDON)
    retried = []
    monkeypatch.setattr(tasks.reminder_send, "retry",
                        lambda exc, countdown: retried.append(countdown) or RuntimeError("retry"))
    with pytest.raises(RuntimeError):
        tasks.reminder_send.run(delivery_id)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.error) == ("claimed", "ConnectionError")
    assert retried == [10]


def test_unsubscribe_link_works_without_login_and_only_for_that_patient(client, london, derm):
    other = with_plan(PatientFactory(dermatologist=derm, timezone="Europe/London"), derm)
    url = unsubscribe_url(london)
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 200
    assert ReminderSettings.objects.get(patient=london).enabled is False
    assert not ReminderSettings.objects.filter(patient=other, enabled=False).exists()


def test_tampered_unsubscribe_token_is_refused(client, london):
    token = services.unsubscribe_link_issue(patient_id=london.pk, now=timezone.now())
    tampered = token[:-2] + ("aa" if not token.endswith("aa") else "bb")
    assert client.post(reverse("reminders_unsubscribe", args=[tampered])).status_code == 400
    assert not ReminderSettings.objects.filter(enabled=False).exists()


def test_settings_page_saves_and_previews_the_next_reminder(client, london):
    client.force_login(london.user)
    response = client.post(reverse("reminder_settings"), {
        "enabled": "on", "local_time": "07:45", "weekdays": ["0", "2", "4"], "channel": "email",
    })
    assert response.status_code == 302
    saved = ReminderSettings.objects.get(patient=london)
    assert (saved.local_time, saved.weekdays) == (time(7, 45), "024")
    assert "Next reminder:" in client.get(reverse("reminder_settings")).content.decode()


@pytest.mark.parametrize(("data", "message"), [
    ({"enabled": "on", "local_time": "25:00", "weekdays": ["1"], "channel": "email"}, "valid time"),
    ({"enabled": "on", "local_time": "20:00", "channel": "email"}, "at least one day"),
    ({"enabled": "on", "local_time": "20:00", "weekdays": ["9"], "channel": "email"},
     "valid choice"),
    ({"enabled": "on", "local_time": "20:00", "weekdays": ["1"], "channel": "pigeon"},
     "valid choice"),
])
def test_bad_settings_are_refused(client, london, data, message):
    client.force_login(london.user)
    response = client.post(reverse("reminder_settings"), data)
    assert message in response.content.decode()
    assert not ReminderSettings.objects.exists()


def test_clinicians_see_the_last_14_days_of_reminders(client, london, staff, derm):
    today = london.local_today()
    for days_ago, status, reason in [(0, "sent", ""), (1, "skipped", "checked_in"),
                                     (2, "failed", ""), (20, "sent", "")]:
        Delivery.objects.create(patient=london, local_date=today - timedelta(days=days_ago),
                                status=status, skip_reason=reason, claimed_at=EVENING_IN_LONDON)
    client.force_login(staff)
    body = client.get(reverse("patient_detail", kwargs={"patient_id": london.pk}))
    text = body.content.decode()
    assert "Sent" in text
    assert "already checked in" in text
    assert "Failed" in text
    assert len(body.context["deliveries"]) == 3


def test_a_patient_who_chose_spanish_gets_the_reminder_in_spanish(london):
    # given
    london.user.language = "es"
    london.user.save(update_fields=["language"])
    (delivery_id,) = services.reminders_claim(now=EVENING_IN_LONDON)
    # when: the worker sends it (no request, no active language of the patient's)
    assert services.reminder_send(delivery_id=delivery_id, now=EVENING_IN_LONDON) == "sent"
    # then
    (email,) = mail.outbox
    assert email.subject == "Tu registro en Alliance Portal"
    assert "Recibes este mensaje porque tienes activados los recordatorios" in email.body
