"""Threads: started by the patient or the clinic, answered, waiting, closed and reopened, read
marks, the daily limit, and a severe side effect asking for attention (issue 19)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from checkins.models import AttentionRequest
from messaging import selectors
from messaging.models import Message, Status, Thread, Topic
from messaging.services import (
    NEW_THREADS_PER_DAY,
    MessageRefused,
    message_post,
    thread_assign,
    thread_hand_to_dermatologist,
    thread_set_status,
    thread_start,
    thread_start_from_clinic,
)

pytestmark = pytest.mark.django_db


def _question(patient, now, **kwargs):
    values = {"topic": Topic.PLAN, "body": "Can I use the gel every other night?"} | kwargs
    return thread_start(patient=patient, by=patient.user, now=now, **values)


def test_a_patients_question_waits_for_the_clinic_until_answered(patient_a, staff, now):
    # given
    thread = _question(patient_a, now)
    assert thread.waiting_since == now
    assert [t.pk for t in selectors.inbox_for_clinician(staff)] == [thread.pk]
    # when: staff answer an hour later
    message_post(thread=thread, by=staff, from_clinic=True, body="Yes, start that way.",
                 now=now + timedelta(hours=1))
    # then: no longer waiting on the clinic; the patient has one unread thread
    thread.refresh_from_db()
    assert thread.waiting_since is None
    assert thread.status == Status.OPEN
    assert list(selectors.inbox_for_clinician(staff)) == []
    assert selectors.unread_count_for_patient(patient_a) == 1
    # when: the patient reads it
    from messaging.services import thread_mark_read

    thread_mark_read(thread=thread, user=patient_a.user, now=now + timedelta(hours=2))
    # then
    assert selectors.unread_count_for_patient(patient_a) == 0


def test_a_patient_reply_reopens_a_closed_thread_and_it_is_never_deleted(patient_a, staff, now):
    # given
    thread = _question(patient_a, now)
    thread_set_status(thread=thread, by=staff, status=Status.CLOSED, now=now)
    # when
    message_post(thread=thread, by=patient_a.user, from_clinic=False, body="One more thing",
                 now=now + timedelta(days=1))
    # then
    thread.refresh_from_db()
    assert (thread.status, thread.closed_at) == (Status.OPEN, None)
    assert thread.waiting_since == now + timedelta(days=1)
    assert Message.objects.filter(thread=thread).count() == 2
    with pytest.raises(PermissionError):
        Message.objects.filter(thread=thread).first().delete()


@pytest.mark.parametrize(("body", "topic", "severity", "says"), [
    ("   ", Topic.PLAN, "", "Write your message first"),
    ("x" * 5001, Topic.PLAN, "", "Keep a message to 5000 characters"),
    ("Hello", Topic.FROM_CLINIC, "", "Choose what your message is about"),
    ("It burns", Topic.SIDE_EFFECT, "", "Say how bad the side effect is"),
])
def test_bad_input_is_refused_and_saves_nothing(patient_a, now, body, topic, severity, says):
    with pytest.raises(MessageRefused, match=says):
        thread_start(patient=patient_a, by=patient_a.user, topic=topic, body=body,
                     severity=severity, now=now)
    assert not Thread.objects.exists()
    assert not Message.objects.exists()


def test_a_patient_starts_at_most_a_few_threads_a_day(patient_a, now):
    # given
    for hour in range(NEW_THREADS_PER_DAY):
        _question(patient_a, now + timedelta(hours=hour))
    # when / then: the next is refused with a clear message, nothing saved
    with pytest.raises(MessageRefused, match="the most for a day"):
        _question(patient_a, now + timedelta(hours=5))
    assert Thread.objects.filter(patient=patient_a).count() == NEW_THREADS_PER_DAY
    # and a day after the first, there is room again
    _question(patient_a, now + timedelta(hours=24, minutes=1))
    assert Thread.objects.filter(patient=patient_a).count() == NEW_THREADS_PER_DAY + 1


def test_a_severe_side_effect_asks_for_attention_like_a_check_in(patient_a, now,
                                                                django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks() as callbacks:
        thread = _question(patient_a, now, topic=Topic.SIDE_EFFECT, severity="severe",
                           body="My lips are swollen since this morning")
    # then: one attention request naming the message, dispatched after commit
    request = AttentionRequest.objects.get()
    assert request.kind == AttentionRequest.Kind.SEVERE_SIDE_EFFECT
    assert request.message_id == thread.messages.get().pk
    assert request.checkin_id is None
    assert callbacks
    # and a mild one asks for none
    _question(patient_a, now, topic=Topic.SIDE_EFFECT, severity="mild", body="A bit dry")
    assert AttentionRequest.objects.count() == 1


def test_the_clinic_writes_first_assigns_and_hands_to_the_dermatologist(patient_a, staff, derm,
                                                                       other_staff, now):
    # given
    thread = thread_start_from_clinic(patient=patient_a, by=staff, body="How is it going?",
                                      now=now)
    assert (thread.status, thread.assignee) == (Status.WAITING_ON_PATIENT, staff)
    # when / then: nobody of another clinic can be assigned
    with pytest.raises(MessageRefused):
        thread_assign(thread=thread, by=staff, assignee=other_staff, now=now)
    thread_hand_to_dermatologist(thread=thread, by=staff, now=now)
    thread.refresh_from_db()
    assert thread.assignee == patient_a.dermatologist
    assert thread.for_dermatologist
    assert [t.pk for t in selectors.inbox_for_clinician(derm, view="for_dermatologist")] == [
        thread.pk]
