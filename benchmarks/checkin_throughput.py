"""Check-in POST throughput under gunicorn, against a bare Django view on the same server.

    .venv/bin/python benchmarks/checkin_throughput.py [--database postgres|sqlite]
        [--seconds 20] [--clients 8] [--workers 2] [--rounds 5] [--patients 200]

Not a test: a script run by hand that prints figures measured in one run. It sets up everything
it uses in isolation and removes it again (``finally``):

- a temporary ``ALLIANCE_DATA_DIR``; a fresh PostgreSQL database (created and dropped with
  ``psql``; default server ``postgres://postgres@127.0.0.1:5432``) or a SQLite file in that
  directory; Redis on loopback for the Celery broker and the cache (databases 13 and 14) or the
  embedded filesystem broker and file cache;
- ``migrate``, ``collectstatic`` and ``seed_demo --patients N`` (patients with care plans);
- ``gunicorn alliance_portal.wsgi:application --workers W`` on a free loopback port, with
  ``DJANGO_DEBUG=false``, a throwaway ``DJANGO_SECRET_KEY`` and
  ``ALLIANCE_BENCHMARK_ENDPOINTS=true`` (routes ``core.views.bench_noop``). As in production,
  the server is HTTPS-only behind a TLS-terminating proxy: every request carries the proxy's
  ``X-Forwarded-Proto: https`` (``DJANGO_SECURE_PROXY_SSL_HEADER``), so secure cookies, HSTS and
  the HTTPS redirect stay on for both kinds of request.

Each client (one process each, standard library ``http.client``) logs in as a different demo
patient through allauth's login form, reads the CSRF token and the patient's local date off
/today/, and then POSTs in a loop:

- A, the check-in: the one-tap "I did everything" (``all_done=1``) to /today/. Every response must
  be a redirect to /today/?date=...; it is not followed (that GET is a page view, not the write).
  The first POST of a patient creates the day's check-in, later ones replace it (the upsert).
- B, the bare view: POST /bench/noop, login required, CSRF-checked, 204 and nothing else.

After a warm-up of both, each round measures A and B for the same duration (order alternating
between rounds); the ratio is median(A req/s) / median(B req/s), goal >= 0.5. Errors (any other
status, a redirect elsewhere, a dropped connection) are counted and reported, not measured.
Two more figures help to read the ratio: before the load, one in-process run
(``benchmarks/_server_side.py``) counts the SQL queries of one request of each kind and times it;
during the load, the gunicorn workers' CPU time (Linux /proc) per request, which other processes
on a shared machine disturb less than throughput does.

Exit status: 0 when the ratio meets the goal with no errors, 1 otherwise, 2 if setup failed.
Prints timings and counts only, never health data.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

from cryptography.fernet import Fernet

PROJECT_DIR = Path(__file__).resolve().parent.parent
GOAL = 0.5
DEMO_PASSWORD = "alliance-demo-2026"  # noqa: S105 - the published demo credential (demo/seed/people.py)
CHECKIN_PATH = "/today/"
NOOP_PATH = "/bench/noop"
REDIS_BROKER_DB, REDIS_CACHE_DB = 13, 14
# Variables of the caller's shell that would change what is measured (and any DJANGO_* or
# ALLIANCE_*); the benchmark sets its own.
INHERITED_OUT = (
    "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL", "DATABASE_CONN_MAX_AGE",
    "LOG_LEVEL", "WHITENOISE_USE_FINDERS",
)
# What the TLS-terminating proxy in front of gunicorn adds to every request (see bench_env).
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


def browser_headers(port: int) -> dict[str, str]:
    """The proxy's header, and the Origin a browser sends with a POST (over HTTPS, Django's CSRF
    check wants a matching Origin or Referer)."""
    return {**PROXY_HEADERS, "Origin": f"https://127.0.0.1:{port}"}

TOKEN_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
LOCAL_DATE_RE = re.compile(r'name="local_date" value="(\d{4}-\d{2}-\d{2})"')
KINDS = {"A": "check-in POST /today/", "B": "bare POST /bench/noop"}


class SetupError(Exception):
    pass


# --- Clients (run in worker processes) -----------------------------------------------------------


@dataclass(frozen=True)
class Job:
    port: int
    kind: str  # "A" or "B"
    path: str
    body: bytes
    cookie: str
    start_at: float  # time.monotonic(): CLOCK_MONOTONIC, one clock for all processes on Linux
    seconds: float
    max_requests: int


@dataclass
class ClientResult:
    pid: int
    late_start: float
    ended_at: float
    ok: int = 0
    errors: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)


def _ready(_: int) -> int:
    time.sleep(0.2)  # long enough that every worker process takes one
    return os.getpid()


def _acceptable(kind: str, status: int, location: str | None) -> str | None:
    """None if the response is what the request must get, else the error's name."""
    if kind == "A":
        if status in (302, 303) and (location or "").startswith(f"{CHECKIN_PATH}?date="):
            return None
        return f"HTTP {status}" if status not in (302, 303) else "redirect elsewhere"
    return None if status == 204 else f"HTTP {status}"


