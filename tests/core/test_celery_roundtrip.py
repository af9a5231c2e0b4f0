"""A real worker process takes a task from the real broker and writes to the database."""

import time
import uuid

import pytest
from django.core.management import call_command

from core.models import Heartbeat
from core.tasks import heartbeat_record

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _wait_for(key: str, timeout: float = 30) -> Heartbeat | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = Heartbeat.objects.filter(key=key).first()
        if found:
            return found
        time.sleep(0.2)
    return None


def test_task_round_trips_through_redis_and_a_real_worker(redis_broker_url, celery_worker_process):
    # given
    key = f"test:{uuid.uuid4().hex}"
    # when
    heartbeat_record.delay_on_commit(key)
    # then
    assert _wait_for(key), celery_worker_process.log()


def test_duplicate_delivery_changes_nothing(redis_broker_url, celery_worker_process):
    # given: the same task sent twice, as a duplicate beat or a redelivery would
    key = f"dup:{uuid.uuid4().hex}"
    heartbeat_record.delay(key)
    heartbeat_record.delay(key)
    # then: one row
    assert _wait_for(key), celery_worker_process.log()
    time.sleep(1)
    assert Heartbeat.objects.filter(key=key).count() == 1


def test_celery_ping_command_reports_the_round_trip(redis_broker_url, celery_worker_process,
                                                    capsys):
    call_command("celery_ping", timeout=30)
    assert "round-trip OK" in capsys.readouterr().out
