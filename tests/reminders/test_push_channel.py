"""Push reminders through a fake push service on localhost: one a patient-day whatever runs
twice, a payload that (once decrypted as the phone would) says nothing about the patient's care,
gone subscriptions deleted, outages retried, and email when no phone can take it."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.urls import reverse

from careplans.models import PlanItem
from careplans.services import profile_update
from reminders import services, tasks
from reminders.channels import PushServiceUnavailable
from reminders.management.commands.vapid_keys import vapid_key_pair
from reminders.models import Delivery, PushSubscription, ReminderSettings
from tests.factories import patient_on_a_plan, push_browser_keys

pytestmark = pytest.mark.django_db

# 21:00 UTC on Wednesday 25 Nov 2026 is past the default 20:00 reminder time in London.
EVENING = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
MEDICINE = "Doxycycline 100 mg capsule"
GOAL = "Clear skin before the acne clinic review"


class FakePushService:
    """A push service on 127.0.0.1: records each POST, answers ``status`` (per path)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.status: dict[str, int] = {}
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                service.received.append((self.path, headers, body))
                self.send_response(service.status.get(self.path, 201))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"


@pytest.fixture
def push_service(settings):
    public, private = vapid_key_pair()
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = public, private
    settings.VAPID_SUBJECT = "mailto:reminders@clinic.example"
    settings.WEBPUSH_ENABLED = True
    # Tests only: the fake service speaks http on localhost.
    settings.WEBPUSH_ALLOW_HTTP = True
    settings.WEBPUSH_SERVICE_HOSTS = ("127.0.0.1",)
    service = FakePushService()
    service.thread.start()
    yield service
    service.server.shutdown()
    service.server.server_close()


@pytest.fixture
def patient(derm):
    """A patient whose email reminders would name their medicine and quote their goal (both
    opted in): a push must still carry neither."""
    clinic = derm.membership.clinic
    clinic.reminder_step_names = True
    clinic.save()
    patient = patient_on_a_plan(derm, since=EVENING.date() - timedelta(days=10), name=MEDICINE)
    profile_update(patient=patient, actor=derm, preferences=None,
                   data={"what_matters": GOAL, "monthly_budget": Decimal("30")})
    ReminderSettings.objects.create(patient=patient, include_goal=True)
    return patient


def subscribe(patient, service: FakePushService, path: str = "/push/1"):
    """A phone's subscription at the fake service; returns what the phone decrypts with."""
    private_key, auth, keys = push_browser_keys()
    PushSubscription.objects.create(patient=patient, endpoint=service.url(path),
                                    created_at=EVENING - timedelta(days=1), **keys)
    return private_key, auth


def run_dispatch(monkeypatch) -> None:
    """One beat of the dispatcher, its partitions run in this process."""
    monkeypatch.setattr(tasks.reminders_send_partition, "apply_async",
                        lambda args, **options: tasks.reminders_send_partition(*args))
    tasks.reminders_dispatch()


def decrypt(body: bytes, private_key, auth: bytes) -> dict:
    return json.loads(http_ece.decrypt(body, private_key=private_key, auth_secret=auth,
                                       version="aes128gcm"))


@time_machine.travel(EVENING, tick=False)
def test_one_push_per_patient_day_even_if_the_tasks_run_twice(patient, push_service,
                                                              monkeypatch):
    # given
    subscribe(patient, push_service)
    # when: two dispatcher beats, then the same send task again (a redelivered message)
    run_dispatch(monkeypatch)
    run_dispatch(monkeypatch)
    delivery = Delivery.objects.get()
    assert tasks.reminder_send.apply(args=[delivery.pk]).get() == "nothing to do"
    # then: one push, no email, the delivery recorded as sent by push
    assert len(push_service.received) == 1
    assert mail.outbox == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.channel, delivery.sent_at) == ("sent", "push", EVENING)
    subscription = PushSubscription.objects.get()
    assert (subscription.last_success_at, subscription.failure_count) == (EVENING, 0)


@time_machine.travel(EVENING, tick=False)
def test_the_payload_says_a_check_in_is_waiting_and_nothing_about_the_patients_care(
        patient, push_service, monkeypatch):
    # given
    private_key, auth = subscribe(patient, push_service)
    item_names = list(PlanItem.objects.filter(revision__plan__patient=patient)
                      .values_list("name", flat=True))
    assert item_names == [MEDICINE]
    # when
    run_dispatch(monkeypatch)
    # then: decrypted as the phone would, only a title, a body and the Today link
    (_path, headers, body), = push_service.received
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["authorization"].startswith("vapid t=")
    assert (headers["urgency"], headers["topic"]) == ("normal", "checkin")
    assert int(headers["ttl"]) == 3 * 3600  # until midnight in London: no use tomorrow
    payload = decrypt(body, private_key, auth)
    assert payload == {
        "title": "Alliance Portal", "body": "Time for your check-in.",
        "url": f"{settings.SITE_URL.rstrip('/')}{reverse('today')}?date=2026-11-25"}
    text = json.dumps(payload).lower()
    for secret in [*item_names, "Doxycycline", GOAL, "acne", "skin", patient.user.first_name,
                   patient.user.last_name, patient.user.email, patient.dermatologist.last_name]:
        assert secret.lower() not in text
    assert MEDICINE.encode() not in body
    assert GOAL.encode() not in body