def run_client(job: Job) -> ClientResult:
    """POST ``job.body`` to ``job.path`` until the time or request budget is spent."""
    headers = {
        "Cookie": job.cookie, "Content-Type": "application/x-www-form-urlencoded",
        "Connection": "keep-alive", **browser_headers(job.port),
    }
    conn = http.client.HTTPConnection("127.0.0.1", job.port, timeout=10)
    while (now := time.monotonic()) < job.start_at:
        time.sleep(job.start_at - now)
    result = ClientResult(pid=os.getpid(), late_start=time.monotonic() - job.start_at,
                          ended_at=job.start_at)
    deadline = job.start_at + job.seconds
    sent = 0
    while sent < job.max_requests and time.monotonic() < deadline:
        sent += 1
        started = time.perf_counter()
        try:
            # gunicorn's sync workers close the connection after each response; http.client
            # then reconnects on the next request (as a browser would).
            conn.request("POST", job.path, body=job.body, headers=headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as error:
            conn.close()
            result.errors[type(error).__name__] += 1
            continue
        elapsed_ms = (time.perf_counter() - started) * 1000
        error_name = _acceptable(job.kind, response.status, response.getheader("Location"))
        if error_name:
            result.errors[error_name] += 1
        else:
            result.ok += 1
            result.latencies_ms.append(elapsed_ms)
    result.ended_at = time.monotonic()
    conn.close()
    return result


# --- Results -------------------------------------------------------------------------------------


@dataclass
class Measurement:
    kind: str
    ok: int
    errors: Counter
    seconds: float
    latencies_ms: list[float]
    server_cpu_ms: float | None  # gunicorn workers' CPU per successful request

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, q: float) -> float:
        return _percentile(self.latencies_ms, q)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _error_text(errors: Counter) -> str:
    total = sum(errors.values())
    if not total:
        return "errors 0"
    return f"errors {total} (" + ", ".join(f"{k}: {v}" for k, v in errors.most_common()) + ")"


# --- Setup ---------------------------------------------------------------------------------------


