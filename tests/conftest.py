"""Shared fixtures: roles in two clinics, service requirements, a real Celery worker process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.utils import translation

from core.history import HISTORY_TRUNCATE_SETTING
from tests.factories import ClinicFactory, DermatologistFactory, PatientFactory, StaffFactory

PROJECT_DIR = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
# Midday UTC on Wednesday 25 Nov 2026, a Wednesday in London (the factories' zone) too.
FIXED_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _english_between_tests():
    """Each test starts in English: a request in another language leaves it active in the test
    thread (Django's locale middleware, as a worker thread would), and words computed outside
    a request (flag titles, dates) would follow the previous test."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _photo_storage_per_test(settings, tmp_path):
    """Each test's photos in its own folder (the data folder's is the demo's)."""
    settings.STORAGES = {**settings.STORAGES, "photos": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "photos"), "base_url": None}}}


@pytest.fixture(autouse=True)
def _built_in_body_areas(request):
    """A transactional test's flush empties the rows data migrations added, for every test after
    it too: the photo diary's built-in body areas are put back for each test using the database."""
    uses_database = request.node.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db", "live_server"} & set(request.fixturenames))
    if uses_database:
        from photos.models import BUILT_IN_AREAS, BodyArea
        from photos.services import body_areas_built_in_ensure

        if BodyArea.objects.filter(clinic=None).count() < len(BUILT_IN_AREAS):
            body_areas_built_in_ensure()


def pytest_configure(config: pytest.Config) -> None:
    # Production serves collected, hashed files; tests serve the sources without collectstatic.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    # Hashing strength is not under test; PBKDF2 would spend minutes on factory users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The test client and the live server speak plain HTTP (tests/security asks for HTTPS).
    settings.SECURE_SSL_REDIRECT = False
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's flush between transactional tests TRUNCATEs every table, history included;
        # core/migrations/0002 refuses that unless the session says so.
        options = settings.DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c {HISTORY_TRUNCATE_SETTING}=on"
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


def service_unavailable(reason: str) -> None:
    """Locally a missing service skips the test; in CI it is a failure."""
    if IN_CI:
        pytest.fail(f"CI requires it: {reason}")
    pytest.skip(reason)


@pytest.fixture
def now():
    """A fixed instant, with the clock held at it: services are passed it, and the views and
    tasks a test goes through read the same instant. Request it before fixtures that read it."""
    with time_machine.travel(FIXED_NOW, tick=False):
        yield FIXED_NOW


@pytest.fixture
def clinic():
    return ClinicFactory(name="Riverside Dermatology")


@pytest.fixture
def other_clinic():
    return ClinicFactory(name="Hilltop Skin Centre")


@pytest.fixture
def derm(clinic):
    return DermatologistFactory(membership=clinic)


@pytest.fixture
def staff(clinic):
    return StaffFactory(membership=clinic)


@pytest.fixture
def other_derm(other_clinic):
    return DermatologistFactory(membership=other_clinic)


@pytest.fixture
def other_staff(other_clinic):
    return StaffFactory(membership=other_clinic)


@pytest.fixture
def patient_a(derm):
    return PatientFactory(dermatologist=derm)


@pytest.fixture
def patient_b(derm):
    return PatientFactory(dermatologist=derm)


@pytest.fixture
def redis_broker_url() -> str:
    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        service_unavailable("CELERY_BROKER_URL does not point at Redis")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        service_unavailable(f"Redis at {url} does not answer: {exc}")
    return url


def database_url_for_test_db() -> str:
    """The URL of the database this test session created, for a worker in another process."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, *, timeout: float = 60, **extra_env: str) -> None:
        env = {**os.environ, "DATABASE_URL": database_url_for_test_db(), **extra_env}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "alliance_portal", "worker",
             "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle",
             "--hostname", f"test-{os.getpid()}@%h"],
            cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_path.read_bytes().count(b" ready.") > self.starts:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"worker did not start:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL, as an out-of-memory killer or a crashed host would."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.starts += 1

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A real `celery worker` in its own process, on the configured broker and the test DB."""
    from alliance_portal.celery import app

    app.control.purge()
    worker = WorkerProcess(tmp_path / "worker.log")
    worker.start(ALLIANCE_OUTBOX_DIR=str(tmp_path / "outbox"))
    worker.outbox = tmp_path / "outbox"
    yield worker
    worker.stop()
