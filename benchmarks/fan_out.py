"""The nightly work spread across worker processes: the flag sweep's chunks and reminder
partitions, with one and with two Celery worker processes, on one cohort.

    .venv/bin/python -m benchmarks.fan_out [--patients 100000] [--days 90]
        [--seeded 10000] [--reminders 10000] [--rounds 1]

Not a test: a script run by hand that prints figures measured in one run. It creates a fresh
PostgreSQL database (``psql``, server ``postgres://postgres@127.0.0.1:5432``) and uses Redis
database 5 as the broker. Seeding:

- ``seed_demo --patients 9999 --days 90 --no-flags`` seeds 10,000 patients with plans and
  histories (steady, weekend gaps, declines, falling satisfaction and partnership; about
  2.5 min);
- then, because ``seed_demo`` of 100,000 would take about 30 minutes, the tables the sweep reads
  are copied in bulk SQL (``INSERT ... SELECT`` over ``generate_series``, ids shifted per copy,
  foreign-key triggers off for that session of this throwaway database): users, patients,
  care plans, check-ins and pulses. Each copy of a patient has the original's plan start, time
  zone and check-ins, so it is flagged like the original; its check-ins point at the original's
  plan revision (the sweep does not read revisions) and it has no plan revision of its own, so
  only the 10,000 seeded patients are ever due a reminder. ``VACUUM ANALYZE`` follows.

Then, at one fixed "now" (so that every run sees the same local yesterdays):

1. the sweep in-process (``flags.sweep.sweep``, as ``manage.py sweep_flags`` runs it): the
   reference flags and the one-process baseline;
2. the fan-out with 1 worker process, then with 2 (each ``celery worker --pool=solo``, as two
   machines would run it): the flags tables emptied, the chunks planned and published as the
   ``flags_sweep`` task does (``flags.sweep.sweep_plan`` + ``flags.tasks.publish_chunks``), timed
   from the start of planning until every chunk task has succeeded (worker logs); the flags
   must equal the reference, and a repeated fan-out on the same data must open nothing;
3. reminder dispatch of the 10,000 seeded patients (all made due now, today's check-ins
   removed) with the same 2 worker processes: ``reminders_dispatch`` claims and publishes
   partitions; timed from its start until no claim is left; each worker's share and the
   emails counted per recipient (a file outbox).

Goals: the sweep with 2 processes <= 15 s and >= 1.4x faster than with 1; 10,000 reminders with
2 processes in <= 30 s, each process sending a share, none sent twice. Cleans up (workers,
database, Redis db, folder) in ``finally``. Prints counts and timings only, never health data.
Exit status 0 when every goal is met, 1 if not.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.checkin_throughput import _psql, _run
from benchmarks.flag_sweep import bench_env, clear_flags, manage
from benchmarks.reminder_dispatch import emails_in, statuses

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
BROKER_DB = 5
GOAL_SWEEP_SECONDS = 15.0
GOAL_SPEEDUP = 1.4
GOAL_REMINDER_SECONDS = 30.0
CHUNK_TASK = "flags.tasks.flags_sweep_chunk"
PARTITION_TASK = "reminders.tasks.reminders_send_partition"

# Copies of the seeded patients' rows the sweep reads, ids shifted by k * (the table's max id).
COPY = """
from django.db import connection, transaction
from accounts.models import Patient, User
from careplans.models import CarePlan
from checkins.models import AlliancePulse, CheckIn

copies = COPIES
models = [User, Patient, CarePlan, CheckIn, AlliancePulse]
with connection.cursor() as cursor:
    shift = {}
    for model in models:
        cursor.execute(f"SELECT max(id) FROM {model._meta.db_table}")
        shift[model._meta.db_table] = cursor.fetchone()[0]
    refers = {"user_id": "accounts_user", "patient_id": "accounts_patient",
              "checkin_id": "checkins_checkin"}
    source = {"accounts_user": "id IN (SELECT user_id FROM accounts_patient)"}
    with transaction.atomic():
        cursor.execute("SET LOCAL session_replication_role = replica")  # no FK triggers
        for model in models:
            table = model._meta.db_table
            columns = [f.column for f in model._meta.concrete_fields]
            values = []
            for column in columns:
                if column == "id":
                    values.append(f"id + k * {shift[table]}")
                elif column in refers and (table, column) != ("checkins_checkin", "revision_id"):
                    values.append(f"{column} + k * {shift[refers[column]]}")
                elif (table, column) == ("accounts_user", "email"):
                    values.append("'copy' || k || '-' || email")
                else:
                    values.append(column)
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} "
                f"FROM {table}, generate_series(1, {copies}) AS k "
                f"WHERE {source.get(table, 'TRUE')}")
    for model in models:
        table = model._meta.db_table
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                       f"(SELECT max(id) FROM {table}))")
print(Patient.objects.count(), CheckIn.objects.count())
"""

# Reference flags: the in-process sweep at NOW.
IN_PROCESS = """
import json, time
from datetime import datetime
from flags import sweep
now = datetime.fromisoformat("NOW")
started = time.perf_counter()
result = sweep.sweep(now=now)
print(json.dumps({"seconds": time.perf_counter() - started, "patients": result.patients,
                  "chunks": result.chunks, "findings": result.findings,
                  "opened": result.opened}))
