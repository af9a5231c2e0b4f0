"""Drill: the database restarts mid-run; the web app answers the 503 page and recovers by itself.

gunicorn reaches PostgreSQL through a TCP proxy in the test (the shared server is never
restarted), with persistent connections (``DATABASE_CONN_MAX_AGE=60``, the hard case). Patients
keep loading and posting their check-in page while the proxy is cut (every connection closed,
new ones refused) and then restored. Nobody restarts gunicorn.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from checkins.models import CheckIn
from tests.conftest import database_url_for_test_db
from tests.drills._outcomes import clear_of_boundaries
from tests.drills._patients import (
    PatientBrowser,
    Response,
    checkin_fields,
    routine_patients,
    saved,
)
from tests.drills._servers import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CLIENTS = 4
UP, CUT, AFTER = 3.0, 4.0, 5.0  # seconds of each phase
OUTAGE_TEXT = "The portal is briefly unavailable"


@dataclass(frozen=True)
class Outcome:
    response: Response
    kind: str  # "ok", "outage" (the 503 page) or what else came back
    day: tuple[int, date] | None  # the check-in it saved, if it was a successful POST


@pytest.fixture
def db_proxy(services_required):
    db = connection.settings_dict
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    proxy.start()
    yield proxy
    proxy.stop()


def test_database_restart_mid_run_gives_the_503_page_then_recovers_by_itself(
    stack, db_proxy, derm, figures
):
    # given: gunicorn on PostgreSQL through the proxy; four patients using the portal
    clear_of_boundaries({"Europe/London"}, margin=60)
    patients = routine_patients(derm, CLIENTS)
    web = stack.web(workers=2, DATABASE_URL=_through(db_proxy), DATABASE_CONN_MAX_AGE="60")
    browsers = [PatientBrowser(web.port, p.patient) for p in patients]
    assert [b.open_today().status for b in browsers] == [200] * CLIENTS
    # when: the database goes away mid-run, then comes back
    outcomes, cut_at, restored_at = _run_through_outage(db_proxy, patients, browsers)
    # then: never anything but the page or the 503 page, and no traceback in any body
    kinds = {o.kind for o in outcomes}
    before = [o.kind for o in outcomes if o.response.ended < cut_at]
    during = [o.kind for o in outcomes
              if o.response.started > cut_at + 0.5 and o.response.ended < restored_at]
    after = [o.kind for o in outcomes if o.response.started > restored_at]
    assert kinds <= {"ok", "outage"}, kinds
    assert (set(before), set(during), set(after)) == ({"ok"}, {"outage"}, {"ok"})
    assert not any("Traceback" in o.response.body for o in outcomes)
    # then: whatever the server said it saved is saved
    days = {o.day for o in outcomes if o.day is not None}
    assert days <= set(CheckIn.objects.values_list("patient_id", "local_date"))
    first_ok = min(o.response.ended for o in outcomes
                   if o.kind == "ok" and o.response.started > restored_at)
    failed = sum(o.kind != "ok" for o in outcomes)
    # then: the server log names the outage in one line per request (core/logging.py), with
    # no traceback (the driver's message can quote SQL parameters)
    logged = web.count("ERROR django.request database unavailable (")
    assert logged > 0
    assert web.count("Traceback") == 0
    figures(
        f"database outage: {len(outcomes)} requests ({len(before)} before, {len(during)} during "
        f"a {CUT:g} s cut, {len(after)} after), {failed} answered with the 503 page, "
        f"{sum(o.response.status >= 500 for o in outcomes) - failed} other 5xx, no traceback "
        f"in any page; first success {first_ok - restored_at:.2f} s after the database was "
        f"back, gunicorn not restarted; {len(days)} check-ins reported saved, all stored; "
        f"server log: {logged} one-line 'database unavailable' errors, 0 tracebacks"
    )


def _through(proxy: TcpProxy) -> str:
    parts = urlsplit(database_url_for_test_db())
    netloc = parts.netloc.rsplit(":", 1)[0] + f":{proxy.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _run_through_outage(proxy: TcpProxy, patients, browsers
                        ) -> tuple[list[Outcome], float, float]:
    """Clients load and post in a loop: UP seconds up, CUT seconds cut, AFTER seconds back."""
    outcomes: list[Outcome] = []
    stop = threading.Event()

    def client(patient, browser) -> None:
        today = patient.patient.local_today()
        sent = 0
        while not stop.is_set():
            sent += 1
            if sent % 2:
                outcomes.append(_classify(browser.open_today(), None))
                continue
            done = (True, sent % 4 == 0, True)
            response = browser.post_checkin(checkin_fields(patient.steps, today, done))
            outcomes.append(_classify(response, (patient.patient.pk, today)))

    threads = [threading.Thread(target=client, args=pair) for pair in zip(patients, browsers,
                                                                          strict=True)]
    for thread in threads:
        thread.start()
    time.sleep(UP)
    cut_at = time.monotonic()
    proxy.cut()
    time.sleep(CUT)
    proxy.restore()
    restored_at = time.monotonic()
    time.sleep(AFTER)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes, cut_at, restored_at


def _classify(response: Response, day: tuple[int, date] | None) -> Outcome:
    if response.status == 200 or (day is not None and saved(response, day[1])):
        return Outcome(response, "ok", day if response.status == 302 else None)
    if (response.status == 503 and OUTAGE_TEXT in response.body
            and response.retry_after == "30"):
        return Outcome(response, "outage", None)
    return Outcome(response, f"HTTP {response.status}", None)
