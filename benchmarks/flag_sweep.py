"""The nightly flag sweep at scale: the one set-based evaluator on 10,000 patients × 90 days.

    .venv/bin/python -m benchmarks.flag_sweep [--patients 10000] [--days 90]
        [--reference-sample 200] [--rounds 3] [--reuse-database NAME]

Not a test: a script run by hand that prints figures measured in one run. It creates a fresh
PostgreSQL database (``psql``, server ``postgres://postgres@127.0.0.1:5432``), migrates it,
seeds ``seed_demo --patients N --days D`` (N patients in all, D days of check-in history each:
steady, weekend gaps, declines, falling satisfaction and partnership), runs ``VACUUM ANALYZE``
(what autovacuum does on a live database), then in one process, at one fixed "now":

1. the sweep as beat runs it (``flags.sweep.sweep``: evaluate and open flags), with its SQL
   query count and the queries per chunk; then a second sweep (idempotent: nothing opened,
   nothing updated);
2. the set-based evaluation alone (``flags.sweep.evaluate``, no writes), ``--rounds`` times
   (median), and its query count;
3. the per-patient reference of the tests (``tests.flags.reference``: each patient's own
   check-ins through the ORM, the same rules) over a random sample of ``--reference-sample``
   patients: whether it finds exactly what the sweep found for them, and its time for
   comparison (extrapolated linearly; the output says so).

With ``--reuse-database NAME`` (an already seeded database, kept afterwards) it empties the
flags tables first instead of seeding: ``flags_flagevent`` is append-only, so the TRUNCATE runs
in a psql session that sets ``alliance.allow_history_truncate`` (as the test suite does).

Goal: sweep <= 5 s for 10,000 patients, with a number of queries per chunk that does not depend
on how many patients the chunk holds. Drops the database in ``finally`` (unless
``--reuse-database``). Prints timings and counts only, never health data. Exit status 0 when
the findings are identical and the goal is met, 1 if not.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from cryptography.fernet import Fernet

from benchmarks.checkin_throughput import _psql, _run
from core.history import HISTORY_TRUNCATE_SETTING

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
GOAL_SWEEP_SECONDS = 5.0

MEASURE = """
import contextlib, json, random, time
from django.db import connection
from django.utils import timezone
from accounts.models import Patient
from flags import sweep
from flags.models import Flag, FlagEvent
from tests.flags.reference import reference

rounds, sample_size = ROUNDS, SAMPLE
now = timezone.now()


@contextlib.contextmanager
def measured(figures):
    # wall-clock seconds and SQL statements (a counter: Django's query log keeps only 9000)
    def count(execute, sql, params, many, context):
        figures["queries"] += 1
        return execute(sql, params, many, context)
    figures["queries"] = 0
    started = time.perf_counter()
    with connection.execute_wrapper(count):
        yield figures
    figures["seconds"] = time.perf_counter() - started


with measured({}) as first_run:
    first = sweep.sweep(now=now)
with measured({}) as second_run:
    second = sweep.sweep(now=now)
evaluations = []
for _ in range(rounds):
    with measured({}) as evaluation:
        found = sweep.evaluate(now=now)
    evaluations.append(evaluation["seconds"])
ids = list(Patient.objects.filter(is_active=True, care_plan__isnull=False)
           .order_by("pk").values_list("pk", flat=True))
subset = sorted(random.Random(2026).sample(ids, min(sample_size, len(ids))))
with measured({}) as reference_run:
    per_patient = reference(now, patient_ids=subset)
chosen = set(subset)
same = [f for f in found if f.patient_id in chosen] == per_patient