"""

# The sweep task's fan-out at NOW: plan the chunks (ids only) and publish them.
FAN_OUT = """
import json, time
from datetime import datetime
from flags.sweep import sweep_plan
from flags.tasks import publish_chunks
now = datetime.fromisoformat("NOW")
started_at = time.time()
parts, skipped = sweep_plan(now=now)
publish_chunks(parts, now=now)
print(json.dumps({"started": started_at, "chunks": len(parts), "skipped": skipped,
                  "patients": sum(p.patients for p in parts)}))
"""

# A fingerprint of the flags (patient, rule, severity, evidence time) and the history rows.
FLAGS = """
import hashlib, json
from flags.models import Flag, FlagEvent
rows = Flag.objects.order_by("patient_id", "rule").values_list(
    "patient_id", "rule", "severity", "evidence_at")
digest = hashlib.sha256(repr(list(rows)).encode()).hexdigest()
print(json.dumps({"flags": len(rows), "events": FlagEvent.objects.count(), "digest": digest}))
"""

MAKE_DUE = """
from datetime import time
from django.db import connection
from accounts.models import Patient
from reminders.models import Delivery, ReminderSettings
seeded = Patient.objects.filter(care_plan__revisions__isnull=False).distinct()
ids = list(seeded.order_by("pk").values_list("pk", flat=True)[:REMINDERS])
ReminderSettings.objects.filter(patient_id__in=ids).delete()
ReminderSettings.objects.bulk_create(
    [ReminderSettings(patient_id=pk, local_time=time(0, 0)) for pk in ids], batch_size=2000)
Patient.objects.exclude(pk__in=ids).update(is_active=False)  # no one else is due
zones = dict(Patient.objects.filter(pk__in=ids).values_list("pk", "timezone"))
with connection.cursor() as cursor:
    for zone in set(zones.values()):
        today = Patient(timezone=zone).local_today()
        in_zone = [pk for pk, its in zones.items() if its == zone]
        cursor.execute("SELECT id FROM checkins_checkin WHERE local_date = %s "
                       "AND patient_id = ANY(%s)", [today, in_zone])
        gone = [row[0] for row in cursor.fetchall()]
        for table in ("checkins_steplog", "checkins_alliancepulse", "checkins_attentionrequest"):
            cursor.execute(f"DELETE FROM {table} WHERE checkin_id = ANY(%s)", [gone])
        cursor.execute("DELETE FROM checkins_checkin WHERE id = ANY(%s)", [gone])
