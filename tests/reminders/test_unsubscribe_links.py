"""Unsubscribe links: a random token that names nobody, works for UNSUBSCRIBE_LINK_DAYS, and
stops working once the patient changes their reminder settings after the email was sent (so
an old email cannot turn reminders off again after the patient turned them back on)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail, signing
from django.urls import reverse

from reminders import services
from reminders.models import ReminderSettings, UnsubscribeLink
from tests.factories import patient_on_a_plan, unsubscribe_url

pytestmark = pytest.mark.django_db

WINDOW = timedelta(days=services.UNSUBSCRIBE_LINK_DAYS)


@pytest.fixture
def patient(now, derm):
    patient = patient_on_a_plan(derm, since=now.date() - timedelta(days=10))
    ReminderSettings.objects.create(patient=patient)  # on, changed long before any link
    return patient


def reminders_on(patient) -> bool:
    return ReminderSettings.objects.get(patient=patient).enabled


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def test_a_link_still_works_near_the_end_of_its_window(client, now, patient):
    # given
    url = unsubscribe_url(patient, issued_at=now)
    # when
    with time_machine.travel(now + WINDOW - timedelta(minutes=1), tick=False):
        opened = client.get(url)
        response = client.post(url)
    # then
    assert (opened.status_code, response.status_code) == (200, 200)
    assert reminders_on(patient) is False


def test_an_expired_link_is_refused_and_says_so(client, now, patient):
    # given
    url = unsubscribe_url(patient, issued_at=now)
    # when
    with time_machine.travel(now + WINDOW + timedelta(minutes=1), tick=False):
        response = client.post(url)
    # then
    assert response.status_code == 410
    page = response.content.decode()
    assert "This link has expired" in page
    assert f"work for {services.UNSUBSCRIBE_LINK_DAYS} days" in page
    assert reverse("reminder_settings") in page
    assert reminders_on(patient) is True


def test_an_old_link_cannot_turn_reminders_off_again_after_they_were_turned_back_on(
    client, now, patient
):
    # given: the patient unsubscribed with a reminder's link, then turned reminders back on
    url = unsubscribe_url(patient, issued_at=now)
    with time_machine.travel(now + timedelta(hours=1), tick=False):
        assert client.post(url).status_code == 200
    assert reminders_on(patient) is False
    with time_machine.travel(now + timedelta(days=2), tick=False):
        client.force_login(patient.user)
        saved = client.post(reverse("reminder_settings"), {
            "enabled": "on", "local_time": "20:00", "weekdays": list("0123456"),
            "channel": "email"})
        client.logout()
    assert saved.status_code == 302
    # when: the same link again
    with time_machine.travel(now + timedelta(days=3), tick=False):
        response = client.post(url)
    # then
    assert response.status_code == 410
    assert "your reminder settings were changed after this email was sent" in (
        response.content.decode())
    assert reminders_on(patient) is True


def test_a_link_from_before_any_settings_change_stops_working(client, now, patient):
    # given: a link, then the patient moves their reminder time
    url = unsubscribe_url(patient, issued_at=now)
    with time_machine.travel(now + timedelta(hours=1), tick=False):
        client.force_login(patient.user)
        client.post(reverse("reminder_settings"), {
            "enabled": "on", "local_time": "07:30", "weekdays": ["1"], "channel": "email"})
        client.logout()
    # when
    with time_machine.travel(now + timedelta(hours=2), tick=False):
        response = client.post(url)
    # then
    assert response.status_code == 410
    assert reminders_on(patient) is True


def test_a_tampered_or_unknown_token_is_refused(client, now, patient):
    # given
    token = token_of(unsubscribe_url(patient, issued_at=now))
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    # when
    responses = [client.post(reverse("reminders_unsubscribe", args=[t]))
                 for t in (tampered, token[:-1], signing.dumps(patient.pk))]
    # then
    assert [r.status_code for r in responses] == [400, 400, 400]
    assert "This link is not valid" in responses[0].content.decode()
    assert reminders_on(patient) is True


def _decodings(token: str) -> list[bytes]:
    """What anyone can read out of the token: each part, base64- and base32-decoded."""
    found = []
    for part in [token, *re.split(r"[:.\-_]", token)]:
        for decode in (base64.urlsafe_b64decode, base64.b32decode):
            with contextlib.suppress(binascii.Error, ValueError):
                found.append(decode(part + "=" * (-len(part) % 8)))
        with contextlib.suppress(binascii.Error, ValueError):
            found.append(signing.b64_decode(part.encode()))
    return found


def _read_as_values(raw: bytes) -> list[object]:
    values: list[object] = [int.from_bytes(raw, "big"), int.from_bytes(raw, "little")]
    for text in (raw.decode("latin-1"), raw.decode("utf-8", "ignore")):
        values.append(text.strip())
        with contextlib.suppress(ValueError):
            values.append(json.loads(text))
    return values


def test_the_emailed_link_names_no_one(now, patient):
    # given: a real reminder
    (delivery_id,) = services.reminders_claim(now=now.replace(hour=21))
    # when
    assert services.reminder_send(delivery_id=delivery_id, now=now.replace(hour=21)) == "sent"
    # then: the body's link is the one-click header's, and its token is random, long, and
    # decodes to nothing that is the patient's id or email
    (email,) = mail.outbox
    (url,) = re.findall(r"https?://\S+/reminders/unsubscribe/\S+/", email.body)
    assert email.extra_headers["List-Unsubscribe"] == f"<{url}>"
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = token_of(url)
    assert len(token) >= 43
    assert ":" not in token
    with pytest.raises(signing.BadSignature):
        signing.loads(token, salt="reminders.unsubscribe")
    readable = [value for raw in _decodings(token) for value in _read_as_values(raw)]
    assert readable  # the decoding was attempted
    assert patient.pk not in readable
    assert str(patient.pk) not in readable
    assert not any(patient.user.email.encode() in raw for raw in _decodings(token))
    # and the database keeps only the token's hash
    link = UnsubscribeLink.objects.get()
    assert (link.patient_id, link.issued_at) == (patient.pk, now.replace(hour=21))
    assert token not in link.token_hash


def test_a_link_only_ever_unsubscribes_its_own_patient(client, now, derm, patient):
    # given
    other = patient_on_a_plan(derm, since=now.date())
    ReminderSettings.objects.create(patient=other)
    # when
    client.post(unsubscribe_url(patient, issued_at=now))
    # then
    assert (reminders_on(patient), reminders_on(other)) == (False, True)
