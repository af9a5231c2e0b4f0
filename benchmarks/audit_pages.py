"""The audit trail's screens with years of events: do their pages cost the same at 50 million
events as at 500?

    .venv/bin/python -m benchmarks.audit_pages [--events 50000000] [--requests 60]
        [--patients 2000] [--members 40] [--years 6] [--conn-max-age 0]
        [--keep | --reuse BIG,SMALL]

Not a test: a script run by hand that prints figures measured in one run. It creates two fresh
PostgreSQL databases (``psql``, server ``postgres://postgres@127.0.0.1:5432``), migrates both
(the audit table is partitioned by month, ``core/audit_partitions.py``), and seeds each with
the same people: one clinic of ``--members`` clinicians and ``--patients`` patients, and a
second clinic a tenth that size whose events share the table. Then, with ``generate_series``
in time order (oldest first, as a live system writes them), over ``--years`` years ending now:

- the large database: ``--events`` audit events (95% the clinic's, 5% the other clinic's),
  one monthly partition at a time; then ``VACUUM ANALYZE`` (what autovacuum does live);
- the small database: 500 events, the same way.

Each database is measured in-process with Django's test client (no HTTP server, no network:
the server's own time, as ``benchmarks/_server_side.py``), ``--requests`` requests per page:
the median wall-clock milliseconds (the goal's figure), and to read it on a busy machine, the
median time spent waiting on SQL and the median CPU time of the Django process; and the SQL
query count of one request. As in production's default (``DATABASE_CONN_MAX_AGE=0``), every
request opens a new database connection (``--conn-max-age 60`` keeps one):

1. the clinic audit log, default view (newest page), as a staff member;
2. its next page ("Older", from the first page's cursor);
3. a search by patient name (a 3-letter first name several patients share);
4. a search by person (one clinician's last name);
5. a patient's page as their dermatologist (the read writes its audit event);
6. the patient's "Who viewed my record".

Goal per page: median <= 50 ms at 50 million events (scaled: the goal holds at any --events) and
<= 1.5x the 500-event median. Drops both databases in ``finally`` (unless ``--keep``). Prints
timings and counts only, never health data. Exit 0 when every goal is met, 1 if not.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from benchmarks.checkin_throughput import _run
from benchmarks.flag_sweep import ADMIN_URL, bench_env, manage

GOAL_MS = 50.0
GOAL_RATIO = 1.5
SMALL_EVENTS = 500

# People, created through the ORM (a few thousand rows); the events come from generate_series.
SEED_PEOPLE = """
import json
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from accounts.models import Clinic, ClinicMembership, Patient, Role, User

