"""In-process cost of one check-in POST and one bare POST, for ``checkin_throughput.py``.

Run by the benchmark as ``python -m benchmarks._server_side EMAIL PASSWORD`` with the benchmark's
environment (same database and settings as the gunicorn it measures). Logs the patient in through
allauth's login form with Django's test client, then for each request kind counts the SQL queries
of one request and times ``--repeats`` more (no HTTP server, no network: the server's own share).
Prints one JSON object of counts and milliseconds; nothing about anyone's health.

The test client skips the CSRF check (pure CPU, no queries); the benchmark's HTTP clients do not.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _statement_kind(sql: str) -> str:
    return sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"


def measure(email: str, password: str, repeats: int) -> dict[str, object]:
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance_portal.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Patient

    # The same proxy header as the HTTP clients (HTTPS-only settings, see checkin_throughput).
    client = Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    login = client.post("/accounts/login/", {"login": email, "password": password})
    if login.status_code != 302 or "/accounts/login/" in login.get("Location", ""):
        raise SystemExit(f"login failed: HTTP {login.status_code}")
    local_date = Patient.objects.get(user__email=email).local_today().isoformat()

    def checkin() -> bool:
        response = client.post("/today/", {"local_date": local_date, "all_done": "1"})
        # A browser's follow-up GET would show (and so clear) the flash message; drop it instead
        # of letting it pile up in the cookie and spill into the session.
        client.cookies.pop("messages", None)
        return response.status_code in (302, 303) and response["Location"].startswith(
            "/today/?date="
        )

    def noop() -> bool:
        return client.post("/bench/noop").status_code == 204

    calls: dict[str, Callable[[], bool]] = {"checkin": checkin, "noop": noop}
    result: dict[str, object] = {}
    for name, call in calls.items():
        call()  # warm: first request of a kind, and the check-in row exists from here on
        with CaptureQueriesContext(connection) as captured:
            ok = call()
        queries = [q["sql"] for q in captured.captured_queries]  # before more requests reset it
        if not ok:
            raise SystemExit(f"{name}: unexpected response")
        times, cpu = [], []
        for _ in range(repeats):
            started, cpu_started = time.perf_counter(), time.process_time()
            call()
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        times.sort()
        result[name] = {
            "queries": len(queries),
            "kinds": dict(Counter(_statement_kind(sql) for sql in queries)),
            "median_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 2),
            # This process's CPU only (not the database's): steadier than wall time on a busy
            # machine.
            "cpu_median_ms": round(statistics.median(cpu), 2),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("email")
    parser.add_argument("password")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(measure(args.email, args.password, args.repeats)))


if __name__ == "__main__":
    main()
