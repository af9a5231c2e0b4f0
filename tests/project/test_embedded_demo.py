"""Smoke of the README's first command on the embedded default: SQLite + filesystem broker.

Starts `scripts/demo` (web, worker, beat), checks the login page and a task round-trip through
the filesystem broker, then stops every process it started.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import PROJECT_DIR

pytestmark = pytest.mark.slow

SERVICE_VARS = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_login_page(url: str, process: subprocess.Popen, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return -1
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status
        except OSError:
            time.sleep(0.5)
    return 0


def _stop_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_demo_command_starts_serves_login_and_round_trips_a_task(tmp_path):
    # given: the embedded default, whatever services the surrounding run uses
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(ALLIANCE_DATA_DIR=str(tmp_path / "var"), DEMO_PORT=str(port))
    env.pop("DJANGO_SECRET_KEY", None)
    log = (tmp_path / "demo.log").open("wb")
    demo = subprocess.Popen(
        ["bash", "scripts/demo"], cwd=PROJECT_DIR, env=env, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        # when
        status = _wait_for_login_page(f"http://127.0.0.1:{port}/accounts/login/", demo, 180)
        ping = subprocess.run(
            [sys.executable, "manage.py", "celery_ping", "--timeout", "60"],
            cwd=PROJECT_DIR, env={**env, "DJANGO_DEBUG": "true"},
            capture_output=True, text=True, check=False, timeout=90,
        )
    finally:
        _stop_group(demo)
    output = (tmp_path / "demo.log").read_text(errors="replace")
    # then
    assert status == 200, output[-3000:]
    assert ping.returncode == 0, ping.stdout + ping.stderr + output[-3000:]
    assert "round-trip OK" in ping.stdout
    assert "filesystem://" in output
    assert "patient@demo.test" in output
    assert "alliance-demo-2026" in output
    deadline = time.monotonic() + 20
    while _group_alive(demo.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _group_alive(demo.pid), "demo processes kept running after stop"
