"""Patients with a known routine, signed in over HTTP with sessions made in advance, posting the
check-in form as a browser behind the TLS proxy would (benchmarks/checkin_throughput.py's way)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.test import Client

from accounts.models import Patient
from benchmarks.checkin_throughput import TOKEN_RE, _request
from tests.factories import PatientFactory, backdated_revision, item_draft

CHECKIN_PATH = "/today/"
Step = tuple[int, str]  # (plan item id, slot)


@dataclass(frozen=True)
class RoutinePatient:
    patient: Patient
    steps: tuple[Step, ...]  # the three steps due every day


def routine_patients(derm, count: int) -> list[RoutinePatient]:
    """Patients in London with a plan in effect for 30 days: a cleanser morning and evening and
    a nightly retinoid (three steps every day)."""
    made = []
    for _ in range(count):
        patient = PatientFactory(dermatologist=derm, timezone="Europe/London")
        revision = backdated_revision(
            patient, author=derm, number=1,
            effective_from=patient.local_today() - timedelta(days=30),
            items=[item_draft(name="Gentle cleanser", kind="skincare", time_of_day="both",
                              position=1),
                   item_draft(name="Adapalene 0.1% gel", position=2)],
        )
        cleanser, retinoid = (revision.items.get(position=n) for n in (1, 2))
        made.append(RoutinePatient(patient, ((cleanser.pk, "morning"), (cleanser.pk, "evening"),
                                             (retinoid.pk, "evening"))))
    return made


def checkin_fields(steps: tuple[Step, ...], local_date: date, done: tuple[bool, ...], *,
                   severe_on: int | None = None) -> dict[str, str]:
    """The full check-in form: each step done or skipped (with a reason), and optionally a
    severe side effect blamed on item ``severe_on``."""
    fields = {"local_date": local_date.isoformat(), "side_effect": "none", "satisfaction": "4"}
    for (item_id, slot), was_done in zip(steps, done, strict=True):
        fields[f"step_{item_id}_{slot}"] = "done" if was_done else "skipped"
        fields[f"reason_{item_id}_{slot}"] = "" if was_done else "no_time"
    if severe_on is not None:
        fields |= {"side_effect": "severe", "side_effect_item": str(severe_on),
                   "side_effect_text": "Burning and peeling"}
    return fields


@dataclass
class Response:
    status: int
    location: str
    body: str
    started: float  # time.monotonic()
    ended: float
    retry_after: str = ""

    @property
    def seconds(self) -> float:
        return self.ended - self.started


class PatientBrowser:
    """One signed-in browser: its own session (made in advance) and CSRF cookie and token."""

    def __init__(self, port: int, patient: Patient) -> None:
        client = Client()
        client.force_login(patient.user)
        self.port = port
        self.cookies = {settings.SESSION_COOKIE_NAME:
                        client.cookies[settings.SESSION_COOKIE_NAME].value}
        self.token = ""

    def open_today(self) -> Response:
        """GET the check-in page, as a browser does before posting: sets the CSRF cookie."""
        response = self.request("GET", CHECKIN_PATH)
        if token := TOKEN_RE.search(response.body):
            self.token = token.group(1)
        return response

    def post_checkin(self, fields: dict[str, str]) -> Response:
        return self.request("POST", CHECKIN_PATH, {"csrfmiddlewaretoken": self.token, **fields})

    def request(self, method: str, path: str, body: dict[str, str] | None = None) -> Response:
        started = time.monotonic()
        try:
            status, response, text = _request(self.port, method, path, self.cookies, body)
        except OSError as error:  # a dropped connection counts as a failed request
            return Response(0, type(error).__name__, "", started, time.monotonic())
        return Response(status, response.getheader("Location") or "", text, started,
                        time.monotonic(), response.getheader("Retry-After") or "")


def saved(response: Response, local_date: date) -> bool:
    """A check-in POST succeeded: redirected back to that day's page."""
    return (response.status == 302
            and response.location == f"{CHECKIN_PATH}?date={local_date.isoformat()}")
