"""Reminder dispatch at scale: N due patients, from the dispatcher to every reminder sent.

    .venv/bin/python -m benchmarks.reminder_dispatch [--patients 10000] [--concurrency 4]
        [--rounds 3]

Not a test: a script run by hand that prints figures measured in one run. It creates a fresh
PostgreSQL database and uses Redis database 12 as the broker, seeds N patients with plans (no
history), makes every one of them due now (reminders at 00:00 local, every day) and starts ONE
Celery worker the way docker-compose and Procfile.demo run it (prefork, ``--concurrency``,
``DATABASE_CONN_MAX_AGE=60`` as in docker-compose). Each round then clears the delivery rows,
runs the dispatcher once (claim, then send tasks in partitions of 50 claims) and waits until
no claim is left open. Emails go to a file outbox in a temporary folder and are counted there.
Goal: 10,000 sent in <= 30 s from the dispatcher's start (median of the rounds). Cleans up
(worker, database, Redis db, folder) in ``finally``. Prints counts and timings only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

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
from reminders.models import Delivery
from reminders.tasks import reminders_dispatch
Delivery.objects.all().delete()
started_at = time.time()
started = time.perf_counter()
with CaptureQueriesContext(connection) as queries:
    claimed = reminders_dispatch()
print(claimed, len(queries), f"{time.perf_counter() - started:.2f}", f"{started_at:.3f}")
"""


def manage(env: dict[str, str], *args: str, timeout: float = 1800) -> str:
    return _run([sys.executable, "manage.py", *args], env=env, timeout=timeout)


def statuses(database_url: str) -> dict[str, int]:
    rows = _psql(database_url, "SELECT status, count(*) FROM reminders_delivery GROUP BY status")
    return {status: int(n) for status, n in (line.split("|") for line in rows.splitlines() if line)}


def emails_in(outbox: Path) -> int:
    """Messages in the file outbox (a worker process writes many to one file)."""
    return sum(path.read_text(errors="replace").count("\nTo: ")
               for path in outbox.glob("*.log")) if outbox.exists() else 0


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


def one_round(env: dict[str, str], database_url: str, outbox: Path, timeout: float) -> dict:
    """Dispatch once and wait until every claim is sent, skipped or failed."""
    before = emails_in(outbox)
    claimed, queries, dispatch_s, started = manage(env, "shell", "-c", DISPATCH).split()[-4:]
    # From the dispatcher's start, as beat would run it (not the shell's Django start-up).
    started = float(started)
    while (counts := statuses(database_url)).get("claimed", 0):
        if time.time() - started > timeout:
            break
        time.sleep(0.1)
    total = time.time() - started
    return {"claimed": int(claimed), "queries": int(queries), "dispatch_s": float(dispatch_s),
            "total_s": total, "counts": counts, "emails": emails_in(outbox) - before}


def report(results: list[dict], patients: int, concurrency: int) -> int:
    for number, r in enumerate(results, 1):
        sent = r["counts"].get("sent", 0)
        print(f"round {number}: dispatcher claimed {r['claimed']} in {r['dispatch_s']:.2f} s "
              f"with {r['queries']} SQL queries; {sent} sent ({r['emails']} emails in the outbox) "
              f"{r['total_s']:.1f} s after the dispatcher started ({sent / r['total_s']:.0f}/s); "
              f"statuses {r['counts']}")
    total = statistics.median(r["total_s"] for r in results)
    dispatch = statistics.median(r["dispatch_s"] for r in results)
    sent = statistics.median(r["counts"].get("sent", 0) for r in results)
    print(f"median of {len(results)} rounds: dispatcher {dispatch:.2f} s, all sent in "
          f"{total:.1f} s; one worker (prefork, concurrency {concurrency}) {sent / total:.0f}/s")
    goal = GOAL_SECONDS * patients / 10000
    complete = all(r["counts"] == {"sent": patients} and r["emails"] == patients
                   for r in results)
    verdict = "PASS" if complete and total <= goal else "BELOW GOAL"
    print(f"goal: 10,000 in <= {GOAL_SECONDS:.0f} s (scaled: {goal:.0f} s for {patients}), "
          f"each reminder sent once: {verdict}")
    return 0 if verdict == "PASS" else 1


def run(patients: int, concurrency: int, rounds: int, timeout: float) -> int:
    name = f"bench_reminders_{os.getpid()}"
    database_url = f"postgres://postgres@127.0.0.1:5432/{name}"
    broker = f"redis://127.0.0.1:6379/{BROKER_DB}"
    worker = None
    with tempfile.TemporaryDirectory(prefix="bench-reminders-") as folder:
        outbox = Path(folder, "outbox")
        env = {**{k: v for k, v in os.environ.items()
                  if not k.startswith(("ALLIANCE_", "DJANGO_", "DATABASE_", "CELERY_"))},
               "DATABASE_URL": database_url, "CELERY_BROKER_URL": broker,
               "CACHE_URL": "locmemcache://", "DJANGO_SECRET_KEY": "benchmark-only",
               "MFA_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
               "ALLIANCE_DATA_DIR": folder, "ALLIANCE_OUTBOX_DIR": str(outbox),
               "LOG_LEVEL": "WARNING"}
        try:
            _psql(ADMIN_URL, f"CREATE DATABASE {name}")
            _run(["redis-cli", "-n", str(BROKER_DB), "FLUSHDB"])
            manage(env, "migrate", "-v", "0")
            started = time.perf_counter()
            manage(env, "seed_demo", "--patients", str(patients - 1), "--days", "0")
            due = int(manage(env, "shell", "-c", MAKE_ALL_DUE).split()[-1])
            print(f"setup: {due} patients seeded and made due in "
                  f"{time.perf_counter() - started:.0f} s; load average "
                  "{:.2f} {:.2f} {:.2f} (other processes share these CPUs)".format(
                      *os.getloadavg()))
            # The worker as docker-compose runs it: connections kept 60 s, INFO logging.
            worker = start_worker({**env, "DATABASE_CONN_MAX_AGE": "60", "LOG_LEVEL": "INFO"},
                                  concurrency, Path(folder) / "worker.log")
            results = [one_round(env, database_url, outbox, timeout) for _ in range(rounds)]
            print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
            return report(results, due, concurrency)
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=30)
            _run(["redis-cli", "-n", str(BROKER_DB), "FLUSHDB"])
            _psql(ADMIN_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=4,
                        help="prefork processes of the one worker (as docker-compose)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300, help="per round")
    args = parser.parse_args()
    return run(args.patients, args.concurrency, args.rounds, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
