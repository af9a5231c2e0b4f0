"""Send partitions: the dispatcher's claims in groups that worker processes share; a reminder is
sent at most once whether partitions overlap, run at once, or are retried or redelivered."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import time_machine
from django.core import mail
from django.db import connection

from reminders import channels, services, tasks
from reminders.models import Delivery
from tests.reminders.test_send import EVENING_IN_LONDON, claimed, due_in_london

pytestmark = pytest.mark.django_db


def recipients() -> Counter:
    return Counter(address for message in mail.outbox for address in message.to)


@time_machine.travel(EVENING_IN_LONDON, tick=False)
def test_overlapping_partitions_send_each_reminder_once(derm):
    # given: six claims in two partitions that share two
    ids = claimed(derm, 6)
    # when
    first = tasks.reminders_send_partition.run(ids[:4])
    second = tasks.reminders_send_partition.run(ids[2:])
    # then: six emails, one per patient
    assert first == {"sent": 4}
    assert second == {"sent": 2, "nothing to do": 2}
    assert sorted(recipients().values()) == [1] * 6
    assert Counter(Delivery.objects.values_list("status", flat=True)) == {"sent": 6}


@time_machine.travel(EVENING_IN_LONDON, tick=False)
def test_a_retried_partition_sends_nothing_again(derm):
    # given: a partition that ran
    ids = claimed(derm, 3)
    tasks.reminders_send_partition.apply(args=(ids,)).get()
    # when: its message is delivered again (a retry, a redelivery after a lost ack)
    again = tasks.reminders_send_partition.apply(args=(ids,)).get()
    # then
    assert again == {"nothing to do": 3}
    assert len(mail.outbox) == 3
    assert Delivery.objects.filter(attempts=1).count() == 3


@time_machine.travel(EVENING_IN_LONDON, tick=False)
def test_the_dispatcher_shares_its_claims_among_partitions(derm, monkeypatch):
    # given: 7 due patients, partitions of 3, partitions run as workers would take them
    due_in_london(derm, 7)
    monkeypatch.setattr(tasks, "PARTITION_SIZE", 3)
    published = []
    monkeypatch.setattr(tasks.reminders_send_partition, "apply_async",
                        lambda args, **options: published.append(args))
    # when
    assert tasks.reminders_dispatch() == 7
    outcomes = [tasks.reminders_send_partition.run(*args) for args in published]
    # then: three partitions, each claim in one of them, everyone reminded once
    assert [len(part) for (part,) in published] == [3, 3, 1]
    assert sorted(pk for (part,) in published for pk in part) == sorted(
        Delivery.objects.values_list("pk", flat=True))
    assert sum(o["sent"] for o in outcomes) == 7
    assert sorted(recipients().values()) == [1] * 7


def test_a_transient_failure_hands_that_reminder_to_its_own_retries(derm, monkeypatch):
    # given: the channel fails for the second reminder of a partition
    ids = claimed(derm, 3)
    failing = Delivery.objects.get(pk=ids[1]).patient.user.email
    original = channels.EmailChannel.send

    def smtp_down_for_one(self, message):
        if message.to == failing:
            raise ConnectionError("SMTP unreachable")
        return original(self, message)

    monkeypatch.setattr(channels.EmailChannel, "send", smtp_down_for_one)
    retried = []
    monkeypatch.setattr(tasks.reminder_send, "apply_async",
                        lambda args, **options: retried.append((args, options)))
    # when
    with time_machine.travel(EVENING_IN_LONDON, tick=False):
        outcomes = tasks.reminders_send_partition.run(ids)
    # then: the others sent; that one still claimed, its error type kept, queued as a retry
    assert outcomes == {"sent": 2, "retrying": 1}
    assert retried == [((ids[1],), {"countdown": 10, "retries": 1})]
    delivery = Delivery.objects.get(pk=ids[1])
    assert (delivery.status, delivery.error) == ("claimed", "ConnectionError")
    assert len(mail.outbox) == 2


def test_a_partition_reads_its_claims_in_fixed_queries(derm, django_assert_max_num_queries):
    # given
    ids = claimed(derm, 8)
    # when / then: the claims, their plan revisions, their steps, whatever their number
    with django_assert_max_num_queries(3):
        ready = services.reminders_claimed(delivery_ids=ids)
    assert [reminder.pk for reminder, _ in ready] == sorted(ids)
    assert all(names == ["Emollient"] for _, names in ready)


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_partitions_at_once_send_each_reminder_once(derm):
    # given: two workers take partitions that share every claim
    ids = claimed(derm, 6)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run(part):
        try:
            barrier.wait()
            results.append(tasks.reminders_send_partition.run(part))
        except BaseException as error:  # collected and asserted below
            errors.append(error)
        finally:
            channels.EMAIL.close()
            connection.close()

    threads = [threading.Thread(target=run, args=(part,)) for part in (ids, ids[::-1])]
    with time_machine.travel(EVENING_IN_LONDON, tick=False):  # the clock of both threads
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    # then
    assert errors == []
    assert sum(r.get("sent", 0) for r in results) == 6
    assert sorted(recipients().values()) == [1] * 6