Delivery.objects.all().delete()
print(len(ids))
"""

DISPATCH = """
import time
from reminders.tasks import reminders_dispatch
started_at = time.time()
claimed = reminders_dispatch()
print(claimed, f"{time.time() - started_at:.2f}", f"{started_at:.3f}")
"""


class Worker:
    """``celery worker --pool=solo``: one worker process, as on its own machine."""

    def __init__(self, name: str, env: dict[str, str], folder: Path) -> None:
        self.name, self.log = name, folder / f"{name}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "alliance_portal", "worker", "--pool=solo",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--hostname",
             f"{name}@%h"],
            cwd=ROOT, env=env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while b" ready." not in self.log.read_bytes():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"worker {name} did not start")
            time.sleep(0.2)

    def succeeded(self, task: str) -> int:
        return len(re.findall(rf"{re.escape(task)}\[[^\]]+\] succeeded",
                              self.log.read_text(errors="replace")))

    def failed(self) -> int:
        return self.log.read_text(errors="replace").count("] raised")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def shell(env: dict[str, str], script: str) -> str:
    return manage(env, "shell", "-c", script).strip().splitlines()[-1]


def seed(env: dict[str, str], database_url: str, patients: int, days: int, seeded: int) -> str:
    started = time.perf_counter()
    manage(env, "migrate", "-v", "0")
    # seed_demo adds its demo patient to the synthetic ones
    manage(env, "seed_demo", "--patients", str(min(patients, seeded) - 1), "--days", str(days),
           "--no-flags")
    seeded_s = time.perf_counter() - started
    copies = patients // seeded - 1
    if copies > 0:
        shell(env, COPY.replace("COPIES", str(copies)))
    _psql(database_url, "VACUUM ANALYZE")
    count = _psql(database_url, "SELECT count(*) FROM accounts_patient p JOIN careplans_careplan "
                                "c ON c.patient_id = p.id WHERE p.is_active")
    checkins = _psql(database_url, "SELECT count(*) FROM checkins_checkin")
    print(f"setup: {count} patients with plans, {checkins} check-ins over {days} days; "
          f"seed_demo {min(patients, seeded)} in {seeded_s:.0f} s, "
          f"{max(copies, 0)} bulk SQL copies, {time.perf_counter() - started:.0f} s in all",
          flush=True)
    return count


def fan_out(env: dict[str, str], database_url: str, workers: list[Worker], now: str,
            timeout: float) -> dict:
    """Publish one night's chunks and wait until every chunk task has succeeded."""
    before = {w.name: w.succeeded(CHUNK_TASK) for w in workers}
    plan = json.loads(shell(env, FAN_OUT.replace("NOW", now)))
    while True:
        done = {w.name: w.succeeded(CHUNK_TASK) - before[w.name] for w in workers}
        if sum(done.values()) >= plan["chunks"]:
            break
        if time.time() - plan["started"] > timeout or any(w.failed() for w in workers):
            raise RuntimeError(f"chunks not done: {done} of {plan['chunks']}")
        time.sleep(0.05)
    seconds = time.time() - plan["started"]
    return {**plan, "seconds": seconds, "shares": done,
            **json.loads(shell(env, FLAGS))}


def reminders(env: dict[str, str], database_url: str, workers: list[Worker], outbox: Path,
              due: int, timeout: float) -> dict:
    before = {w.name: w.succeeded(PARTITION_TASK) for w in workers}
    claimed, dispatch_s, started = shell(env, DISPATCH).split()
    started = float(started)
    while (counts := statuses(database_url)).get("claimed", 0):
        if time.time() - started > timeout:
            break
        time.sleep(0.05)
    seconds = time.time() - started
    recipients = Counter()
    for path in outbox.glob("*.log"):
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("To: "):
                recipients[line[4:].strip()] += 1
    return {"due": due, "claimed": int(claimed), "dispatch_s": float(dispatch_s),
            "seconds": seconds, "counts": counts, "emails": emails_in(outbox),
            "twice": sum(1 for n in recipients.values() if n > 1),
            "partitions": {w.name: w.succeeded(PARTITION_TASK) - before[w.name]
                           for w in workers}}


