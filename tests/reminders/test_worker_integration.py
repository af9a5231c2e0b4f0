"""Reminders through a real Celery worker on Redis: sent once, whatever goes wrong.

Each patient is due all day (reminder time 00:00, every weekday), so the tests do not depend on
the clock. Emails land as files in the worker's outbox; each is counted per recipient.
"""

import threading
import time
from collections import Counter
from datetime import time as clock
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from reminders import tasks
from reminders.models import Delivery, ReminderSettings
from tests.factories import patient_on_a_plan

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def due_all_day(derm, count):
    patients = []
    for _ in range(count):
        patient = patient_on_a_plan(derm, since=timezone.localdate() - timedelta(days=3))
        ReminderSettings.objects.create(patient=patient, local_time=clock(0, 0))
        patients.append(patient)
    return patients


def emails_by_recipient(outbox) -> Counter:
    recipients: Counter = Counter()
    for message in outbox.glob("*.log") if outbox.exists() else []:
        for line in message.read_text().splitlines():
            if line.startswith("To: "):
                recipients[line[4:].strip()] += 1
    return recipients


def wait_until_sent(count, worker, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Delivery.objects.filter(status="sent").count() >= count:
            return
        time.sleep(0.25)
    raise AssertionError(f"only {Delivery.objects.filter(status='sent').count()} of {count} sent"
                         f"\n{worker.log()}")


def assert_each_reminded_once(patients, worker):
    time.sleep(1)  # let any duplicate that is coming arrive
    sent = emails_by_recipient(worker.outbox)
    assert {p.user.email: sent[p.user.email] for p in patients} == {
        p.user.email: 1 for p in patients
    }
    assert Delivery.objects.count() == len(patients)


def test_dispatcher_to_worker_to_outbox(redis_broker_url, celery_worker_process, derm):
    patients = due_all_day(derm, 5)
    tasks.reminders_dispatch.delay()
    wait_until_sent(5, celery_worker_process)
    assert_each_reminded_once(patients, celery_worker_process)


def test_two_dispatchers_at_once_send_once(redis_broker_url, celery_worker_process, derm):
    patients = due_all_day(derm, 30)
    barrier = threading.Barrier(2)

    def dispatch():
        barrier.wait()
        tasks.reminders_dispatch()
        connection.close()

    runs = [threading.Thread(target=dispatch) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=60)
    wait_until_sent(30, celery_worker_process)
    assert_each_reminded_once(patients, celery_worker_process)


def test_worker_killed_mid_run_then_restarted_sends_each_once(
    redis_broker_url, celery_worker_process, derm, settings
):
    # given: 150 reminders queued, the worker killed with SIGKILL part-way through
    settings.REMINDER_STALE_CLAIM_SECONDS = 2
    patients = due_all_day(derm, 150)
    tasks.reminders_dispatch()
    deadline = time.monotonic() + 60
    while Delivery.objects.filter(status="sent").count() < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    celery_worker_process.kill()
    sent_before_kill = Delivery.objects.filter(status="sent").count()
    assert 0 < sent_before_kill < 150
    # when: a worker comes back and the next dispatcher run re-offers stale claims
    celery_worker_process.start(ALLIANCE_OUTBOX_DIR=str(celery_worker_process.outbox))
    time.sleep(3)
    tasks.reminders_dispatch()
    # then
    wait_until_sent(150, celery_worker_process)
    assert_each_reminded_once(patients, celery_worker_process)


def test_broker_down_during_dispatch_then_back_reminds_everyone_once(
    redis_broker_url, celery_worker_process, derm, settings, monkeypatch
):
    # given: the broker refuses every publish during the first dispatcher run
    from kombu.exceptions import OperationalError

    settings.REMINDER_STALE_CLAIM_SECONDS = 1
    patients = due_all_day(derm, 20)

    def refused(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as outage:
        outage.setattr(tasks.reminders_send_partition, "apply_async", refused)
        tasks.reminders_dispatch()
    assert Delivery.objects.filter(status="claimed").count() == 20
    # when: the broker is back and the dispatcher runs again (next minute)
    time.sleep(1.5)
    tasks.reminders_dispatch()
    # then
    wait_until_sent(20, celery_worker_process)
    assert_each_reminded_once(patients, celery_worker_process)