def _run(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 600) -> str:
    done = subprocess.run(cmd, cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise SetupError(f"{' '.join(cmd[:4])} ... failed ({done.returncode}):\n{tail}")
    return done.stdout


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _psql(admin_url: str, sql: str) -> str:
    if not shutil.which("psql"):
        raise SetupError("psql not found (the PostgreSQL client is needed for --database postgres)")
    return _run(["psql", admin_url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                timeout=60).strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def bench_env(args: argparse.Namespace, data_dir: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in INHERITED_OUT and not k.startswith(("DJANGO_", "ALLIANCE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="alliance_portal.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        MFA_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        ALLIANCE_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        ALLIANCE_BENCHMARK_ENDPOINTS="true",
        DJANGO_SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
        PYTHONUNBUFFERED="1",
    )
    if args.broker == "redis":
        base = args.redis_url.rstrip("/")
        env["CELERY_BROKER_URL"] = f"{base}/{REDIS_BROKER_DB}"
        env["CACHE_URL"] = "rediscache" + base[len("redis"):] + f"/{REDIS_CACHE_DB}"
    else:
        env["CELERY_BROKER_URL"] = "filesystem://"
    if args.conn_max_age is not None:
        env["DATABASE_CONN_MAX_AGE"] = str(args.conn_max_age)
    return env


def start_gunicorn(env: dict[str, str], workers: int, log_path: Path) -> tuple[
        subprocess.Popen, int]:
    port = _free_port()
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "alliance_portal.wsgi:application",
         "--workers", str(workers), "--bind", f"127.0.0.1:{port}"],
        cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            status, _, _ = _request(port, "GET", "/healthz", {})
            if status == 200:
                return process, port
        except OSError:
            pass
        time.sleep(0.3)
    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
    stop_gunicorn(process)
    raise SetupError(f"gunicorn did not answer /healthz within 60 s:\n{tail}")


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# --- Logging in ----------------------------------------------------------------------------------


@dataclass
class PatientSession:
    email: str
    cookies: dict[str, str]
    token: str
    local_date: str

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


def _request(port: int, method: str, path: str, cookies: dict[str, str],
             body: dict[str, str] | None = None) -> tuple[int, http.client.HTTPResponse, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = browser_headers(port)
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    data = None
    if body is not None:
        data = urlencode(body).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        text = response.read().decode(errors="replace")
    finally:
        conn.close()
    for header in response.msg.get_all("Set-Cookie") or []:
        for name, morsel in SimpleCookie(header).items():
            # The flash message is shown (and cleared) by the GET a browser makes after the
            # redirect; the clients do not make it, so they do not carry the message either.
            if name == "messages":
                continue
            if morsel.value and morsel["max-age"] != "0":
                cookies[name] = morsel.value
            else:
                cookies.pop(name, None)
    return response.status, response, text


def login(port: int, email: str) -> PatientSession | None:
    """Log in through allauth's form; None if the patient has nothing to check in for today."""
    cookies: dict[str, str] = {}
    for _attempt in range(30):
        status, _, page = _request(port, "GET", "/accounts/login/", cookies)
        token = TOKEN_RE.search(page)
        if status != 200 or not token:
            raise SetupError(f"login page: HTTP {status}")
        status, response, _ = _request(
            port, "POST", "/accounts/login/", cookies,
            {"csrfmiddlewaretoken": token.group(1), "login": email, "password": DEMO_PASSWORD},
        )
        if status != 429:  # allauth limits logins per IP (30/min): wait and try again
            break
        time.sleep(3)
    location = response.getheader("Location") or ""
    if status != 302 or location.startswith("/accounts/"):
        raise SetupError(f"login of a demo patient: HTTP {status} to {location or '-'}")
    # Logging in rotates the CSRF secret: take the token from the page the check-in is made on.
    status, _, page = _request(port, "GET", CHECKIN_PATH, cookies)
    token, local_date = TOKEN_RE.search(page), LOCAL_DATE_RE.search(page)
    if status != 200:
        raise SetupError(f"GET {CHECKIN_PATH} after login: HTTP {status}")
    if 'name="all_done"' not in page or not token or not local_date:
        return None
    return PatientSession(email, cookies, token.group(1), local_date.group(1))


def login_patients(port: int, wanted: int, available: int) -> list[PatientSession]:
    sessions: list[PatientSession] = []
    for number in range(1, available + 1):
        session = login(port, f"patient{number:05d}@demo.test")
        if session:
            sessions.append(session)
            if len(sessions) == wanted:
                return sessions
    raise SetupError(f"only {len(sessions)} of {available} demo patients have steps due today")


# --- Measuring -----------------------------------------------------------------------------------


def measure(pool: multiprocessing.pool.Pool, server: subprocess.Popen, port: int,
            sessions: list[PatientSession], kind: str, seconds: float,
            max_requests: int) -> Measurement:
    jobs = []
    start_at = time.monotonic() + 1.0
    for session in sessions:
        fields = {"csrfmiddlewaretoken": session.token}
        if kind == "A":
            fields |= {"local_date": session.local_date, "all_done": "1"}
        jobs.append(Job(
            port=port, kind=kind, path=CHECKIN_PATH if kind == "A" else NOOP_PATH,
            body=urlencode(fields).encode(), cookie=session.cookie_header,
            start_at=start_at, seconds=seconds, max_requests=max_requests,
        ))
    cpu_before = workers_cpu(server.pid)
    results = pool.map(run_client, jobs, chunksize=1)
    cpu_after = workers_cpu(server.pid)
    if len({r.pid for r in results}) != len(results) or max(r.late_start for r in results) > 0.5:
        print("  warning: clients did not all start together; figures are less reliable")
    errors: Counter = Counter()
    for r in results:
        errors.update(r.errors)
    return Measurement(
        kind=kind, ok=sum(r.ok for r in results), errors=errors,
        seconds=max(r.ended_at for r in results) - start_at,
        latencies_ms=[ms for r in results for ms in r.latencies_ms],
        server_cpu_ms=_cpu_per_request(cpu_before, cpu_after, sum(r.ok for r in results)),
    )


def workers_cpu(master_pid: int) -> dict[int, float]:
    """CPU seconds (user + system) so far of each gunicorn worker, i.e. each child of the
    master, read from Linux's /proc (empty elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    cpu: dict[int, float] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == master_pid:  # ppid; then utime and stime are the 12th/13th after it
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return cpu


def _cpu_per_request(before: dict[int, float], after: dict[int, float], ok: int) -> float | None:
    if not before or before.keys() != after.keys() or not ok:
        return None  # not Linux, or a worker was restarted: no figure rather than a wrong one
    return (sum(after.values()) - sum(before.values())) * 1000 / ok


def _ms(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.1f}"


def _line(label: str, m: Measurement) -> str:
    return (f"  {label:<9} {m.kind} {KINDS[m.kind]:<22} {m.rate:8.1f} req/s  "
            f"{m.ok:6d} ok  p50 {m.percentile(0.5):6.1f} ms  p95 {m.percentile(0.95):6.1f} ms  "
            f"server CPU {_ms(m.server_cpu_ms)} ms/req  {_error_text(m.errors)}")


def server_side(env: dict[str, str], email: str) -> dict[str, dict]:
    out = _run([sys.executable, "-m", "benchmarks._server_side", email, DEMO_PASSWORD],
               env=env, timeout=300)
    return json.loads(out.strip().splitlines()[-1])


def _machine(args: argparse.Namespace, database_version: str) -> str:
    return (
        f"machine: {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, Django {version('Django')}, "
        f"gunicorn {version('gunicorn')} ({args.workers} sync workers)\n"
        f"database: {database_version}; broker/cache: "
        + (f"Redis {args.redis_url} (db {REDIS_BROKER_DB}/{REDIS_CACHE_DB})"
           if args.broker == "redis" else "filesystem broker, file cache")
        + "; DATABASE_CONN_MAX_AGE="
        + (str(args.conn_max_age) if args.conn_max_age is not None else "project default (0)")
        + f"\nload: {args.clients} client processes on the same machine, "
        f"{args.seconds:g} s per measurement, {args.rounds} rounds, warm-up {args.warmup:g} s"
    )


def run(args: argparse.Namespace) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="alliance-bench-"))
    database_name = f"alliance_bench_{secrets.token_hex(4)}"
    admin_url = _with_path(args.postgres_url, "/postgres")
    created_database = False
    gunicorn = None
    pool = None
    try:
        if args.database == "postgres":
            _psql(admin_url, f"CREATE DATABASE {database_name}")
            created_database = True
            database_url = _with_path(args.postgres_url, f"/{database_name}")
            database_version = "PostgreSQL " + _psql(admin_url, "SHOW server_version")
        else:
            database_url = f"sqlite:///{data_dir / 'bench.sqlite3'}"
            import sqlite3

            database_version = f"SQLite {sqlite3.sqlite_version}"
        if args.broker == "redis" and not _redis_answers(args.redis_url):
            raise SetupError(f"Redis does not answer at {args.redis_url} (or use --broker "
                             "filesystem)")
        env = bench_env(args, data_dir, database_url)
        started = time.monotonic()
        manage = [sys.executable, "manage.py"]
        _run([*manage, "migrate", "--noinput", "-v", "0"], env)
        _run([*manage, "collectstatic", "--noinput", "-v", "0"], env)
        _run([*manage, "seed_demo", "--patients", str(args.patients)], env)
        print(f"setup: migrated, collected static files, seeded {args.patients} demo patients "
              f"in {time.monotonic() - started:.0f} s")
        gunicorn, port = start_gunicorn(env, args.workers, data_dir / "gunicorn.log")
        sessions = login_patients(port, args.clients + 1, args.patients)
        clients, spare = sessions[:-1], sessions[-1]
        print(_machine(args, database_version))
        print("load average before: {:.2f} {:.2f} {:.2f} (other processes share these CPUs)"
              .format(*os.getloadavg()))

        cost = server_side(env, spare.email)
        print("in-process, one request (Django test client, no HTTP server):")
        for kind, name in (("A", "checkin"), ("B", "noop")):
            c = cost[name]
            kinds = ", ".join(f"{v} {k}" for k, v in sorted(c["kinds"].items()))
            print(f"  {kind} {KINDS[kind]:<22} {c['queries']:3d} SQL queries ({kinds}); "
                  f"median {c['median_ms']:.1f} ms (CPU {c['cpu_median_ms']:.1f} ms), "
                  f"p95 {c['p95_ms']:.1f} ms")

        pool = multiprocessing.get_context("spawn").Pool(len(clients))
        pool.map(_ready, range(len(clients)), chunksize=1)  # start them before any timing
        for kind in ("A", "B"):
            measure(pool, gunicorn, port, clients, kind, args.warmup, args.max_requests)
        rounds: dict[str, list[Measurement]] = {"A": [], "B": []}
        print("under gunicorn:")
        for number in range(1, args.rounds + 1):
            order = ("A", "B") if number % 2 else ("B", "A")
            for kind in order:
                m = measure(pool, gunicorn, port, clients, kind, args.seconds,
                            args.max_requests)
                rounds[kind].append(m)
                print(_line(f"round {number}", m))
        print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        return report(rounds)
    except SetupError as error:
        print(f"setup failed: {error}", file=sys.stderr)
        return 2
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        if gunicorn is not None:
            stop_gunicorn(gunicorn)
        if created_database:
            try:
                _psql(admin_url, f"DROP DATABASE IF EXISTS {database_name} WITH (FORCE)")
            except (SetupError, subprocess.TimeoutExpired) as error:
                print(f"could not drop database {database_name}: {error}", file=sys.stderr)
        shutil.rmtree(data_dir, ignore_errors=True)


def report(rounds: dict[str, list[Measurement]]) -> int:
    median = {k: statistics.median(m.rate for m in ms) for k, ms in rounds.items()}
    errors = {k: sum((m.errors for m in ms), Counter()) for k, ms in rounds.items()}
    pooled = {k: [ms for m in measured for ms in m.latencies_ms] for k, measured in rounds.items()}
    print("summary (median of rounds; latencies pooled over rounds):")
    cpu = {k: _median_or_none([m.server_cpu_ms for m in ms]) for k, ms in rounds.items()}
    for kind in ("A", "B"):
        print(f"  {kind} {KINDS[kind]:<22} {median[kind]:8.1f} req/s  "
              f"p50 {_percentile(pooled[kind], 0.5):6.1f} ms  "
              f"p95 {_percentile(pooled[kind], 0.95):6.1f} ms  "
              f"server CPU {_ms(cpu[kind])} ms/req  {_error_text(errors[kind])}")
    if cpu["A"] and cpu["B"]:
        print(f"gunicorn workers' CPU per request B/A = {cpu['B'] / cpu['A']:.2f} (the ratio if "
              "the workers' own CPU were the only limit; excludes the database and the clients)")
    ratio = median["A"] / median["B"] if median["B"] else 0.0
    per_round = ", ".join(f"{a.rate / b.rate:.2f}" for a, b in zip(rounds["A"], rounds["B"],
                                                                  strict=True) if b.rate)
    verdict = "PASS" if ratio >= GOAL else "BELOW GOAL"
    print(f"ratio A/B = {ratio:.2f} (per round: {per_round}); goal >= {GOAL}: {verdict}")
    has_errors = any(sum(e.values()) for e in errors.values())
    if has_errors:
        print("requests failed: see the error counts above")
    return 0 if ratio >= GOAL and not has_errors else 1


def _median_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Check-in POST throughput under gunicorn vs a bare Django view (ratio).")
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432",
                        help="server to create the throwaway database on (default: %(default)s)")
    parser.add_argument("--broker", choices=("redis", "filesystem"), default=None,
                        help="Celery broker (and cache); default redis for postgres, "
                             "filesystem for sqlite")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379")
    parser.add_argument("--seconds", type=float, default=20, help="per measurement")
    parser.add_argument("--warmup", type=float, default=2, help="per kind, before round 1")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--patients", type=int, default=200, help="demo cohort to seed")
    parser.add_argument("--max-requests", type=int, default=50_000,
                        help="per client per measurement (a bound besides --seconds)")
    parser.add_argument("--conn-max-age", type=int, default=None,
                        help="DATABASE_CONN_MAX_AGE for the server (default: the project's, 0)")
    args = parser.parse_args(argv)
    if args.broker is None:
        args.broker = "redis" if args.database == "postgres" else "filesystem"
    if not 1 <= args.clients < args.patients:
        parser.error("--clients must be at least 1 and below --patients")
    if args.seconds <= 0 or args.seconds > 600 or args.rounds < 1 or args.rounds > 10:
        parser.error("--seconds must be in (0, 600] and --rounds in 1..10")
    return args


if __name__ == "__main__":
    sys.exit(run(parse_args()))
