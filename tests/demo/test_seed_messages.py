"""seed_demo gives the clinic inbox conversations in each state, the patient's side of them,
and the clinic's reply templates: in the past, once (issue 19)."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Patient
from checkins.models import AttentionRequest
from flags.models import Flag, Outreach, Rule
from messaging.models import Message, MessageNotice, ReplyTemplate, Status, Thread, Topic
from messaging.notices import pending_notice_ids

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", patients=8, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def demo(now) -> str:
    return _seed()


def _threads_of(email: str):
    return Thread.objects.filter(patient=Patient.objects.get(user__email=email))


def test_the_inbox_has_conversations_in_every_state(demo, now):
    # then: a question waiting for the clinic, unassigned, and one assigned to staff
    waiting = _threads_of("patient00002@demo.test").get()
    assert (waiting.status, waiting.assignee, waiting.waiting_since is not None) == (
        Status.OPEN, None, True)
    assigned = _threads_of("patient00003@demo.test").get()
    assert assigned.assignee.email == "staff@demo.test"
    assert assigned.waiting_since is not None
    # one answered and waiting on the patient, mentioning a step of their plan
    mine = _threads_of("patient@demo.test")
    answered = mine.get(topic=Topic.PLAN)
    assert answered.status == Status.WAITING_ON_PATIENT
    first, answer = answered.messages.all()
    assert first.plan_item_name
    assert first.plan_item_key
    assert answer.from_clinic
    # one with a diary photo, handed to the dermatologist
    handed = mine.get(topic=Topic.SIDE_EFFECT)
    assert handed.for_dermatologist
    assert handed.assignee == handed.patient.dermatologist
    assert handed.messages.get().photo.patient == handed.patient
    # one closed after the answer
    closed = _threads_of("patient00005@demo.test").get()
    assert (closed.status, closed.closed_at is not None) == (Status.CLOSED, True)
    assert closed.messages.count() == 4


def test_a_severe_message_has_its_flag(demo):
    # given
    severe = _threads_of("patient00004@demo.test").get()
    message = severe.messages.get()
    # then
    assert severe.severity == "severe"
    assert AttentionRequest.objects.get(message_id=message.pk).processed_at is not None
    flag = Flag.objects.get(patient=severe.patient, rule=Rule.SEVERE_SIDE_EFFECT)
    assert flag.evidence["message_ids"] == [message.pk]


def test_an_outreach_from_a_flag_was_answered_by_the_patient(demo):
    # given
    thread = Thread.objects.get(flag_id_started__isnull=False)
    flag = Flag.objects.get(pk=thread.flag_id_started)
    # then: the flag keeps its record, the patient's answer waits for the clinic
    outreach = Outreach.objects.get(flag=flag)
    outreach_message, answer = thread.messages.all()
    assert outreach_message.body == outreach.message_to_patient
    assert (outreach_message.from_clinic, answer.from_clinic) == (True, False)
    assert answer.author == thread.patient.user
    assert (thread.status, thread.waiting_since) == (Status.OPEN, answer.created_at)


def test_everything_is_in_the_past_and_no_email_goes_out_about_it(demo, now):
    # then
    assert not Message.objects.filter(created_at__gt=now).exists()
    assert not Thread.objects.filter(last_message_at__gt=now).exists()
    clinic_messages = Message.objects.filter(from_clinic=True).count()
    assert MessageNotice.objects.count() == clinic_messages > 0
    assert pending_notice_ids(before=now) == []


def test_the_clinic_has_its_reply_templates_and_the_output_counts_conversations(demo):
    # then
    assert set(ReplyTemplate.objects.values_list("title", flat=True)) == {
        "How to apply a retinoid", "Dry skin at the start", "Prescription refills"}
    count = Thread.objects.count()
    assert count == 7
    assert re.search(rf"\b{count} new conversations and 3 new reply templates\b", demo)


def test_seeding_again_adds_no_conversation(demo):
    # given
    before = (Thread.objects.count(), Message.objects.count(), ReplyTemplate.objects.count(),
              Outreach.objects.count(), Flag.objects.count())
    # when
    output = _seed()
    # then
    assert (Thread.objects.count(), Message.objects.count(), ReplyTemplate.objects.count(),
            Outreach.objects.count(), Flag.objects.count()) == before
    assert "0 new conversations and 0 new reply templates" in output
