"""An outreach message becomes a conversation the patient can answer (issue 19): the first
message of a thread the flag starts, or the next one in it while it is open; the Outreach row
stays the flag's record."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest

from flags.models import Outreach
from flags.services import flag_resolve, outreach_log
from messaging import selectors as messaging_selectors
from messaging.models import Message, Status, Thread, Topic
from messaging.services import message_post, thread_set_status
from tests.flags.test_lifecycle import finding_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def flag(patient_a, now):
    from flags.models import Flag
    from flags.services import flags_apply

    flags_apply(findings=[finding_for(patient_a)], patient_ids=[patient_a.pk], now=now)
    return Flag.objects.get()


def _reach_out(flag, staff, now, message="How are you getting on with the gel?", **kwargs):
    values = {"channel": Outreach.Channel.MESSAGE, "outcome": Outreach.Outcome.SENT} | kwargs
    return outreach_log(flag=flag, actor=staff, now=now, message_to_patient=message, **values)


def test_an_outreach_message_starts_a_conversation_the_patient_can_answer(
        flag, staff, patient_a, now, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks() as callbacks:
        outreach = _reach_out(flag, staff, now)
    # then: the outreach is the flag's record; the message opens a clinic-started thread
    assert Outreach.objects.get() == outreach
    thread = Thread.objects.get()
    assert (thread.patient, thread.topic, thread.status, thread.flag_id_started) == (
        patient_a, Topic.FROM_CLINIC, Status.WAITING_ON_PATIENT, flag.pk)
    message = thread.messages.get()
    assert (message.author, message.from_clinic, message.created_at, message.body) == (
        staff, True, now, "How are you getting on with the gel?")
    assert callbacks  # the patient is told there is a message (the email says only that)
    assert messaging_selectors.unread_count_for_patient(patient_a) == 1
    # when: the patient answers
    message_post(thread=thread, by=patient_a.user, from_clinic=False, body="Better, thanks",
                 now=now + timedelta(hours=3))
    # then: the clinic owes an answer
    thread.refresh_from_db()
    assert (thread.status, thread.waiting_since) == (Status.OPEN, now + timedelta(hours=3))


def test_a_second_outreach_while_the_conversation_is_open_adds_to_it(flag, staff, now):
    # given
    _reach_out(flag, staff, now)
    # when
    _reach_out(flag, staff, now + timedelta(days=2), message="Just checking in again.",
               channel=Outreach.Channel.CALL, outcome=Outreach.Outcome.NO_ANSWER)
    # then
    thread = Thread.objects.get()
    assert list(thread.messages.values_list("body", flat=True)) == [
        "How are you getting on with the gel?", "Just checking in again."]
    assert thread.last_message_at == now + timedelta(days=2)
    assert Outreach.objects.count() == 2


def test_after_the_conversation_is_closed_an_outreach_starts_a_new_one(flag, staff, now):
    # given
    _reach_out(flag, staff, now)
    thread_set_status(thread=Thread.objects.get(), by=staff, status=Status.CLOSED,
                      now=now + timedelta(days=1))
    # when
    _reach_out(flag, staff, now + timedelta(days=2), message="Checking in after a week.")
    # then
    assert Thread.objects.filter(flag_id_started=flag.pk).count() == 2
    assert Thread.objects.filter(status=Status.CLOSED).count() == 1


def test_an_outreach_without_a_message_writes_no_conversation(flag, staff, now):
    # when
    _reach_out(flag, staff, now, message="", channel=Outreach.Channel.CALL,
               outcome=Outreach.Outcome.NO_ANSWER)
    # then
    assert Outreach.objects.count() == 1
    assert not Thread.objects.exists()
    assert not Message.objects.exists()


def test_a_refused_outreach_saves_neither_the_outreach_nor_a_conversation(flag, staff, now):
    # given: the flag was resolved in another tab
    flag_resolve(flag=flag, actor=staff, resolution="supported", now=now)
    # when / then
    from flags.services import FlagStateError

    with pytest.raises(FlagStateError):
        _reach_out(flag, staff, now + timedelta(minutes=1))
    assert not Outreach.objects.exists()
    assert not Thread.objects.exists()


def test_the_flag_page_lists_the_conversation_its_outreach_started(client, flag, staff, now):
    # given
    from django.urls import NoReverseMatch, reverse

    _reach_out(flag, staff, now)
    thread = Thread.objects.get()
    client.force_login(staff)
    # when
    page = client.get(reverse("flag_detail", args=[flag.pk])).content.decode()
    # then
    assert "Conversations with the patient" in page
    assert "Started by an outreach message; latest message" in page
    assert "(Waiting on the patient)" in page
    with contextlib.suppress(NoReverseMatch):  # the clinic inbox lands from its own branch
        assert f'href="{reverse("clinic_thread", args=[thread.pk])}"' in page
