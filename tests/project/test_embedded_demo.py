"""The README's first command on the embedded default (SQLite + filesystem broker), run as a new
user runs it: `scripts/demo` starts web, worker and beat; we browse, round-trip a task, press
Ctrl-C (SIGINT to the terminal's process group) and read everything it printed.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR

pytestmark = pytest.mark.slow

SERVICE_VARS = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL", "DJANGO_SECRET_KEY",
                "MFA_ENCRYPTION_KEYS", "PHOTO_ENCRYPTION_KEYS", "LOG_LEVEL", "REQUEST_LOG_LEVEL")
TOKEN = "tok-9d2e61ab"
QUERY_SECRET = "qs-secret-4417"
# (path requested, what the access line shows, status)
REQUESTS = [
    ("/accounts/login/", "/accounts/login/", 200),
    ("/no/such/page/", "(no route)", 404),
    (f"/reminders/unsubscribe/{TOKEN}/?code={QUERY_SECRET}",
     "/reminders/unsubscribe/<token>/", 400),
    (f"/accounts/login/?next=/today/&code={QUERY_SECRET}", "/accounts/login/", 200),
]
# Any line about a request (django.request would add a second one for a 4xx).
REQUEST_LINE = re.compile(r" (?:INFO|WARNING|ERROR) django\.(?:server|request) (.*)$")
STARTED = re.compile(r"^(web|worker|beat)\.1 started \(pid=(\d+)\)$", re.MULTILINE)


@dataclass
class DemoRun:
    output: str
    data_dir: Path
    login_status: int
    statuses: list[int]
    ping: subprocess.CompletedProcess[str]
    exit_code: int | None
    still_running: list[str]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _wait_for_login_page(url: str, process: subprocess.Popen, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return -1
        try:
            return _status(url)
        except OSError:
            time.sleep(0.5)
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _children(log: Path) -> dict[str, int]:
    """web, worker and beat as honcho started them (each leads its own process group)."""
    return {name: int(pid) for name, pid in STARTED.findall(log.read_text(errors="replace"))}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> DemoRun:
    # given: the embedded default, whatever services the surrounding run uses
    tmp = tmp_path_factory.mktemp("demo")
    port, data_dir, log_path = _free_port(), tmp / "var", tmp / "demo.log"
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(ALLIANCE_DATA_DIR=str(data_dir), DEMO_PORT=str(port))
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        demo = subprocess.Popen(
            ["bash", "scripts/demo"], cwd=PROJECT_DIR, env=env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    exit_code = None
    try:
        # when: a visitor browses, a task round-trips, then Ctrl-C
        login_status = _wait_for_login_page(f"{base}/accounts/login/", demo, 240)
        statuses = [_status(base + path) for path, _, _ in REQUESTS]
        ping = subprocess.run(
            [sys.executable, "manage.py", "celery_ping", "--timeout", "60"],
            cwd=PROJECT_DIR, env={**env, "DJANGO_DEBUG": "true"},
            capture_output=True, text=True, check=False, timeout=90,
        )
        time.sleep(1)  # the last access line
        os.killpg(demo.pid, signal.SIGINT)
        exit_code = demo.wait(timeout=60)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
        children = _children(log_path)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in children.values()) and time.monotonic() < deadline:
            time.sleep(0.2)
        still_running = [name for name, pid in children.items() if _alive(pid)]
        for pid in children.values():
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
    return DemoRun(
        output=log_path.read_text(errors="replace"), data_dir=data_dir,
        login_status=login_status, statuses=statuses, ping=ping, exit_code=exit_code,
        still_running=still_running,
    )


def test_the_demo_serves_the_login_page_and_round_trips_a_task(demo_run):
    # then
    assert demo_run.login_status == 200, demo_run.output[-3000:]
    assert demo_run.ping.returncode == 0, demo_run.ping.stdout + demo_run.ping.stderr
    assert "round-trip OK" in demo_run.ping.stdout
    assert "filesystem://" in demo_run.output
    assert "patient@demo.test" in demo_run.output
    assert "alliance-demo-2026" in demo_run.output


def test_the_demo_prints_one_plain_line_per_request_and_no_traceback(demo_run):
    # then: the login wait's request, then each request in order, as method, route, status
    access_lines = [m.group(1) for line in demo_run.output.splitlines()
                    if (m := REQUEST_LINE.search(line))]
    expected = [f"GET {shown} {status}" for _, shown, status in
                [("/accounts/login/", "/accounts/login/", 200), *REQUESTS]]
    assert demo_run.statuses == [status for _, _, status in REQUESTS]
    assert access_lines == expected, demo_run.output[-3000:]
    assert demo_run.output.count("Traceback") == 0
    assert TOKEN not in demo_run.output
    assert QUERY_SECRET not in demo_run.output


def test_ctrl_c_stops_web_worker_and_beat_without_sigkill_or_errors(demo_run):
    # then
    assert demo_run.exit_code is not None, "scripts/demo kept running after Ctrl-C"
    assert demo_run.still_running == []
    assert "SIGKILL" not in demo_run.output
    assert re.findall(r".*\bERROR\b.*", demo_run.output) == []
    assert "worker.1 stopped (rc=0)" in demo_run.output
    assert "beat.1 stopped (rc=0)" in demo_run.output
    assert "web.1 stopped" in demo_run.output


def test_the_broker_keeps_its_exchange_tables_in_the_data_folder(demo_run):
    # then: not in ./control of whatever folder the processes started in
    tables = {p.name for p in (demo_run.data_dir / "broker" / "control").iterdir()}
    assert {"celery.exchange", "celery.pidbox.exchange"} <= tables


def test_the_broker_connects_without_a_warning(demo_run):
    # then: kombu warns on each connection to a broker URL without a host
    assert "No hostname was supplied" not in demo_run.output
