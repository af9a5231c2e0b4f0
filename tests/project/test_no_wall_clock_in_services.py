"""Services, selectors and the pure domain modules take ``now``/``today`` from their caller:
only entry points (views, tasks, management commands, middleware, demo seeding) read the clock.
A test can then pass any instant, and nothing depends on the day it runs (issue 12)."""

import ast
from pathlib import Path

from tests.conftest import PROJECT_DIR

APPS = ("accounts", "core", "careplans", "catalogue", "checkins", "reminders", "flags", "clinic",
        "interop",
        "demo")
# Modules that must not read the clock. Those after ``charts.py`` are the pure domain
# modules (rules, windows, timing): they must stay pure too.
MODULES = {
    "services.py", "selectors.py", "sweep.py", "adherence.py", "charts.py",
    "detect.py", "timing.py", "schedule.py", "rules.py", "fit.py", "findings.py",
}
# ``owner.attr`` reads the wall clock (called, or handed on as a callable).
CLOCK_READS = {
    ("timezone", "now"), ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
    ("date", "today"), ("time", "time"), ("time", "time_ns"),
}
# These read the clock only when called without the value to convert.
CLOCK_WITHOUT_VALUE = {("timezone", "localdate"), ("timezone", "localtime")}


def _owner_name(node: ast.expr) -> str | None:
    """``timezone`` for ``timezone.now`` and for ``django.utils.timezone.now``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def clock_reads(source: str, filename: str) -> list[str]:
    """Each place in ``source`` that reads the wall clock, as ``file:line: what``."""
    tree = ast.parse(source, filename=filename)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            pair = (_owner_name(node.value), node.attr)
            if pair in CLOCK_READS:
                found.append((node.lineno, f"{pair[0]}.{pair[1]}"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            pair = (_owner_name(func.value), func.attr)
            given = node.args or any(k.arg == "value" for k in node.keywords)
            if pair in CLOCK_WITHOUT_VALUE and not given:
                found.append((node.lineno, f"{pair[0]}.{pair[1]}() without a value"))
            if func.attr == "local_today":
                found.append((node.lineno, ".local_today()"))
    return [f"{filename}:{line}: {what}" for line, what in sorted(found)]


def checked_files() -> list[Path]:
    return sorted(
        path for app in APPS for path in (PROJECT_DIR / app).rglob("*.py")
        if path.name in MODULES and "migrations" not in path.parts
    )


def test_the_guard_finds_each_kind_of_clock_read():
    # given
    source = (
        "import time\n"
        "from datetime import date, datetime\n"
        "from django.utils import timezone\n"
        "def f(patient, now):\n"
        "    a = timezone.now()\n"
        "    b = datetime.now(tz=None)\n"
        "    c = date.today()\n"
        "    d = time.time()\n"
        "    e = patient.local_today()\n"
        "    g = now or timezone.now()\n"
        "    h = timezone.localdate()\n"
        "    i = timezone.localdate(now)\n"
        "    j = timezone.localtime(value=now)\n"
        "    return patient.local_date(now)\n"
    )
    # when
    found = clock_reads(source, "example.py")
    # then: every read, and nothing that converts a given instant
    assert [line.split(":")[1] for line in found] == ["5", "6", "7", "8", "9", "10", "11"]


def test_no_service_or_selector_reads_the_wall_clock():
    # given
    files = checked_files()
    assert len(files) >= 15, "the guard should see every app's services and selectors"
    # when
    found = [
        read
        for path in files
        for read in clock_reads(path.read_text(), str(path.relative_to(PROJECT_DIR)))
    ]
    # then
    assert found == [], (
        "Take `now: datetime` (or `today: date`) from the caller instead:\n" + "\n".join(found)
    )