print(json.dumps({
    "patients": first.patients, "chunks": first.chunks, "findings": first.findings,
    "per_rule": {str(rule): n for rule, n in sorted(first.per_rule.items())},
    "opened": first.opened, "flags": Flag.objects.count(), "events": FlagEvent.objects.count(),
    "sweep_s": first_run["seconds"], "sweep_queries": first_run["queries"],
    "second": [second.opened, second.updated, second_run["seconds"], second_run["queries"]],
    "evaluate_s": evaluations, "evaluate_queries": evaluation["queries"],
    "reference_patients": len(subset), "reference_s": reference_run["seconds"],
    "reference_findings": len(per_patient), "identical": same,
}))
"""


def clear_flags(database_url: str) -> None:
    """Empty the flags tables of a benchmark's own database. ``flags_flagevent`` is append-only
    (``core/history.py``, installed by flags/migrations/0003): its trigger refuses TRUNCATE
    unless the session sets ``alliance.allow_history_truncate``, as the test suite's sessions
    do. Set here for this one psql session only; the trigger stays installed."""
    _psql(database_url, f"SET {HISTORY_TRUNCATE_SETTING} = on; "
                        "TRUNCATE flags_flagevent, flags_outreach, flags_flag")


def manage(env: dict[str, str], *args: str, timeout: float = 3600) -> str:
    return _run([sys.executable, "manage.py", *args], env=env, timeout=timeout)


def bench_env(database_url: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items()
               if not k.startswith(("ALLIANCE_", "DJANGO_", "DATABASE_", "CELERY_"))},
            "DATABASE_URL": database_url, "CACHE_URL": "locmemcache://",
            "DJANGO_SECRET_KEY": "benchmark-only", "LOG_LEVEL": "WARNING",
            "MFA_ENCRYPTION_KEYS": Fernet.generate_key().decode()}


def seed(env: dict[str, str], database_url: str, patients: int, days: int) -> None:
    started = time.perf_counter()
    manage(env, "migrate", "-v", "0")
    # seed_demo adds its demo patient to the --patients synthetic ones
    manage(env, "seed_demo", "--patients", str(patients - 1), "--days", str(days), "--no-flags")
    _psql(database_url, "VACUUM ANALYZE")
    checkins = _psql(database_url, "SELECT count(*) FROM checkins_checkin")
    print(f"setup: {patients} patients, {checkins} check-ins over {days} days, seeded in "
          f"{time.perf_counter() - started:.0f} s")


def report(r: dict, patients: int) -> int:
    evaluate_s = sorted(r["evaluate_s"])[len(r["evaluate_s"]) // 2]
    opened2, updated2, second_s, second_queries = r["second"]
    print(f"sweep (evaluate + open flags): {r['patients']} patients in {r['chunks']} chunks, "
          f"{r['sweep_s']:.2f} s, {r['sweep_queries']} SQL queries; {r['findings']} findings "
          f"{r['per_rule']}; {r['opened']} flags opened ({r['events']} history rows)")
    print(f"second sweep (same data): {opened2} opened, {updated2} updated, {second_s:.2f} s, "
          f"{second_queries} SQL queries")
    # Per clinic: its patients' time zones, its settings; per chunk: the chunk's patients,
    # their check-ins, their resolved flags (tests/flags/test_sweep.py pins the per-chunk count).
    print(f"set-based evaluation (no writes): median {evaluate_s:.2f} s of "
          f"{', '.join(f'{s:.2f}' for s in r['evaluate_s'])}; {r['evaluate_queries']} queries "
          f"for {r['chunks']} chunks")
    if r["reference_patients"]:
        all_s = r["reference_s"] * r["patients"] / r["reference_patients"]
        print(f"per-patient reference: {r['reference_s']:.2f} s for a random sample of "
              f"{r['reference_patients']} patients, EXTRAPOLATED linearly to {r['patients']}: "
              f"{all_s:.1f} s ({all_s / evaluate_s:.0f}x the set-based evaluation)")
        print(f"identical findings over the {r['reference_patients']} patients both evaluated "
              f"({r['reference_findings']} findings): {'yes' if r['identical'] else 'NO'}")
    scale = patients / 10000
    sweep_ok = r["sweep_s"] <= GOAL_SWEEP_SECONDS * scale
    print(f"goals: sweep <= {GOAL_SWEEP_SECONDS * scale:.1f} s: "
          f"{'PASS' if sweep_ok else 'BELOW GOAL'}; identical: "
          f"{'PASS' if r['identical'] else 'FAIL'}")
    return 0 if (sweep_ok and r["identical"]) else 1


def run(args: argparse.Namespace) -> int:
    name = args.reuse_database or f"bench_flags_{os.getpid()}"
    database_url = f"postgres://postgres@127.0.0.1:5432/{name}"
    env = bench_env(database_url)
    try:
        if args.reuse_database:
            print(f"reusing database {name} (not seeded, not dropped); clearing its flags")
            clear_flags(database_url)
        else:
            _psql(ADMIN_URL, f"CREATE DATABASE {name}")
            seed(env, database_url, args.patients, args.days)
        script = MEASURE.replace("ROUNDS", str(args.rounds)).replace(
            "SAMPLE", str(args.reference_sample))
        output = manage(env, "shell", "-c", script)
        return report(json.loads(output.strip().splitlines()[-1]), args.patients)
    finally:
        if not args.reuse_database:
            _psql(ADMIN_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reference-sample", type=int, default=200,
                        help="Compare with the per-patient reference on this many random "
                             "patients (0: none).")
    parser.add_argument("--reuse-database", metavar="NAME",
                        help="An already seeded database to measure (kept afterwards).")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
