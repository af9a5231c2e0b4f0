"""Real processes for the fault drills, each on a free loopback port and stopped by its test:
a private Redis (the shared one's databases belong to others), gunicorn, celery worker and beat,
and a TCP proxy in front of PostgreSQL that the drill can cut."""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import redis
from celery import Celery
from kombu import Connection

from benchmarks.checkin_throughput import _free_port, start_gunicorn, stop_gunicorn
from tests.conftest import PROJECT_DIR, database_url_for_test_db

free_port = _free_port


def wait_for(check, *, timeout: float, every: float = 0.1, what: str | Callable[[], str] = ""):
    """Poll ``check`` until it returns something truthy; that value, or AssertionError saying
    ``what`` was awaited (a callable: called then, to describe the state at the time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for "
                         f"{what() if callable(what) else what or 'a condition'}")


class RedisServer:
    """``redis-server`` without persistence: stopping it loses every queued message, as a
    crashed or restarted broker would."""

    def __init__(self, workdir: Path) -> None:
        self.workdir, self.port = workdir, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_for(self.answers, timeout=10, what=f"redis-server on port {self.port}")

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def service_env(data_dir: Path, redis_server: RedisServer, **extra: str) -> dict[str, str]:
    """What a web, worker or beat process of the drill runs with: production settings (DEBUG off,
    HTTPS behind a TLS proxy) on the test database, broker and cache on the private Redis (one
    server for both, as docker-compose has it). The test's DJANGO_SECRET_KEY is inherited: the
    sessions the test makes are valid in the processes."""
    return {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
        "ALLIANCE_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url_for_test_db(),
        "CELERY_BROKER_URL": redis_server.url(0),
        "CACHE_URL": "rediscache" + redis_server.url(1)[len("redis"):],
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


class Gunicorn:
    def __init__(self, env: dict[str, str], log_path: Path, workers: int = 2) -> None:
        self.process, self.port = start_gunicorn(env, workers, log_path)
        self.log_path = log_path

    def stop(self) -> None:
        stop_gunicorn(self.process)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def count(self, text: str) -> int:
        return self.log_path.read_text(errors="replace").count(text)


class CeleryProcess:
    """``celery worker`` or ``celery beat`` in its own process group, logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path,
                 ready: bytes) -> None:
        self.name, self.args, self.env, self.log_path, self.ready = name, args, env, log_path, ready
        self.process: subprocess.Popen[bytes] | None = None
        self._seen = 0  # "ready" lines in the log before the latest launch

    @classmethod
    def worker(cls, name: str, env: dict[str, str], log_dir: Path,
               pool: str = "solo") -> CeleryProcess:
        args = ["worker", f"--pool={pool}", "--loglevel=INFO", "--without-gossip",
                "--without-mingle", "--hostname", f"drill-{name}@%h"]
        if pool == "prefork":
            args.append("--concurrency=2")  # as docker-compose runs it
        return cls(name, args, env, log_dir / f"{name}.log", b" ready.")

    @classmethod
    def beat(cls, name: str, env: dict[str, str], log_dir: Path) -> CeleryProcess:
        args = ["beat", "--loglevel=INFO", "--schedule", str(log_dir / f"{name}-schedule")]
        return cls(name, args, env, log_dir / f"{name}.log", b"beat: Starting...")

    def start(self, timeout: float = 60) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        self._seen = self.log_path.read_bytes().count(self.ready) if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "alliance_portal", *self.args],
                cwd=PROJECT_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        wait_for(lambda: self.log_path.read_bytes().count(self.ready) > self._seen
                 or self.process.poll() is not None, timeout=timeout, what=f"{self.name} ready")
        assert self.process.poll() is None, f"{self.name} exited:\n{self.log()}"

    def kill(self) -> None:
        """SIGKILL to the whole group, as an out-of-memory killer or a lost host would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def runs(self, task: str) -> list[tuple[float, float]]:
        """(start, end) in seconds of each successful run of ``task`` (worker log lines)."""
        spans = []
        for stamp, took in re.findall(
                rf"^(\S+ \S+) INFO \S+ Task {re.escape(task)}\[[^]]+\] succeeded in ([\d.]+)s",
                self.log_path.read_text(errors="replace"), flags=re.MULTILINE):
            # The log's local time; any zone will do, only differences are used.
            end = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC)
            end = end.timestamp()
            spans.append((end - float(took), end))
        return spans

    def count(self, text: str) -> int:
        return self.log_path.read_text(errors="replace").count(text)

    def succeeded(self, task: str) -> int:
        """How many runs of ``task`` this process (worker) logged as succeeded."""
        return len(re.findall(rf"Task {re.escape(task)}\[[^]]+\] succeeded",
                              self.log_path.read_text(errors="replace")))


def send_task(broker_url: str, name: str, *args: object) -> None:
    """Publish a task by name on the private broker, as beat would. An explicit connection:
    Celery prefers the CELERY_BROKER_URL variable (the shared Redis) to any app's broker."""
    app = Celery("drill", set_as_current=False)
    try:
        with Connection(broker_url) as connection:
            app.send_task(name, args=list(args), connection=connection)
    finally:
        app.close()


class TcpProxy:
    """A loopback TCP proxy in a thread. ``cut()`` closes every connection and refuses new ones
    (a database restarting); ``restore()`` accepts again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, free_port()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self._listener.settimeout(0.1)
        self._stop.clear()
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    restore = start

    def cut(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.close()  # new connections: ECONNREFUSED
            self._listener = None
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                _close(sock)

    stop = cut

    def _accept(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by cut()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, client: socket.socket, upstream: socket.socket) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, client)
            try:
                while client.fileno() != -1 and upstream.fileno() != -1:  # -1: cut() closed it
                    for key, _ in selector.select(timeout=1):
                        data = key.fileobj.recv(65536)
                        if not data:
                            raise ConnectionError
                        key.data.sendall(data)
            except (OSError, ValueError):
                pass
        _close(client)
        _close(upstream)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already shut down by the other side
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
