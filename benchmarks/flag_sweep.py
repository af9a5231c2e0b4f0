"""The nightly flag sweep at scale: set-based sweep vs the naive per-patient loop.

    .venv/bin/python -m benchmarks.flag_sweep [--patients 10000] [--days 90]
        [--naive-sample N] [--rounds 3] [--reuse-database NAME]

Not a test: a script run by hand that prints figures measured in one run. It creates a fresh
PostgreSQL database (``psql``, server ``postgres://postgres@127.0.0.1:5432``), migrates it,
seeds ``seed_demo --patients N --days D`` (N patients in all, D days of check-in history each:
steady, weekend gaps, declines, falling satisfaction and alliance), runs ``VACUUM ANALYZE`` (what
autovacuum does on a live database), then in one process, at one fixed "now":

1. the sweep as beat runs it (``flags.sweep.sweep``: evaluate and open flags), with its SQL
   query count; then a second sweep (idempotent: nothing opened, nothing updated);
2. the set-based evaluation alone (``flags.sweep.evaluate``, no writes), ``--rounds`` times
   (median), and its query count;
3. the naive per-patient loop (``flags.naive.evaluate``: each rule its own query, 5 a
   patient) over every
   patient, or over a random sample of ``--naive-sample`` patients, whose time is then
   extrapolated linearly to all patients (the output says so);
4. whether both evaluators found exactly the same findings over the same patients.

The ratio compares like with like: naive evaluation time / set-based evaluation time (both
compute findings, neither writes). Goals: sweep <= 5 s for 10,000 patients, ratio >= 50.
Drops the database in ``finally`` (unless ``--reuse-database``). Prints timings and counts only,
never health data. Exit status 0 when findings are identical and both goals are met, 1 if not.
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

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
GOAL_SWEEP_SECONDS = 5.0
GOAL_RATIO = 50.0

MEASURE = """
import contextlib, json, random, time
from django.db import connection
from django.utils import timezone
from accounts.models import Patient
from flags import naive, sweep
from flags.models import Flag, FlagEvent

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
subset = sorted(random.Random(2026).sample(ids, sample_size)) if sample_size else ids
with measured({}) as naive_run:
    per_patient = naive.evaluate(now=now, patient_ids=subset)
chosen = set(subset)
same = [f for f in found if f.patient_id in chosen] == per_patient

print(json.dumps({
    "patients": first.patients, "chunks": first.chunks, "findings": first.findings,
    "per_rule": {str(rule): n for rule, n in sorted(first.per_rule.items())},
    "opened": first.opened, "flags": Flag.objects.count(), "events": FlagEvent.objects.count(),
    "sweep_s": first_run["seconds"], "sweep_queries": first_run["queries"],
    "second": [second.opened, second.updated, second_run["seconds"], second_run["queries"]],
    "evaluate_s": evaluations, "evaluate_queries": evaluation["queries"],
    "naive_patients": len(subset), "naive_s": naive_run["seconds"],
    "naive_queries": naive_run["queries"],
    "naive_findings": len(per_patient), "identical": same,
}))
"""


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
    naive_all_s = r["naive_s"] * r["patients"] / r["naive_patients"]
    extrapolated = r["naive_patients"] < r["patients"]
    ratio = naive_all_s / evaluate_s
    opened2, updated2, second_s, second_queries = r["second"]
    print(f"sweep (evaluate + open flags): {r['patients']} patients in {r['chunks']} chunks, "
          f"{r['sweep_s']:.2f} s, {r['sweep_queries']} SQL queries; {r['findings']} findings "
          f"{r['per_rule']}; {r['opened']} flags opened ({r['events']} history rows)")
    print(f"second sweep (same data): {opened2} opened, {updated2} updated, {second_s:.2f} s, "
          f"{second_queries} SQL queries")
    print(f"set-based evaluation (no writes): median {evaluate_s:.2f} s of "
          f"{', '.join(f'{s:.2f}' for s in r['evaluate_s'])}; {r['evaluate_queries']} queries")
    if extrapolated:
        print(f"naive loop: {r['naive_s']:.2f} s for a random sample of {r['naive_patients']} "
              f"patients ({r['naive_queries']} queries); EXTRAPOLATED linearly to "
              f"{r['patients']} patients: {naive_all_s:.1f} s")
    else:
        print(f"naive loop: {r['naive_s']:.2f} s for all {r['patients']} patients "
              f"({r['naive_queries']} queries)")
    print(f"identical findings over the {r['naive_patients']} patients both evaluated "
          f"({r['naive_findings']} findings): {'yes' if r['identical'] else 'NO'}")
    print(f"ratio naive / set-based evaluation: {ratio:.1f}x"
          f"{' (naive time extrapolated)' if extrapolated else ''}")
    scale = patients / 10000
    sweep_ok = r["sweep_s"] <= GOAL_SWEEP_SECONDS * scale
    ratio_ok = ratio >= GOAL_RATIO
    print(f"goals: sweep <= {GOAL_SWEEP_SECONDS * scale:.1f} s: "
          f"{'PASS' if sweep_ok else 'BELOW GOAL'}; ratio >= {GOAL_RATIO:.0f}x: "
          f"{'PASS' if ratio_ok else 'BELOW GOAL'}; identical: "
          f"{'PASS' if r['identical'] else 'FAIL'}")
    return 0 if (sweep_ok and ratio_ok and r["identical"]) else 1


def run(args: argparse.Namespace) -> int:
    name = args.reuse_database or f"bench_flags_{os.getpid()}"
    database_url = f"postgres://postgres@127.0.0.1:5432/{name}"
    env = bench_env(database_url)
    try:
        if args.reuse_database:
            print(f"reusing database {name} (not seeded, not dropped); clearing its flags")
            _psql(database_url, "TRUNCATE flags_flagevent, flags_outreach, flags_flag")
        else:
            _psql(ADMIN_URL, f"CREATE DATABASE {name}")
            seed(env, database_url, args.patients, args.days)
        script = MEASURE.replace("ROUNDS", str(args.rounds)).replace(
            "SAMPLE", str(args.naive_sample or 0))
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
    parser.add_argument("--naive-sample", type=int, default=0,
                        help="Time the naive loop on this many random patients (0: all).")
    parser.add_argument("--reuse-database", metavar="NAME",
                        help="An already seeded database to measure (kept afterwards).")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