def run(args: argparse.Namespace) -> int:
    name = f"bench_fan_out_{os.getpid()}"
    database_url = f"postgres://postgres@127.0.0.1:5432/{name}"
    broker = f"redis://127.0.0.1:6379/{BROKER_DB}"
    workers: list[Worker] = []
    with tempfile.TemporaryDirectory(prefix="bench-fan-out-") as folder:
        outbox = Path(folder, "outbox")
        env = {**bench_env(database_url), "CELERY_BROKER_URL": broker,
               "ALLIANCE_DATA_DIR": folder, "ALLIANCE_OUTBOX_DIR": str(outbox)}
        # The workers as docker-compose runs them: connections kept 60 s, INFO logging.
        worker_env = {**env, "DATABASE_CONN_MAX_AGE": "60", "LOG_LEVEL": "INFO"}
        try:
            _psql(ADMIN_URL, f"CREATE DATABASE {name}")
            _run(["redis-cli", "-n", str(BROKER_DB), "FLUSHDB"])
            seed(env, database_url, args.patients, args.days, args.seeded)
            now = shell(env, "from django.utils import timezone; "
                             "print(timezone.now().isoformat())")
            print("load average before: {:.2f} {:.2f} {:.2f} (2 cores; other processes share "
                  "them)".format(*os.getloadavg()))
            reference = json.loads(shell(env, IN_PROCESS.replace("NOW", now)))
            expected = json.loads(shell(env, FLAGS))
            print(f"in-process sweep (manage.py sweep_flags' path, one process): "
                  f"{reference['patients']} patients in {reference['chunks']} chunks, "
                  f"{reference['seconds']:.1f} s; {reference['findings']} findings, "
                  f"{reference['opened']} flags opened", flush=True)
            runs: dict[int, list[dict]] = {}
            for count in (1, 2):
                while len(workers) < count:
                    workers.append(Worker(f"w{len(workers) + 1}", worker_env, Path(folder)))
                runs[count] = []
                for _ in range(args.rounds):
                    clear_flags(database_url)
                    runs[count].append(fan_out(env, database_url, workers, now, args.timeout))
                    print_fan_out(count, runs[count][-1], expected)
            again = fan_out(env, database_url, workers, now, args.timeout)
            print(f"fan-out repeated on the same data (2 processes): {again['seconds']:.1f} s, "
                  f"{again['flags'] - expected['flags']} flags and "
                  f"{again['events'] - expected['events']} history rows added")
            due = int(shell(env, MAKE_DUE.replace("REMINDERS", str(args.reminders))))
            sent = reminders(env, database_url, workers, outbox, due, args.timeout)
            print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
            return report(reference, expected, runs, again, sent)
        finally:
            for worker in workers:
                worker.stop()
            _run(["redis-cli", "-n", str(BROKER_DB), "FLUSHDB"])
            _psql(ADMIN_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def same_flags(r: dict, expected: dict) -> bool:
    return (r["flags"], r["events"], r["digest"]) == (
        expected["flags"], expected["events"], expected["digest"])


def print_fan_out(count: int, r: dict, expected: dict) -> None:
    print(f"fan-out, {count} worker process{'es' if count > 1 else ''}: {r['patients']} "
          f"patients in {r['chunks']} chunk tasks, {r['seconds']:.1f} s from planning to the "
          f"last chunk (chunks per process {r['shares']}); {r['flags']} flags, {r['events']} "
          f"history rows; same as in-process: {'yes' if same_flags(r, expected) else 'NO'}",
          flush=True)


def report(reference: dict, expected: dict, runs: dict[int, list[dict]], again: dict,
           sent: dict) -> int:
    same = all(same_flags(r, expected) for results in runs.values() for r in results)
    one, two = _median([r["seconds"] for r in runs[1]]), _median([r["seconds"] for r in runs[2]])
    repeat_same = (again["flags"], again["events"]) == (expected["flags"], expected["events"])
    both = all(n > 0 for n in sent["partitions"].values())
    complete = sent["counts"] == {"sent": sent["due"]} and sent["emails"] == sent["due"]
    print(f"reminders, 2 worker processes: {sent['claimed']} claimed by the dispatcher in "
          f"{sent['dispatch_s']:.2f} s; {sent['counts'].get('sent', 0)} sent "
          f"({sent['emails']} emails, {sent['twice']} recipients emailed twice) "
          f"{sent['seconds']:.1f} s after the dispatcher started "
          f"({sent['counts'].get('sent', 0) / sent['seconds']:.0f}/s); partitions per process "
          f"{sent['partitions']}; statuses {sent['counts']}")
    goals = {
        f"sweep with 2 processes <= {GOAL_SWEEP_SECONDS:.0f} s ({two:.1f} s)":
            two <= GOAL_SWEEP_SECONDS,
        f"2 processes >= {GOAL_SPEEDUP}x faster than 1 ({one / two:.2f}x)":
            one / two >= GOAL_SPEEDUP,
        "fan-out flags identical to the in-process sweep": same,
        "a repeated fan-out opens nothing": repeat_same,
        f"reminders: all {sent['due']} sent once in <= {GOAL_REMINDER_SECONDS:.0f} s "
        f"({sent['seconds']:.1f} s), each process a share":
            complete and sent["twice"] == 0 and both
            and sent["seconds"] <= GOAL_REMINDER_SECONDS,
    }
    for goal, met in goals.items():
        print(f"goal: {goal}: {'PASS' if met else 'BELOW GOAL'}")
    return 0 if all(goals.values()) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100000,
                        help="a multiple of --seeded (those seeded, the rest copies)")
    parser.add_argument("--seeded", type=int, default=10000,
                        help="patients seed_demo makes (at least --reminders)")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--reminders", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=1, help="fan-out runs per worker count")
    parser.add_argument("--timeout", type=float, default=600)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