@time_machine.travel(EVENING, tick=False)
def test_a_gone_subscription_is_deleted_and_the_reminder_goes_by_email(patient, push_service,
                                                                      monkeypatch):
    # given: the phone unsubscribed (or the app was removed): its push service answers 410
    subscribe(patient, push_service, "/push/gone")
    push_service.status["/push/gone"] = 410
    # when
    run_dispatch(monkeypatch)
    # then
    assert not PushSubscription.objects.exists()
    assert len(mail.outbox) == 1
    assert Delivery.objects.get().channel == "email"


@time_machine.travel(EVENING, tick=False)
def test_one_phone_gone_and_one_reached_is_one_push_and_no_email(patient, push_service,
                                                                 monkeypatch):
    # given
    subscribe(patient, push_service, "/push/old-phone")
    subscribe(patient, push_service, "/push/new-phone")
    push_service.status["/push/old-phone"] = 404
    # when
    run_dispatch(monkeypatch)
    # then
    assert [path for path, _, _ in push_service.received] == ["/push/old-phone",
                                                              "/push/new-phone"]
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [
        push_service.url("/push/new-phone")]
    assert mail.outbox == []


@time_machine.travel(EVENING, tick=False)
def test_a_push_service_outage_is_retried_and_counted_not_sent_by_email(patient, push_service):
    # given: the push service is down
    subscribe(patient, push_service, "/push/1")
    push_service.status["/push/1"] = 503
    (delivery_id,) = services.reminders_claim(now=EVENING)
    # when
    with pytest.raises(PushServiceUnavailable):
        services.reminder_send(delivery_id=delivery_id, now=EVENING)
    # then: still claimed for the retry; the failure counted; nothing else sent
    assert Delivery.objects.get().status == "claimed"
    assert PushSubscription.objects.get().failure_count == 1
    assert mail.outbox == []
    # when: it is back up for the retry
    push_service.status["/push/1"] = 201
    assert services.reminder_send(delivery_id=delivery_id, now=EVENING) == "sent"
    # then
    assert len(push_service.received) == 2
    assert PushSubscription.objects.get().failure_count == 0


@time_machine.travel(EVENING, tick=False)
def test_the_task_retries_a_push_outage_with_backoff(patient, push_service, monkeypatch):
    # given
    subscribe(patient, push_service, "/push/1")
    push_service.status["/push/1"] = 503
    (delivery_id,) = services.reminders_claim(now=EVENING)
    retried = []
    monkeypatch.setattr(tasks.reminder_send, "apply_async",
                        lambda args, **options: retried.append((args, options["countdown"])))
    # when
    outcome = tasks.reminders_send_partition([delivery_id])
    # then
    assert outcome == {"retrying": 1}
    assert retried == [((delivery_id,), 10)]
    assert Delivery.objects.get().error == "PushServiceUnavailable"


@time_machine.travel(EVENING, tick=False)
def test_without_vapid_keys_a_subscribed_patient_gets_email(patient, push_service, settings,
                                                            monkeypatch):
    # given: a subscription from before push was turned off
    subscribe(patient, push_service)
    settings.WEBPUSH_ENABLED = False
    # when
    run_dispatch(monkeypatch)
    # then
    assert push_service.received == []
    assert len(mail.outbox) == 1


@time_machine.travel(EVENING, tick=False)
def test_an_endpoint_that_is_not_a_push_service_is_never_posted_to(patient, push_service,
                                                                   settings, monkeypatch):
    # given: a row (not made through the form) aiming at a host outside the allowed ones
    subscribe(patient, push_service)
    settings.WEBPUSH_SERVICE_HOSTS = ("fcm.googleapis.com",)
    # when
    run_dispatch(monkeypatch)
    # then
    assert push_service.received == []
    assert not PushSubscription.objects.exists()
    assert len(mail.outbox) == 1



def test_no_push_before_the_patients_reminder_time(patient, push_service, monkeypatch):
    # given: 19:59 in London, the default reminder time is 20:00
    subscribe(patient, push_service)
    # when
    with time_machine.travel(datetime(2026, 11, 25, 19, 59, tzinfo=UTC), tick=False):
        run_dispatch(monkeypatch)
    # then
    assert push_service.received == []
    assert not Delivery.objects.exists()


def test_the_next_morning_follow_up_is_a_second_push_about_yesterday(patient, push_service,
                                                                      monkeypatch):
    # given: a clinic that follows up at 09:00; the evening's push went, nothing was logged
    patient.clinic.reminder_follow_up = True
    patient.clinic.save()
    private_key, auth = subscribe(patient, push_service)
    with time_machine.travel(EVENING, tick=False):
        run_dispatch(monkeypatch)
    # when: the next morning, twice
    with time_machine.travel(datetime(2026, 11, 26, 9, 30, tzinfo=UTC), tick=False):
        run_dispatch(monkeypatch)
        run_dispatch(monkeypatch)
    # then: the follow-up, no more
    assert len(push_service.received) == 2
    follow_up = decrypt(push_service.received[1][2], private_key, auth)
    assert follow_up["body"] == "Yesterday's check-in is still open."
    assert follow_up["url"].endswith("?date=2026-11-25")
    assert mail.outbox == []


@time_machine.travel(EVENING, tick=False)
def test_the_push_is_in_the_patients_language(patient, push_service, monkeypatch):
    # given: a patient who reads the portal in Spanish
    patient.user.language = "es"
    patient.user.save(update_fields=["language"])
    private_key, auth = subscribe(patient, push_service)
    # when
    run_dispatch(monkeypatch)
    # then
    (_path, _headers, body), = push_service.received
    assert decrypt(body, private_key, auth)["body"] == "Es hora de tu registro diario."
