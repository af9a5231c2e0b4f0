"""No message text reaches a log line, even at DEBUG, through a question, a refused message,
a clinic answer, its notice (with the broker down, then the sweep) and the pages that show them
(issue 19, "no message text in logs or task arguments")."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from kombu.exceptions import OperationalError

from messaging import tasks
from messaging.models import Thread
from tests.photos.test_log_privacy import _logged

pytestmark = pytest.mark.django_db

QUESTION = "Since the isotretinoin my lips crack and bleed at night"
ANSWER = "Use the petroleum balm four times a day; tell us if the bleeding goes on"


def test_no_log_record_holds_a_message(client, patient_a, staff, now, caplog, monkeypatch,
                                       django_capture_on_commit_callbacks):
    # given: the broker down, so the notice's enqueue failure is logged with its traceback
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.message_notify, "delay", broker_down)
    caplog.set_level(logging.DEBUG)
    client.force_login(patient_a.user)
    # when: a refused message, a question, the clinic's answer, the sweep's notice, the pages
    client.post(reverse("message_new"), {"topic": "side_effect", "body": QUESTION})  # no severity
    client.post(reverse("message_new"), {"topic": "side_effect", "severity": "moderate",
                                         "body": QUESTION})
    thread = Thread.objects.get()
    client.get(reverse("message_thread", args=[thread.pk]))
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("clinic_thread_reply", args=[thread.pk]), {"body": ANSWER})
    client.get(reverse("clinic_thread", args=[thread.pk]))
    client.get(reverse("clinic_inbox"))
    with time_machine.travel(now + timedelta(minutes=5), tick=False):
        tasks.notices_sweep.apply(kwargs={})  # the lost notice, a few minutes later
    # then: the outage was logged, the email went (without the text), and no log holds it
    logged = "\n".join(_logged(record) for record in caplog.records)
    assert "Could not enqueue" in logged
    for words in (QUESTION, ANSWER, "isotretinoin", "lips crack", "petroleum balm"):
        assert words.lower() not in logged.lower(), words
    assert len(mail.outbox) == 1
    assert ANSWER not in mail.outbox[0].body
