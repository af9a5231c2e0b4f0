"""Fault drills: real PostgreSQL, a private Redis, gunicorn, celery worker and beat processes.

Each drill prints one line of figures; they are collected into a "drill figures" section at the
end of the run so the CI log shows them without ``-s``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Clinic, Patient
from demo.seed import seed_demo
from tests.conftest import PROJECT_DIR, service_unavailable
from tests.drills._outcomes import remind_all_day
from tests.drills._servers import CeleryProcess, Gunicorn, RedisServer, service_env

FIGURES = pytest.StashKey[list[str]]()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    lines = config.stash.get(FIGURES, [])
    if lines:
        terminalreporter.section("drill figures")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def figures(request):
    """``figures("broker outage: ...")`` prints the drill's line and keeps it for the summary."""

    def report(line: str) -> None:
        print(line)
        request.config.stash.setdefault(FIGURES, []).append(line)

    return report


@pytest.fixture(scope="session")
def static_dir(tmp_path_factory) -> Path:
    """A data directory with collected static files: with DEBUG off, pages need the manifest."""
    data_dir = tmp_path_factory.mktemp("drills-data")
    env = {**os.environ, "ALLIANCE_DATA_DIR": str(data_dir),
           "DJANGO_DEBUG": "false"}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
                   cwd=PROJECT_DIR, env=env, check=True, timeout=300)
    return data_dir


@pytest.fixture
def services_required(transactional_db) -> None:
    if connection.vendor != "postgresql":
        service_unavailable("the drills need PostgreSQL (DATABASE_URL)")
    if not shutil.which("redis-server"):
        service_unavailable("the drills need the redis-server binary for a private Redis")


@pytest.fixture
def private_redis(services_required, tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


class Stack:
    """The drill's processes; everything started is stopped at the end of the test, before
    pytest-django empties the database."""

    def __init__(self, tmp_path: Path, data_dir: Path, redis_server: RedisServer) -> None:
        self.tmp_path, self.data_dir, self.redis = tmp_path, data_dir, redis_server
        self.outbox = tmp_path / "outbox"
        self.started: list[Gunicorn | CeleryProcess] = []

    def env(self, **extra: str) -> dict[str, str]:
        return service_env(self.data_dir, self.redis, ALLIANCE_OUTBOX_DIR=str(self.outbox),
                           **extra)

    def web(self, workers: int = 2, **extra: str) -> Gunicorn:
        server = Gunicorn(self.env(**extra), self.tmp_path / "gunicorn.log", workers)
        self.started.append(server)
        return server

    def worker(self, name: str = "worker", pool: str = "solo", **extra: str) -> CeleryProcess:
        worker = CeleryProcess.worker(name, self.env(**extra), self.tmp_path, pool)
        self.started.append(worker)
        worker.start()
        return worker

    def beats(self, *names: str, **extra: str) -> list[CeleryProcess]:
        """Beat processes launched together, so that their schedules tick together."""
        beats = [CeleryProcess.beat(name, self.env(**extra), self.tmp_path) for name in names]
        self.started += beats
        for beat in beats:
            beat.launch()
        for beat in beats:
            beat.wait_ready()
        return beats

    def stop(self) -> None:
        for process in reversed(self.started):
            process.stop()


@pytest.fixture
def stack(private_redis, static_dir, tmp_path):
    processes = Stack(tmp_path, static_dir, private_redis)
    yield processes
    processes.stop()


@pytest.fixture
def cohort(services_required):
    """``cohort(n)``: the demo clinic with n patients, their plans and ``days`` of history (flags
    not raised yet), every patient reminded all day. Returns the clinic."""

    def seed(patients: int, days: int = 60) -> Clinic:
        # The stack's processes run on the real clock, so the history ends at its now.
        clinic = seed_demo(patients=patients, days=days, flags=False, now=timezone.now()).clinic
        remind_all_day(list(Patient.objects.filter(clinic=clinic)))
        return clinic

    return seed
