"""Send tasks in partitions of claims: each reminder sent at most once, whatever goes wrong."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from kombu.exceptions import OperationalError

from checkins.models import CheckIn
from reminders import channels, services, tasks
from reminders.models import Delivery, ReminderSettings
from tests.factories import patient_on_a_plan

pytestmark = pytest.mark.django_db

# 21:00 UTC on Wednesday 25 Nov 2026 is past the default 20:00 reminder time in London.
EVENING_IN_LONDON = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)


def due_in_london(derm, count):
    since = EVENING_IN_LONDON.date() - timedelta(days=10)
    return [patient_on_a_plan(derm, since=since) for _ in range(count)]


def claimed(derm, count):
    due_in_london(derm, count)
    return services.reminders_claim(now=EVENING_IN_LONDON)


def data_statements(captured):
    return [q["sql"] for q in captured.captured_queries
            if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"))]


@time_machine.travel(EVENING_IN_LONDON, tick=False)
def test_dispatcher_enqueues_partitions_of_claim_ids(derm, monkeypatch):
    # given: five due patients, partitions of two
    due_in_london(derm, 5)
    monkeypatch.setattr(tasks, "PARTITION_SIZE", 2)
    published = []
    monkeypatch.setattr(tasks.reminders_send_partition, "apply_async",
                        lambda args, **options: published.append(args))
    # when
    assert tasks.reminders_dispatch() == 5
    # then: three messages carrying only delivery ids, each claim in exactly one
    ids = list(Delivery.objects.order_by("pk").values_list("pk", flat=True))
    assert published == [(ids[0:2],), (ids[2:4],), (ids[4:],)]
    assert all(type(pk) is int for (part,) in published for pk in part)


@time_machine.travel(EVENING_IN_LONDON, tick=False)
def test_broker_refusing_stops_the_dispatcher_and_keeps_every_claim(derm, monkeypatch, caplog):
    # given: partitions of two; the broker accepts one message, then goes away
    due_in_london(derm, 5)
    monkeypatch.setattr(tasks, "PARTITION_SIZE", 2)
    attempts = []

    def flaky(args, **options):
        attempts.append(args)
        if len(attempts) > 1:
            raise OperationalError("Connection refused.")

    monkeypatch.setattr(tasks.reminders_send_partition, "apply_async", flaky)
    # when
    assert tasks.reminders_dispatch() == 5
    # then: no retry per partition against a dead broker; all five wait in the database
    assert len(attempts) == 2
    assert Delivery.objects.filter(status="claimed").count() == 5
    assert "Enqueued 2 of 5 reminders" in caplog.text


def test_a_send_is_five_statements_and_a_second_send_does_nothing(derm):
    # given
    (delivery_id,) = claimed(derm, 1)
    # when
    with CaptureQueriesContext(connection) as captured:
        first = services.reminder_send(delivery_id=delivery_id, now=EVENING_IN_LONDON)
    with CaptureQueriesContext(connection) as again:
        second = services.reminder_send(delivery_id=delivery_id, now=EVENING_IN_LONDON)
    # then: the claimed read, revisions, items, the conditional UPDATE, the unsubscribe link's
    # INSERT; then one read only
    assert (first, second) == ("sent", "nothing to do")
    statements = data_statements(captured)
    assert len(statements) == 5
    assert statements[-2].lstrip().upper().startswith("UPDATE")
    assert statements[-1].lstrip().upper().startswith("INSERT")
    assert len(data_statements(again)) == 1
    assert len(mail.outbox) == 1
    assert Delivery.objects.get().attempts == 1


def test_the_claimed_read_is_the_orm_query_compiled_once():
    # given / when
    sql = services._claimed_sql(connection.vendor)
    # then: the same text as the ORM builds, and built once per database vendor
    assert sql == services._claimed_query(0).query.sql_with_params()[0]
    assert services._claimed_sql(connection.vendor) is sql
    assert services._claimed(-1) is None


def test_the_message_names_the_patient_and_their_clinician(derm):
    # given
    derm.first_name, derm.last_name = "Maya", "Okafor"
    derm.save(update_fields=["first_name", "last_name"])
    (patient,) = due_in_london(derm, 1)
    patient.user.first_name = "Aisha"
    patient.user.save(update_fields=["first_name"])
    (delivery_id,) = services.reminders_claim(now=EVENING_IN_LONDON)
    # when
    services.reminder_send(delivery_id=delivery_id, now=EVENING_IN_LONDON)
    # then
    (email,) = mail.outbox
    assert email.body.startswith("Hello Aisha,")
    assert "tell Maya Okafor how it went" in email.body
    assert "1 step to log" in email.body


def test_a_transient_failure_rolls_the_mark_back_and_drops_the_connection(derm, monkeypatch):
    # given: the SMTP session breaks on the second message
    first, second = claimed(derm, 2)
    services.reminder_send(delivery_id=first, now=EVENING_IN_LONDON)
    opened_before = channels.EMAIL._local.backend
    original = channels.EmailMessage.send

    def broken(self, fail_silently=False):
        raise ConnectionError("SMTP went away")

    monkeypatch.setattr(channels.EmailMessage, "send", broken)
    # when
    with pytest.raises(ConnectionError):
        services.reminder_send(delivery_id=second, now=EVENING_IN_LONDON)
    # then: still claimed (the task retries it), and the next send opens a new session
    assert Delivery.objects.get(pk=second).status == "claimed"
    assert channels.EMAIL._local.backend is None
    monkeypatch.setattr(channels.EmailMessage, "send", original)
    assert services.reminder_send(delivery_id=second, now=EVENING_IN_LONDON) == "sent"
    assert channels.EMAIL._local.backend is not opened_before
    assert len(mail.outbox) == 2


def test_the_session_is_kept_between_sends_and_reopened_when_idle(derm, monkeypatch):
    # given
    first, second, third = claimed(derm, 3)
    clock = [1000.0]
    monkeypatch.setattr(channels.time, "monotonic", lambda: clock[0])
    channels.EMAIL.close()
    # when / then: two sends in a row share one backend
    services.reminder_send(delivery_id=first, now=EVENING_IN_LONDON)
    kept = channels.EMAIL._local.backend
    services.reminder_send(delivery_id=second, now=EVENING_IN_LONDON)
    assert channels.EMAIL._local.backend is kept
    # when / then: idle past the limit, a new one is opened
    clock[0] += channels.KEEP_OPEN_SECONDS + 1
    services.reminder_send(delivery_id=third, now=EVENING_IN_LONDON)
    assert channels.EMAIL._local.backend is not kept
    assert len(mail.outbox) == 3


def test_changes_since_the_read_are_honoured(derm, monkeypatch):
    # given: between the read and the send, one patient checks in, one turns reminders off
    ids = claimed(derm, 3)
    first, second, _ = (Delivery.objects.get(pk=pk).patient for pk in ids)
    original = services._claimed
    changes = {ids[0]: lambda: CheckIn.objects.create(
                   patient=first, local_date=EVENING_IN_LONDON.date(),
                   revision=first.care_plan.revisions.get(), steps_due=2, steps_done=2),
               ids[1]: lambda: ReminderSettings.objects.create(patient=second, enabled=False)}

    def then_things_change(delivery_id):
        reminder = original(delivery_id)
        changes.get(delivery_id, lambda: None)()
        return reminder

    monkeypatch.setattr(services, "_claimed", then_things_change)
    # when
    outcomes = [services.reminder_send(delivery_id=pk, now=EVENING_IN_LONDON) for pk in ids]
    # then
    assert outcomes == ["skipped", "skipped", "sent"]
    assert [Delivery.objects.get(pk=pk).skip_reason for pk in ids] == [
        "checked_in", "turned_off", ""
    ]
    assert len(mail.outbox) == 1


def test_nothing_due_that_day_is_skipped(derm):
    patient_on_a_plan(derm, since=EVENING_IN_LONDON.date() - timedelta(days=10),
                      frequency="weekdays", weekdays="0")  # Mondays only
    (delivery_id,) = services.reminders_claim(now=EVENING_IN_LONDON)  # a Wednesday
    assert services.reminder_send(delivery_id=delivery_id, now=EVENING_IN_LONDON) == "skipped"
    assert Delivery.objects.get().skip_reason == "nothing_due"
    assert not mail.outbox


def test_mark_sent_sql_names_the_real_tables():
    for model in (Delivery, CheckIn, ReminderSettings):
        assert f" {model._meta.db_table} " in services.MARK_SENT_SQL


@pytest.mark.django_db(transaction=True)
def test_two_sends_of_one_delivery_at_once_send_one_email(derm):
    (delivery_id,) = claimed(derm, 1)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def send():
        try:
            barrier.wait()
            results.append(services.reminder_send(delivery_id=delivery_id, now=EVENING_IN_LONDON))
        except BaseException as error:  # collected and asserted below
            errors.append(error)
        finally:
            channels.EMAIL.close()
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(results) == ["nothing to do", "sent"]
    assert len(mail.outbox) == 1
