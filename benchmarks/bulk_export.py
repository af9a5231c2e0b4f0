"""A clinic's FHIR bulk export at scale: 10,000 patients, about 600,000 check-ins, PostgreSQL.

    .venv/bin/python -m benchmarks.bulk_export [--patients 10000] [--days 76]
        [--reuse-database NAME] [--profile]

Not a test: a script run by hand that prints figures measured in one run. It creates a fresh
PostgreSQL database (server ``postgres://postgres@127.0.0.1:5432``), migrates it, seeds
``seed_demo --patients N --days D`` (N patients in all, one clinic, D days of check-in history
each, flags raised as beat would), runs ``VACUUM ANALYZE``, then in a fresh process (so that
its peak RSS is the export's, Django's start-up included) runs one Group export of the whole
clinic, every resource type, through the task's own code (``interop.bulk_tasks
.bulk_export_run``, the broker skipped), into a temporary ``ALLIANCE_EXPORTS_DIR``.

Prints wall seconds, SQL statements, resources and bytes per type, the process's peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) before and after the export, and the ratios to
the goal (issue 21: <= 120 s, < 500 MB). ``--profile`` adds cProfile's top functions by
cumulative time (function names only). Timings and counts only, never health data. Exit status
0 when the goal is met, 1 if not. Drops the database in ``finally`` (unless
``--reuse-database``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

from benchmarks.checkin_throughput import _psql
from benchmarks.flag_sweep import bench_env, manage

ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
GOAL_SECONDS = 120.0
GOAL_RSS_MB = 500.0

MEASURE = """
import cProfile, io, json, pstats, resource, time
from django.db import connection
from oauth2_provider.models import Application
from accounts.models import Clinic, User
from checkins.models import CheckIn
from interop import bulk_tasks
from interop.bulk import export_directory
from interop.models import BulkExport, ClinicClient
from interop.selectors import RESOURCE_TYPES

def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB

clinic = Clinic.objects.get()
service_user, _ = User.objects.get_or_create(email="bulk-benchmark@clients.test")
application = Application.objects.create(
    name="Benchmark EHR", user=service_user, client_type=Application.CLIENT_CONFIDENTIAL,
    authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS)
ClinicClient.objects.update_or_create(service_user=service_user, defaults={
    "application": application, "clinic": clinic})
export = BulkExport.objects.create(
    application=application, clinic=clinic, level=BulkExport.Level.GROUP,
    resource_types=list(RESOURCE_TYPES),
    request_url=f"https://portal.test/fhir/R4/Group/{clinic.pk}/$export")
patients, checkins = clinic.patients.count(), CheckIn.objects.count()
rss_before = rss_mb()
queries = 0

def count(execute, sql, params, many, context):
    global queries
    queries += 1
    return execute(sql, params, many, context)

profiler = cProfile.Profile() if PROFILE else None
started, cpu_started = time.perf_counter(), time.process_time()
with connection.execute_wrapper(count):
    if profiler:
        profiler.enable()
    bulk_tasks.bulk_export_run(export.pk)
    if profiler:
        profiler.disable()
seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
export.refresh_from_db()
directory = export_directory(export.pk)
files = [{"type": f["type"], "count": f["count"],
          "bytes": (directory / f["name"]).stat().st_size} for f in export.files]
top = ""
if profiler:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    top = out.getvalue()
print(json.dumps({"status": export.status, "patients": patients, "checkins": checkins,
                  "seconds": seconds, "cpu_seconds": cpu_seconds, "queries": queries,
                  "files": files,
                  "rss_before_mb": rss_before, "rss_peak_mb": rss_mb(), "profile": top}))
"""


def seed(env: dict[str, str], database_url: str, patients: int, days: int) -> None:
    started = time.perf_counter()
    manage(env, "migrate", "-v", "0")
    # seed_demo adds its demo patient to the --patients synthetic ones
    manage(env, "seed_demo", "--patients", str(patients - 1), "--days", str(days))
    _psql(database_url, "VACUUM ANALYZE")
    checkins = _psql(database_url, "SELECT count(*) FROM checkins_checkin")
    print(f"setup: {patients} patients, {checkins} check-ins over {days} days, seeded in "
          f"{time.perf_counter() - started:.0f} s")


def report(r: dict) -> int:
    print(f"export of {r['patients']} patients ({r['checkins']} check-ins): {r['status']}, "
          f"{r['seconds']:.1f} s wall ({r['cpu_seconds']:.1f} s CPU in this process; the rest "
          f"is PostgreSQL, the disk, and other processes), {r['queries']} SQL statements")
    total_bytes = sum(f["bytes"] for f in r["files"])
    for f in r["files"]:
        print(f"  {f['type']:<22} {f['count']:>9} resources {f['bytes'] / 1e6:>9.1f} MB")
    print(f"  {'all':<22} {sum(f['count'] for f in r['files']):>9} resources "
          f"{total_bytes / 1e6:>9.1f} MB")
    print(f"peak RSS: {r['rss_peak_mb']:.0f} MB (the process before the export: "
          f"{r['rss_before_mb']:.0f} MB)")
    if r["profile"]:
        print(r["profile"])
    time_ok = r["status"] == "done" and r["seconds"] <= GOAL_SECONDS
    memory_ok = r["rss_peak_mb"] < GOAL_RSS_MB
    print(f"goals: time {r['seconds']:.1f} / {GOAL_SECONDS:.0f} s = "
          f"{r['seconds'] / GOAL_SECONDS:.2f} {'PASS' if time_ok else 'BELOW GOAL'}; "
          f"memory {r['rss_peak_mb']:.0f} / {GOAL_RSS_MB:.0f} MB = "
          f"{r['rss_peak_mb'] / GOAL_RSS_MB:.2f} {'PASS' if memory_ok else 'BELOW GOAL'}")
    return 0 if time_ok and memory_ok else 1


def run(args: argparse.Namespace) -> int:
    name = args.reuse_database or f"bulk_bench_{os.getpid()}"
    database_url = f"postgres://postgres@127.0.0.1:5432/{name}"
    exports = Path(tempfile.mkdtemp(prefix="bulk-export-bench-"))
    env = {**bench_env(database_url), "ALLIANCE_EXPORTS_DIR": str(exports),
           "PHOTO_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    try:
        if args.reuse_database:
            print(f"reusing database {name} (not seeded, not dropped)")
        else:
            _psql(ADMIN_URL, f"CREATE DATABASE {name}")
            seed(env, database_url, args.patients, args.days)
        script = MEASURE.replace("PROFILE", str(bool(args.profile)))
        output = manage(env, "shell", "-c", script, timeout=3600)
        return report(json.loads(output.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(exports, ignore_errors=True)
        if not args.reuse_database:
            _psql(ADMIN_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10000)
    # 76 days: about 600,000 check-ins for 10,000 patients (the seed logs ~79 % of days).
    parser.add_argument("--days", type=int, default=76)
    parser.add_argument("--reuse-database", metavar="NAME",
                        help="An already seeded database to measure (kept afterwards).")
    parser.add_argument("--profile", action="store_true",
                        help="Print cProfile's top functions by cumulative time.")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
