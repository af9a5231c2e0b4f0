"""A side effect the patient calls severe in a message raises the same flag as a severe
check-in: once, added to while open, never for mild or moderate, and never lost (issue 19)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse

from checkins.models import AttentionRequest, CheckIn
from checkins.tasks import attention_dispatch, attention_sweep
from flags.models import Flag, Rule, Severity
from flags.services import flag_raise_severe_side_effect
from messaging.models import Topic
from messaging.services import Attachment, message_post, thread_start
from tests.flags.conftest import log, make_patient

pytestmark = pytest.mark.django_db


def _severe_message(patient, now, *, severity="severe", body="My lips are swollen",
                    **attachment):
    return thread_start(patient=patient, by=patient.user, topic=Topic.SIDE_EFFECT,
                        severity=severity, body=body, now=now,
                        attachment=Attachment(**attachment) if attachment else None)


def _severe_checkin_flag(patient, now) -> CheckIn:
    checkin = log(patient, patient.local_date(now))
    checkin.side_effect = "severe"
    checkin.save(update_fields=["side_effect"])
    flag_raise_severe_side_effect(request=AttentionRequest.objects.create(
        patient=patient, checkin=checkin, kind=AttentionRequest.Kind.SEVERE_SIDE_EFFECT),
        now=now)
    return checkin


def _dispatch_all() -> None:
    for request in AttentionRequest.objects.order_by("id"):
        attention_dispatch(request.pk)


def test_a_severe_message_raises_a_high_flag_once(patient_a, now):
    # given
    thread = _severe_message(patient_a, now, plan_item_name="Adapalene 0.1% gel",
                             plan_item_key="6f1e1a56-1b9a-4a4e-9a43-0f0b2a2c5e11")
    message = thread.messages.get()
    request = AttentionRequest.objects.get()
    # when: the task runs, and is delivered a second time
    attention_dispatch(request.pk)
    attention_dispatch(request.pk)
    # then
    flag = Flag.objects.get()
    assert (flag.rule, flag.severity) == (Rule.SEVERE_SIDE_EFFECT, Severity.HIGH)
    assert flag.evidence["message_ids"] == [message.pk]
    assert flag.evidence["thread_ids"] == [thread.pk]
    assert flag.evidence["checkin_ids"] == []
    assert flag.evidence["numbers"]["reported_in"] == "message"
    assert re.fullmatch(r"Severe side effect reported in a message on \w{3} \d+ \w{3} \d{4} "
                        r"\(step: Adapalene 0\.1% gel\)\.", flag.evidence["summary"])
    assert "swollen" not in str(flag.evidence)  # the message's words stay in the thread
    assert flag.evidence_at == message.created_at
    assert list(flag.events.values_list("kind", flat=True)) == ["opened"]
    request.refresh_from_db()
    assert request.processed_at is not None


def test_a_second_severe_message_while_open_adds_to_the_same_flag(patient_a, now):
    # given
    first = _severe_message(patient_a, now)
    _dispatch_all()
    # when: another severe report the next day, in a new conversation
    second = _severe_message(patient_a, now + timedelta(days=1), body="Now my eyes too")
    _dispatch_all()
    # then
    flag = Flag.objects.get()
    assert flag.evidence["message_ids"] == sorted(
        [first.messages.get().pk, second.messages.get().pk])
    assert flag.evidence["thread_ids"] == sorted([first.pk, second.pk])
    assert flag.evidence_at == now + timedelta(days=1)
    assert list(flag.events.values_list("kind", flat=True)) == ["opened", "evidence"]


def test_a_severe_message_adds_to_a_flag_a_check_in_opened(derm, now):
    # given: a severe check-in's flag is open
    patient_a = make_patient(derm)
    checkin = _severe_checkin_flag(patient_a, now)
    # when
    thread = _severe_message(patient_a, now + timedelta(hours=2))
    _dispatch_all()
    # then: one flag, both reports behind it
    flag = Flag.objects.get()
    assert flag.evidence["checkin_ids"] == [checkin.pk]
    assert flag.evidence["message_ids"] == [thread.messages.get().pk]


@pytest.mark.parametrize("severity", ["mild", "moderate"])
def test_a_mild_or_moderate_side_effect_raises_nothing(patient_a, now, severity):
    # when
    _severe_message(patient_a, now, severity=severity, body="A bit dry")
    _dispatch_all()
    # then
    assert not AttentionRequest.objects.exists()
    assert not Flag.objects.exists()


def test_a_later_reply_in_a_severe_thread_raises_nothing_more(patient_a, staff, now):
    # given
    thread = _severe_message(patient_a, now)
    _dispatch_all()
    # when: the conversation goes on
    message_post(thread=thread, by=staff, from_clinic=True, body="Stop the gel; call us.",
                 now=now + timedelta(minutes=5))
    message_post(thread=thread, by=patient_a.user, from_clinic=False, body="Done",
                 now=now + timedelta(minutes=9))
    # then
    assert AttentionRequest.objects.count() == 1
    assert list(Flag.objects.get().events.values_list("kind", flat=True)) == ["opened"]


def test_the_attention_sweep_catches_a_lost_dispatch(patient_a, now,
                                                     django_capture_on_commit_callbacks):
    # given: the message is saved but its dispatch task never runs (the broker was down)
    with django_capture_on_commit_callbacks(execute=False):
        _severe_message(patient_a, now)
    AttentionRequest.objects.update(created_at=now - timedelta(minutes=5))
    assert not Flag.objects.exists()
    # when
    attention_sweep()
    attention_sweep()
    # then
    assert Flag.objects.get().rule == Rule.SEVERE_SIDE_EFFECT
    assert AttentionRequest.objects.get().processed_at == now


def test_the_flag_page_tells_of_the_message_and_links_its_conversation(client, staff,
                                                                       patient_a, now):
    # given
    thread = _severe_message(patient_a, now)
    _dispatch_all()
    flag = Flag.objects.get()
    client.force_login(staff)
    # when
    page = html.unescape(client.get(reverse("flag_detail", args=[flag.pk])).content.decode())
    # then: the evidence says where it was reported, in words, and never quotes the message
    section = page[page.index('aria-labelledby="evidence-heading"'):]
    section = section[:section.index("</section>")]
    assert "Severe side effect reported in a message on" in section
    rows = dict(re.findall(r'<tr><th scope="row">([^<]*)</th><td>([^<]*)</td></tr>', section))
    assert rows == {"Side effect reported": "Severe", "Step": "not named",
                    "Reported in": "a message to the care team"}
    assert "The messages behind it" in section
    assert "The check-ins behind it" not in section
    assert "swollen" not in page
    assert f'href="{reverse("clinic_thread", args=[thread.pk])}"' in section


@pytest.mark.parametrize("language", ["es", "de"])
def test_the_flag_page_of_a_severe_message_reads_in_the_clinicians_language(
        client, staff, patient_a, now, language):
    # given
    _severe_message(patient_a, now)
    _dispatch_all()
    flag = Flag.objects.get()
    staff.language = language
    staff.save(update_fields=["language"])
    client.force_login(staff)
    # when
    page = html.unescape(client.get(reverse("flag_detail", args=[flag.pk])).content.decode())
    section = page[page.index('aria-labelledby="evidence-heading"'):]
    section = section[:section.index("</section>")]
    # then: none of the English sentences of the message's evidence is left
    for english in ("Severe side effect reported in a message", "Reported in",
                    "a message to the care team", "The messages behind it",
                    "the patient wrote to the care team", "Read the conversation"):
        assert english not in section, english


def test_the_flag_page_of_a_check_in_keeps_its_words(client, staff, derm, now):
    # given: a severe check-in's flag (no message behind it)
    patient_a = make_patient(derm)
    _severe_checkin_flag(patient_a, now)
    client.force_login(staff)
    # when
    page = client.get(reverse("flag_detail", args=[Flag.objects.get().pk])).content.decode()
    # then
    assert "The check-ins behind it" in page
    assert "The messages behind it" not in page
    assert "Reported in a message" not in page
