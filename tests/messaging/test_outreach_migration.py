"""The data migration that turns outreach messages written before conversations existed into
conversations the patient can answer: once, in order, with the outreach's author and time."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from flags.models import Outreach
from messaging.models import Message, MessageNotice, Status, Thread, Topic
from messaging.notices import pending_notice_ids
from tests.factories import FlagFactory, PatientFactory

BEFORE = ("messaging", "0002_messages_append_only")
CONVERTING = ("messaging", "0003_outreach_messages_to_threads")


def _migrate(target: tuple[str, str] | None) -> None:
    """To ``target``, or with None back to the latest migration of every app."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target] if target else executor.loader.graph.leaf_nodes())


def _outreach(flag, by, at, message, **kwargs):
    values = {"channel": "message", "outcome": "sent"} | kwargs
    return Outreach.objects.create(flag=flag, patient=flag.patient, by=by, at=at,
                                   message_to_patient=message, **values)


@pytest.mark.django_db(transaction=True)
def test_outreach_messages_become_conversations_once_and_the_reverse_keeps_them(derm, staff,
                                                                                now):
    # given: outreach logged before conversations existed (two flags of two patients)
    _migrate(BEFORE)
    first_patient, second_patient = (PatientFactory(dermatologist=derm) for _ in range(2))
    flag = FlagFactory(patient=first_patient)
    other_flag = FlagFactory(patient=second_patient, rule="gone_quiet")
    earlier = now - timedelta(days=20)
    _outreach(flag, staff, earlier, "How is the gel going?")
    _outreach(flag, staff, earlier + timedelta(days=1), "", channel="call",
              outcome="no_answer")
    _outreach(flag, derm, earlier + timedelta(days=3), "Call us when you can.")
    _outreach(other_flag, staff, earlier + timedelta(days=5), "We miss your check-ins!")
    try:
        # when
        _migrate(CONVERTING)
        migration = importlib.import_module(
            "messaging.migrations.0003_outreach_messages_to_threads")
        # a second run, with the models as they were at that migration
        state = MigrationExecutor(connection).loader.project_state(CONVERTING)
        migration.outreach_to_threads(state.apps, None)
        # then: one conversation per flag, its messages the outreach's, in order
        # (later columns, e.g. ``private``, are not there yet at this migration)
        thread = Thread.objects.defer("private").get(patient=first_patient)
        assert (thread.topic, thread.status, thread.flag_id_started, thread.created_by) == (
            Topic.FROM_CLINIC, Status.WAITING_ON_PATIENT, flag.pk, staff)
        assert (thread.created_at, thread.last_message_at) == (
            earlier, earlier + timedelta(days=3))
        assert list(thread.messages.values_list("author", "from_clinic", "created_at",
                                                "body")) == [
            (staff.pk, True, earlier, "How is the gel going?"),
            (derm.pk, True, earlier + timedelta(days=3), "Call us when you can.")]
        other = Thread.objects.defer("private").get(patient=second_patient)
        assert list(other.messages.values_list("body", flat=True)) == ["We miss your check-ins!"]
        assert Message.objects.count() == 3  # idempotent: the second run added nothing
        # the patients saw these on the earlier page: no email goes out about old messages
        assert MessageNotice.objects.count() == 3
        assert pending_notice_ids(before=now) == []
        assert Outreach.objects.count() == 4  # the flags' record is kept
        # and when reversed: nothing is deleted (messages are history)
        _migrate(BEFORE)
        assert Message.objects.count() == 3
    finally:
        _migrate(None)
