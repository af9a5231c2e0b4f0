"""Sends in batches: each reminder still sent at most once, on its own, whatever goes wrong."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from checkins.models import CheckIn
from reminders import services, tasks
from reminders.channels import EmailChannel
from reminders.models import Delivery, ReminderSettings
from tests.factories import PatientFactory, backdated_revision, item_draft

pytestmark = pytest.mark.django_db

# 21:00 UTC on Wednesday 25 Nov 2026 is past the default 20:00 reminder time in London.
EVENING_IN_LONDON = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)


def due_in_london(derm, count):
    patients = []
    for _ in range(count):
        patient = PatientFactory(dermatologist=derm, timezone="Europe/London")
        backdated_revision(patient, author=derm, number=1,
                           effective_from=EVENING_IN_LONDON.date() - timedelta(days=10),
                           items=[item_draft(name="Emollient", time_of_day="both")])
        patients.append(patient)
    return patients


def claimed(derm, count):
    due_in_london(derm, count)
    return services.reminders_claim(now=EVENING_IN_LONDON)


def test_a_batch_sends_each_once_over_one_connection(derm, monkeypatch):
    # given
    ids = claimed(derm, 4)
    opened = []
    original = EmailChannel.connection

    def counting(self):
        opened.append(1)
        return original(self)

    monkeypatch.setattr(EmailChannel, "connection", counting)
    # when
    outcome = services.reminders_send_batch(delivery_ids=ids)
    again = services.reminders_send_batch(delivery_ids=ids)
    # then
    assert (outcome.sent, outcome.retry) == (4, [])
    assert again.statuses == {}
    assert len(mail.outbox) == 4
    assert len({m.to[0] for m in mail.outbox}) == 4
    assert opened == [1]  # the second batch had nothing left to send: no connection at all
    assert set(Delivery.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_batch_reads_are_constant_and_each_send_is_one_statement(derm):
    ids = claimed(derm, 6)
    with CaptureQueriesContext(connection) as captured:
        assert services.reminders_send_batch(delivery_ids=ids).sent == 6
    data = [q["sql"] for q in captured.captured_queries
            if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"))]
    # deliveries, revisions, items for the whole batch; then one UPDATE per reminder
    assert len(data) == 3 + 6
    assert sum(sql.lstrip().upper().startswith("UPDATE") for sql in data) == 6


def test_transient_failure_hands_the_rest_back_to_retry_one_by_one(derm, monkeypatch):
    # given: the SMTP server goes away after two messages
    ids = claimed(derm, 5)
    original = EmailChannel.send

    def flaky(self, message, connection=None):
        if len(mail.outbox) == 2:
            raise ConnectionError("SMTP went away")
        original(self, message, connection)

    monkeypatch.setattr(EmailChannel, "send", flaky)
    queued = []
    monkeypatch.setattr(tasks.reminder_send, "apply_async",
                        lambda args, **options: queued.append((args[0], options)))
    # when
    assert tasks.reminders_send_batch.run(ids) == 2
    # then: two sent, the third rolled back with its error, the rest untouched
    rows = dict(Delivery.objects.values_list("pk", "status"))
    assert [rows[pk] for pk in ids] == ["sent", "sent", "claimed", "claimed", "claimed"]
    assert Delivery.objects.get(pk=ids[2]).error == "ConnectionError"
    assert [pk for pk, _ in queued] == ids[2:]
    assert queued[0][1] == {"countdown": 10, "retries": 1}
    assert {options["retries"] for _, options in queued[1:]} == {0}


def test_a_bug_in_one_send_does_not_hold_back_the_others(derm, monkeypatch):
    ids = claimed(derm, 3)
    original = services.reminder_message

    def broken_for_the_first(delivery, step_names):
        if delivery.pk == ids[0]:
            raise ValueError("bug")
        return original(delivery, step_names)

    monkeypatch.setattr(services, "reminder_message", broken_for_the_first)
    outcome = services.reminders_send_batch(delivery_ids=ids)
    assert outcome.sent == 2
    assert Delivery.objects.get(pk=ids[0]).status == "claimed"  # offered again when stale


def test_changes_since_the_batch_was_read_are_honoured(derm, monkeypatch):
    # given: between the batch's reads and the sends, one patient checks in, one turns off
    ids = claimed(derm, 3)
    first, second, _ = (Delivery.objects.get(pk=pk).patient for pk in ids)
    original = services._claimed

    def then_things_change(delivery_ids):
        deliveries = original(delivery_ids)
        CheckIn.objects.create(patient=first, local_date=EVENING_IN_LONDON.date(),
                               revision=first.care_plan.revisions.get(), steps_due=2,
                               steps_done=2)
        ReminderSettings.objects.create(patient=second, enabled=False)
        return deliveries

    monkeypatch.setattr(services, "_claimed", then_things_change)
    # when
    outcome = services.reminders_send_batch(delivery_ids=ids)
    # then
    assert outcome.sent == 1
    assert [Delivery.objects.get(pk=pk).skip_reason for pk in ids] == [
        "checked_in", "turned_off", ""
    ]


def test_nothing_due_that_day_is_skipped(derm):
    patient = PatientFactory(dermatologist=derm, timezone="Europe/London")
    backdated_revision(patient, author=derm, number=1,
                       effective_from=EVENING_IN_LONDON.date() - timedelta(days=10),
                       items=[item_draft(frequency="weekdays", weekdays="0")])  # Mondays only
    (delivery_id,) = services.reminders_claim(now=EVENING_IN_LONDON)  # a Wednesday
    assert services.reminder_send(delivery_id=delivery_id) == "skipped"
    assert Delivery.objects.get().skip_reason == "nothing_due"
    assert not mail.outbox


def test_dispatcher_enqueues_batches_of_batch_size(derm, monkeypatch, settings):
    due_in_london(derm, 5)
    settings.REMINDER_SEND_BATCH_SIZE = 2
    monkeypatch.setattr(tasks.timezone, "now", lambda: EVENING_IN_LONDON)
    sent = []
    monkeypatch.setattr(tasks.reminders_send_batch, "apply_async",
                        lambda args, **options: sent.append(args[0]))
    assert tasks.reminders_dispatch() == 5
    assert [len(batch) for batch in sent] == [2, 2, 1]
    assert sorted(pk for batch in sent for pk in batch) == sorted(
        Delivery.objects.values_list("pk", flat=True))


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
            results.append(services.reminder_send(delivery_id=delivery_id))
        except BaseException as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(results) == ["nothing to do", "sent"]
    assert len(mail.outbox) == 1


def test_a_batch_out_of_time_hands_the_rest_on_as_a_new_batch(derm, monkeypatch):
    ids = claimed(derm, 3)
    monkeypatch.setattr(tasks, "BATCH_BUDGET_SECONDS", 0)
    queued = []
    monkeypatch.setattr(tasks.reminders_send_batch, "apply_async",
                        lambda args, **options: queued.append(args[0]))
    assert tasks.reminders_send_batch.run(ids) == 1  # at least one send per batch
    assert queued == [ids[1:]]
    assert list(Delivery.objects.filter(status="claimed").values_list("pk", flat=True)
                .order_by("pk")) == ids[1:]
