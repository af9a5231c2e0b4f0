"""Reminder dispatch at scale: N due patients, from the dispatcher to every reminder sent.

    .venv/bin/python benchmarks/reminder_dispatch.py [--patients 10000] [--concurrency 2]

Not a test: a script run by hand that prints figures measured in one run. It creates a fresh
PostgreSQL database and uses Redis database 12 as the broker, seeds N patients with plans (no
history), makes every one of them due now (reminders at 00:00 local, every day), starts ONE
Celery worker (prefork, ``--concurrency``, persistent database connections as in
docker-compose), then runs the dispatcher once and waits until every delivery row is ``sent``.
Emails go to a file outbox in a temporary folder. Goal: 10,000 in <= 30 s. Cleans up (worker,
database, Redis db, folder) in ``finally``. Prints counts and timings only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.checkin_throughput import _psql, _run

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
BROKER_DB = 12
GOAL_SECONDS = 30.0

MAKE_ALL_DUE = """
from datetime import time
from accounts.models import Patient
from checkins.models import CheckIn
from reminders.models import Delivery, ReminderSettings
ReminderSettings.objects.all().delete()
ReminderSettings.objects.bulk_create(
    [ReminderSettings(patient_id=pk, local_time=time(0, 0)) for pk in
     Patient.objects.values_list("pk", flat=True)], batch_size=2000)
for patient in Patient.objects.only("pk", "timezone"):
    CheckIn.objects.filter(patient_id=patient.pk, local_date=patient.local_today()).delete()
Delivery.objects.all().delete()
print(Patient.objects.count())
"""

DISPATCH = """
import time
from django.db import connection
from django.test.utils import CaptureQueriesContext
from reminders.tasks import reminders_dispatch
started = time.perf_counter()
with CaptureQueriesContext(connection) as queries:
    claimed = reminders_dispatch()
print(claimed, len(queries), f"{time.perf_counter() - started:.2f}")
"""


def manage(env: dict[str, str], *args: str, timeout: float = 1800) -> str:
    return _run([sys.executable, "manage.py", *args], env=env, timeout=timeout)


def count_sent(database_url: str) -> int:
    return int(_psql(database_url,
                     "SELECT count(*) FROM reminders_delivery WHERE status = 'sent'") or 0)


def start_worker(env: dict[str, str], concurrency: int, log: Path) -> subprocess.Popen:
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "alliance_portal", "worker", "--loglevel=INFO",
         f"--concurrency={concurrency}", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while b" ready." not in log.read_bytes():
        if time.monotonic() > deadline or worker.poll() is not None:
            raise RuntimeError("worker did not start")
        time.sleep(0.2)
    return worker


def run(patients: int, concurrency: int, timeout: float) -> int:
    name = f"bench_reminders_{os.getpid()}"
    database_url = f"postgres://postgres@127.0.0.1:5432/{name}"
    broker = f"redis://127.0.0.1:6379/{BROKER_DB}"
    worker = None
    with tempfile.TemporaryDirectory(prefix="bench-reminders-") as folder:
        env = {**{k: v for k, v in os.environ.items()
                  if not k.startswith(("ALLIANCE_", "DJANGO_", "DATABASE_", "CELERY_"))},
               "DATABASE_URL": database_url, "CELERY_BROKER_URL": broker,
               "CACHE_URL": "locmemcache://", "DJANGO_SECRET_KEY": "benchmark-only",
               "ALLIANCE_DATA_DIR": folder, "ALLIANCE_OUTBOX_DIR": f"{folder}/outbox",
               "LOG_LEVEL": "WARNING"}
        try:
            _psql(ADMIN_URL, f"CREATE DATABASE {name}")
            _run(["redis-cli", "-n", str(BROKER_DB), "FLUSHDB"])
            manage(env, "migrate", "-v", "0")
            started = time.perf_counter()
            manage(env, "seed_demo", "--patients", str(patients - 1), "--days", "0")
            due = int(manage(env, "shell", "-c", MAKE_ALL_DUE).split()[-1])
            print(f"setup: {due} patients seeded and made due in "
                  f"{time.perf_counter() - started:.0f} s")
            worker = start_worker({**env, "DATABASE_CONN_MAX_AGE": "60"}, concurrency,
                                  Path(folder) / "worker.log")
            started = time.perf_counter()
            claimed, queries, dispatch_s = manage(env, "shell", "-c", DISPATCH).split()[-3:]
            while count_sent(database_url) < int(claimed):
                if time.perf_counter() - started > timeout:
                    break
                time.sleep(0.5)
            total = time.perf_counter() - started
            sent = count_sent(database_url)
            emails = len(list(Path(folder, "outbox").glob("*.log")))
            print(f"dispatcher: claimed {claimed} in {dispatch_s} s with {queries} SQL queries")
            print(f"one worker (prefork, concurrency {concurrency}): {sent} sent, {emails} email "
                  f"files, {total:.1f} s from dispatch to last sent ({sent / total:.0f}/s)")
            verdict = "PASS" if sent == due and total <= GOAL_SECONDS * patients / 10000 else \
                "BELOW GOAL"
            print(f"goal: 10,000 in <= {GOAL_SECONDS:.0f} s (scaled: "
                  f"{GOAL_SECONDS * patients / 10000:.0f} s for {patients}): {verdict}")
            return 0 if verdict == "PASS" else 1
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=30)
            _run(["redis-cli", "-n", str(BROKER_DB), "FLUSHDB"])
            _psql(ADMIN_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    return run(args.patients, args.concurrency, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