FIRST = ["Ann", "Ben", "Cleo", "Dara", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun"]


def people(clinic_name, members, patients):
    clinic = Clinic.objects.create(name=clinic_name)
    staff = []
    for n in range(members):
        user = User.objects.create_user(email=f"m{n}@{clinic.pk}.bench.test", password=None,
                                        first_name=FIRST[n % 10], last_name=f"Member{n}")
        role = Role.DERMATOLOGIST if n % 2 == 0 else Role.STAFF
        ClinicMembership.objects.create(user=user, clinic=clinic, role=role)
        TOTP.activate(user, generate_totp_secret())  # clinicians must have two-step verification
        staff.append(user)
    derms = [u for n, u in enumerate(staff) if n % 2 == 0]
    User.objects.bulk_create(
        User(email=f"p{n}@{clinic.pk}.bench.test", first_name=FIRST[n % 10],
             last_name=f"Patient{n}") for n in range(patients))
    users = list(User.objects.filter(email__endswith=f"@{clinic.pk}.bench.test",
                                     email__startswith="p").order_by("pk"))
    Patient.objects.bulk_create(
        Patient(user=u, clinic=clinic, dermatologist=derms[n % len(derms)],
                timezone="Europe/London") for n, u in enumerate(users))
    return clinic


main = people("Bench clinic", MEMBERS, PATIENTS)
other = people("Other clinic", max(2, MEMBERS // 10), max(10, PATIENTS // 10))
print(json.dumps({"clinic": main.pk, "other": other.pk}))
"""

PARTITIONS = """
from datetime import datetime
from django.db import connection
from core import audit_partitions as ap

first = ap.month_start(datetime.fromisoformat("FIRST"))
last = ap.month_start(datetime.fromisoformat("LAST"))
with connection.cursor() as cursor:
    month = first
    while month <= last:
        ap.create_partition(cursor, month)
        month = ap.add_months(month, 1)
"""

# One month of events, in time order: ids and times both rise, as a live system writes them.
# Each event: a member of the clinic reads (or changes, 10%) one of its patients; 5% of the
# rows are the other clinic's. Every clinician read is an event, so reads dominate.
INSERT_MONTH = """
INSERT INTO accounts_auditevent (at, clinic_id, actor_id, patient_id, action, object_type,
                                 object_id, allowed)
SELECT s.ts, c.clinic, c.member_ids[1 + (s.g * 7) % c.members],
       c.first_patient + (s.g * 7919) % least(c.patients, {focus}),
       CASE WHEN s.g % 10 = 0 THEN 'change' ELSE 'view' END, 'patient', '', true
FROM (SELECT g, {start}::timestamptz + (g - {lo}) * {step}::interval AS ts,
             CASE WHEN g % 20 = 0 THEN {other} ELSE {clinic} END AS clinic
      FROM generate_series({lo}::bigint, {hi}::bigint) g) s
JOIN clinic_shape c ON c.clinic = s.clinic
ORDER BY s.g;
"""

SHAPE = """
CREATE TEMP TABLE clinic_shape AS
SELECT p.clinic_id AS clinic, min(p.id) AS first_patient, count(*) AS patients,
       (SELECT count(*) FROM accounts_clinicmembership m WHERE m.clinic_id = p.clinic_id)
           AS members,
       (SELECT array_agg(m.user_id ORDER BY m.user_id) FROM accounts_clinicmembership m
        WHERE m.clinic_id = p.clinic_id) AS member_ids
FROM accounts_patient p GROUP BY p.clinic_id;
"""

MEASURE = """
import json, re, statistics, time
from django.conf import settings
from django.db import connection
from django.test import Client
from accounts.models import ClinicMembership, Patient, Role, User

# Static files from the sources (no collectstatic, as in the tests): a dictionary lookup less
# per asset URL than the production manifest, nothing to do with the audit trail.
settings.STORAGES = {**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
requests = REQUESTS
clinic_id = CLINIC
staff = User.objects.filter(membership__clinic_id=clinic_id, membership__role=Role.STAFF).first()
member = User.objects.filter(membership__clinic_id=clinic_id).order_by("pk")[3]
patient = Patient.objects.filter(clinic_id=clinic_id).select_related("user").order_by("pk")[10]
derm = patient.dermatologist


def client_for(user):
    client = Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    client.force_login(user)
    return client


as_staff, as_derm, as_patient = client_for(staff), client_for(derm), client_for(patient.user)
# The test client fills response.context only under the test runner: read the link instead.
older = re.search(r"before=([0-9-]+)", as_staff.get("/clinic/audit/").content.decode())
older = older[1] if older else None
pages = {
    "audit log, newest page": (as_staff, "/clinic/audit/", {}),
    "audit log, older page": (as_staff, "/clinic/audit/", {"before": older} if older else {}),
    "search by patient name": (as_staff, "/clinic/audit/", {"patient": "Ann"}),
    "search by person": (as_staff, "/clinic/audit/", {"actor": member.last_name}),
    "patient page": (as_derm, f"/clinic/patients/{patient.pk}/", {}),
    "who viewed my record": (as_patient, "/record-access/", {}),
}
figures = {}
for name, (client, url, params) in pages.items():
    for _ in range(3):  # warm caches, as a live server's are
        status = client.get(url, params).status_code
        assert status == 200, (name, status)
    queries, db = [], [0.0]
    def count(execute, sql, params, many, context):
        queries.append(1)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            db[0] += time.perf_counter() - started
    with connection.execute_wrapper(count):
        client.get(url, params)
        per_request = len(queries)
        times, cpu, in_db = [], [], []
        for _ in range(requests):
            db[0] = 0.0
            started, started_cpu = time.perf_counter(), time.process_time()
            client.get(url, params)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            in_db.append(db[0] * 1000)
    body = client.get(url, params).content.decode()
    rows = body.count("<tr>") - 1 if "/clinic/audit/" in url else body.count('<li class="card">')
    figures[name] = {"median_ms": statistics.median(times), "queries": per_request,
                     "cpu_ms": statistics.median(cpu), "db_ms": statistics.median(in_db),
                     "rows": rows if "patients/" not in url else None}
print(json.dumps(figures))
"""


def psql(database_url: str, sql: str, timeout: float = 7200) -> str:
    return _run(["psql", database_url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                 "-c", sql], timeout=timeout).strip()


def seed(name: str, events: int, args: argparse.Namespace) -> dict[str, str]:
    database_url = f"postgres://postgres@127.0.0.1:5432/{name}"
    env = bench_env(database_url)
    started = time.perf_counter()
    psql(ADMIN_URL, f"CREATE DATABASE {name}")
    manage(env, "migrate", "-v", "0")
    people = json.loads(manage(env, "shell", "-c", SEED_PEOPLE.replace(
        "MEMBERS", str(args.members)).replace("PATIENTS", str(args.patients))).splitlines()[-1])
    now = time.time()
    span = args.years * 365.25 * 86400
    step = span / events  # seconds between events, oldest first, the last one now
    start = now - span
    first_iso = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(start))
    last_iso = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now))
    manage(env, "shell", "-c", PARTITIONS.replace("FIRST", first_iso).replace("LAST", last_iso))
    batches = max(1, round(args.years * 12)) if events > 100_000 else 1
    per = -(-events // batches)
    for batch in range(batches):
        lo, hi = batch * per + 1, min(events, (batch + 1) * per)
        if lo > hi:
            break
        first_at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(start + (lo - 1) * step))
        sql = SHAPE + INSERT_MONTH.format(
            start=f"'{first_at}'", lo=lo, hi=hi, step=f"'{step:.6f} seconds'",
            clinic=people["clinic"], other=people["other"],
            # 500 events over 2,000 patients would leave the pages measured nearly empty:
            # the small database's events go to 20 patients, so its pages are as full.
            focus=args.patients if events > 100_000 else 20)
        psql(database_url, sql)
        if events > 100_000 and batch % 12 == 11:
            print(f"  {name}: {hi:,} events seeded ({time.perf_counter() - started:.0f} s)",
                  flush=True)
    psql(database_url, "VACUUM ANALYZE")
    count = psql(database_url, "SELECT count(*) FROM accounts_auditevent")
    default = psql(database_url, "SELECT count(*) FROM accounts_auditevent_default")
    size = psql(database_url, "SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) "
                              "FROM pg_inherits WHERE inhparent = 'accounts_auditevent'::regclass")
    print(f"setup {name}: {int(count):,} audit events ({default} in the default partition), "
          f"{size} with indexes, seeded in {time.perf_counter() - started:.0f} s", flush=True)
    return {"url": database_url, "clinic": str(people["clinic"])}


def _reused(name: str) -> dict[str, str]:
    url = f"postgres://postgres@127.0.0.1:5432/{name}"
    clinic = psql(url, "SELECT id FROM accounts_clinic WHERE name = 'Bench clinic'")
    return {"url": url, "clinic": clinic}


def measure(database: dict[str, str], requests: int, conn_max_age: int) -> dict:
    # As in production: HTTPS-only behind a TLS-terminating proxy (the client sends its header).
    env = {**bench_env(database["url"]),
           "DJANGO_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
           "DATABASE_CONN_MAX_AGE": str(conn_max_age)}
    script = MEASURE.replace("REQUESTS", str(requests)).replace("CLINIC", database["clinic"])
    return json.loads(manage(env, "shell", "-c", script).strip().splitlines()[-1])


def report(events: int, big: dict, small: dict) -> int:
    ok = True
    print(f"\nmedian of the requests, in-process (Django test client), ms; "
          f"{events:,} events vs {SMALL_EVENTS}:")
    for name, figure in big.items():
        base = small[name]
        ratio = figure["median_ms"] / base["median_ms"]
        met = figure["median_ms"] <= GOAL_MS and ratio <= GOAL_RATIO
        ok &= met
        print(f"  {name:<24} {figure['median_ms']:6.1f} ms vs {base['median_ms']:5.1f} ms  "
              f"ratio {ratio:4.2f}  (in SQL {figure['db_ms']:5.1f} vs {base['db_ms']:4.1f}; "
              f"Python CPU {figure['cpu_ms']:5.1f} vs {base['cpu_ms']:4.1f})  "
              f"queries {figure['queries']} vs {base['queries']}  "
              f"rows {figure['rows'] if figure['rows'] is not None else '-'} vs "
              f"{base['rows'] if base['rows'] is not None else '-'}  "
              f"{'PASS' if met else 'BELOW GOAL'}")
    print(f"goals: median <= {GOAL_MS:.0f} ms and <= {GOAL_RATIO}x the {SMALL_EVENTS}-event "
          f"median on every page: {'PASS' if ok else 'NOT MET'}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--members", type=int, default=40)
    parser.add_argument("--years", type=float, default=6.0)
    parser.add_argument("--conn-max-age", type=int, default=0,
                        help="DATABASE_CONN_MAX_AGE of the measured process (0: a new "
                             "connection per request, the default).")
    parser.add_argument("--keep", action="store_true", help="Keep both databases afterwards.")
    parser.add_argument("--reuse", metavar="BIG,SMALL",
                        help="Measure two databases kept by --keep (not seeded, not dropped).")
    args = parser.parse_args()
    names = (args.reuse.split(",") if args.reuse
             else [f"bench_audit_big_{os.getpid()}", f"bench_audit_small_{os.getpid()}"])
    args.keep = args.keep or bool(args.reuse)
    try:
        if args.reuse:
            big, small = (_reused(name) for name in names)
            args.events = int(psql(big["url"], "SELECT count(*) FROM accounts_auditevent"))
        else:
            big = seed(names[0], args.events, args)
            small = seed(names[1], SMALL_EVENTS, args)
        return report(args.events, measure(big, args.requests, args.conn_max_age),
                      measure(small, args.requests, args.conn_max_age))
    finally:
        if not args.keep:
            for name in names:
                psql(ADMIN_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", timeout=600)


if __name__ == "__main__":
    sys.exit(main())
