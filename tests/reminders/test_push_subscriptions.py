"""Subscribing a phone to push reminders: the patient's own browser, validated, CSRF-protected."""

import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from reminders.models import PushSubscription
from tests.factories import PUSH_ENDPOINT, push_subscription_json

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def push_on(settings):
    settings.WEBPUSH_ENABLED = True


def post_json(client, name, body, **headers):
    return client.post(reverse(name), json.dumps(body), content_type="application/json",
                       **headers)


@time_machine.travel(NOW, tick=False)
def test_patient_subscribes_this_browser(client, patient_a, push_on):
    # given
    client.force_login(patient_a.user)
    body = push_subscription_json()
    # when
    response = post_json(client, "push_subscribe", body)
    # then
    assert response.status_code == 201
    saved = PushSubscription.objects.get()
    assert (saved.patient, saved.endpoint, saved.p256dh, saved.auth, saved.created_at) == (
        patient_a, PUSH_ENDPOINT, body["keys"]["p256dh"], body["keys"]["auth"], NOW)
    assert (saved.failure_count, saved.last_success_at) == (0, None)


def test_subscribing_again_refreshes_the_keys_without_a_second_row(client, patient_a, push_on):
    # given
    client.force_login(patient_a.user)
    post_json(client, "push_subscribe", push_subscription_json())
    PushSubscription.objects.update(failure_count=3)
    renewed = push_subscription_json()
    # when
    response = post_json(client, "push_subscribe", renewed)
    # then
    assert response.status_code == 201
    saved = PushSubscription.objects.get()
    assert (saved.p256dh, saved.failure_count) == (renewed["keys"]["p256dh"], 0)


def test_a_shared_phone_goes_to_the_patient_who_subscribed_it_last(
        client, patient_a, patient_b, push_on):
    # given: patient A subscribed this browser, then patient B signs in on it
    client.force_login(patient_a.user)
    post_json(client, "push_subscribe", push_subscription_json())
    client.force_login(patient_b.user)
    # when
    post_json(client, "push_subscribe", push_subscription_json())
    # then: A's reminders no longer go to it
    assert list(PushSubscription.objects.values_list("patient", flat=True)) == [patient_b.pk]


def test_subscribe_is_404_while_push_is_not_configured(client, patient_a):
    # given: no VAPID keys (the test settings' default)
    assert not django_settings.WEBPUSH_ENABLED
    client.force_login(patient_a.user)
    # when
    response = post_json(client, "push_subscribe", push_subscription_json())
    # then
    assert response.status_code == 404
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize("who", ["derm", "staff", "anonymous"])
def test_only_a_patient_can_subscribe(client, derm, staff, push_on, who):
    # given
    if who != "anonymous":
        client.force_login({"derm": derm, "staff": staff}[who])
    # when
    response = post_json(client, "push_subscribe", push_subscription_json())
    # then
    assert response.status_code == (302 if who == "anonymous" else 404)
    assert not PushSubscription.objects.exists()


def test_unsubscribe_forgets_only_the_patients_own_browser(client, patient_a, patient_b,
                                                           push_on):
    # given: B's subscription; A knows (somehow) its endpoint and has one of their own
    client.force_login(patient_b.user)
    post_json(client, "push_subscribe", push_subscription_json())
    client.force_login(patient_a.user)
    mine = "https://updates.push.services.mozilla.com/wpush/v2/a-own"
    post_json(client, "push_subscribe", push_subscription_json(mine))
    # when
    foreign = post_json(client, "push_unsubscribe", {"endpoint": PUSH_ENDPOINT})
    own = post_json(client, "push_unsubscribe", {"endpoint": mine})
    # then
    assert (foreign.status_code, own.status_code) == (200, 200)
    assert list(PushSubscription.objects.values_list("patient", flat=True)) == [patient_b.pk]


@pytest.mark.parametrize("name", ["push_subscribe", "push_unsubscribe"])
def test_push_endpoints_need_the_csrf_token_a_page_gave(patient_a, push_on, name):
    # given: a browser enforcing CSRF, with the token of a page it opened
    client = Client(enforce_csrf_checks=True)
    client.force_login(patient_a.user)
    token = client.get(reverse("reminder_settings")).cookies[django_settings.CSRF_COOKIE_NAME]
    body = push_subscription_json()
    if name == "push_unsubscribe":
        post_json(client, "push_subscribe", body, HTTP_X_CSRFTOKEN=token.value)
        assert PushSubscription.objects.exists()
    # when
    forged = post_json(client, name, body)
    genuine = post_json(client, name, body, HTTP_X_CSRFTOKEN=token.value)
    # then
    assert forged.status_code == 403
    assert genuine.status_code in (200, 201)
    assert PushSubscription.objects.exists() is (name == "push_subscribe")


def test_the_reminders_page_says_nothing_of_push_while_it_is_off(client, patient_a):
    # given
    client.force_login(patient_a.user)
    # when
    html = client.get(reverse("reminder_settings")).content.decode()
    # then
    assert "data-push" not in html
    assert "push.js" not in html
    assert "this phone" not in html


def test_the_reminders_page_offers_this_phone_when_push_is_on(client, patient_a, settings):
    # given
    settings.WEBPUSH_ENABLED = True
    settings.VAPID_PUBLIC_KEY = "BPublicKeyForTheTest"
    client.force_login(patient_a.user)
    # when
    html = client.get(reverse("reminder_settings")).content.decode()
    # then: the button (shown by push.js) and the sentence for a browser without it
    assert 'data-public-key="BPublicKeyForTheTest"' in html
    assert f'data-subscribe-url="{reverse("push_subscribe")}"' in html
    assert "Send reminders to this phone</button>" in html
    assert "need the portal installed as an app on your phone, with JavaScript on" in html
    assert "/static/js/push.js" in html
