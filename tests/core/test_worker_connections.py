"""A worker keeps its database connection between tasks, as a web process does between requests
with CONN_MAX_AGE: Celery's Django fix-up would otherwise close it around every task, and a new
PostgreSQL connection per reminder cost more than sending it."""

import time
from types import SimpleNamespace

import pytest
from celery import signals
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from alliance_portal.celery import app

pytestmark = pytest.mark.django_db(transaction=True)  # autocommit, as in a worker


class Task:
    def __init__(self, *, eager):
        self.request = SimpleNamespace(is_eager=eager)


def a_task(*, eager=False):
    return Task(eager=eager)


def task_ends(task):
    for signal in (signals.task_prerun, signals.task_postrun):
        signal.send(sender=task, task_id="t", task=task, args=(), kwargs={})


@pytest.fixture
def worker_connection(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    connection.ensure_connection()  # close_at is set when it connects
    return connection.connection


def test_celerys_fix_up_leaves_the_connection_open_between_tasks(worker_connection):
    # given: the fix-up a worker installs, with our settings
    fixup = DjangoWorkerFixup(app)
    # when: many tasks run
    for _ in range(50):
        fixup.on_task_prerun(sender=a_task())
        fixup.on_task_postrun(sender=a_task())
    # then
    assert connection.connection is worker_connection


def test_a_young_connection_is_kept_and_used_again(worker_connection):
    # when
    task_ends(a_task())
    # then
    assert connection.connection is worker_connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def test_an_old_connection_is_closed_before_the_next_task(worker_connection):
    # given: older than CONN_MAX_AGE
    connection.close_at = time.monotonic() - 1
    # when
    task_ends(a_task())
    # then
    assert connection.connection is None


def test_a_broken_connection_is_closed_before_the_next_task(worker_connection, monkeypatch):
    # given: a query failed and the server is gone (database restart)
    connection.errors_occurred = True
    monkeypatch.setattr(connection, "is_usable", lambda: False)
    # when
    task_ends(a_task())
    # then
    assert connection.connection is None


def test_an_eager_task_leaves_the_callers_connection_alone(worker_connection):
    # given: old, but the task runs inside the caller (tests, eager mode)
    connection.close_at = time.monotonic() - 1
    # when
    task_ends(a_task(eager=True))
    # then
    assert connection.connection is worker_connection
