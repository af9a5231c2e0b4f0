"""Drill: 50 clients submitting and re-submitting check-ins for 30 s against gunicorn.

25 patients, each signed in on two devices (50 sessions made in advance); every client posts the
full check-in form in a loop, over the patient's four open days, with answers that change every
time, so the two devices of a patient race on the same patient-day. Afterwards: no 5xx, one row
per patient-day, and each row holds the last submission of its day: the one no other submission
started after (when the last two overlapped, either may have committed last).
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass
from datetime import date

import pytest

from checkins.models import CheckIn, StepLog
from checkins.services import allowed_dates
from tests.drills._outcomes import clear_of_boundaries
from tests.drills._patients import (
    PatientBrowser,
    Response,
    RoutinePatient,
    checkin_fields,
    routine_patients,
    saved,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PATIENTS, DEVICES, SECONDS = 25, 2, 30
Day = tuple[int, date]  # (patient id, local date)


@dataclass(frozen=True)
class Submission:
    day: Day
    done: tuple[bool, ...]
    response: Response


def test_fifty_clients_for_thirty_seconds_leave_one_row_per_day_holding_the_last_answers(
    stack, derm, figures
):
    # given: 25 patients on two devices each, the check-in page open on every one
    clear_of_boundaries({"Europe/London"}, margin=SECONDS + 60)  # the four open days stay put
    patients = routine_patients(derm, PATIENTS)
    web = stack.web(workers=3)
    clients = [(p, PatientBrowser(web.port, p.patient)) for p in patients for _ in range(DEVICES)]
    assert {browser.open_today().status for _, browser in clients} == {200}
    # when
    submissions = _load(clients, SECONDS)
    # then: every request answered with the redirect to the day's page
    failed = [s.response for s in submissions if not saved(s.response, s.day[1])]
    assert failed == [], f"{len(failed)} failed, e.g. HTTP {failed[0].status}\n{web.log()}"
    # then: one row per patient-day sent, nothing else
    by_day = _by_day(submissions)
    rows = CheckIn.objects.filter(patient__in=[p.patient for p in patients])
    assert rows.count() == len(by_day)
    assert set(rows.values_list("patient_id", "local_date")) == set(by_day)
    # then: each row (and its step logs) is the last submission of its day
    stored = {day: _stored(day, patient) for patient in patients
              for day in by_day if day[0] == patient.patient.pk}
    for day, submitted in by_day.items():
        assert stored[day] in {s.done for s in _last(submitted)}, day
    assert sum(rows.values_list("steps_done", flat=True)) == sum(map(sum, stored.values()))
    figures(_summary(submissions, by_day, stored, clients=len(clients)))


def _summary(submissions: list[Submission], by_day: dict[Day, list[Submission]],
             stored: dict[Day, tuple[bool, ...]], clients: int) -> str:
    seconds = [s.response.seconds for s in submissions]
    server_errors = sum(s.response.status >= 500 or s.response.status == 0 for s in submissions)
    last_sent = [max(day, key=lambda s: s.response.ended).done for day in by_day.values()]
    undecided = sum(len({s.done for s in _last(day)}) > 1 for day in by_day.values())
    return (
        f"check-in load: {clients} clients x {SECONDS} s, {len(submissions)} POSTs "
        f"({len(submissions) / SECONDS:.1f}/s), {server_errors} 5xx, p50 "
        f"{statistics.median(seconds) * 1000:.0f} ms, max {max(seconds):.2f} s; "
        f"{len(by_day)} patient-days, {CheckIn.objects.count()} rows; steps_done total "
        f"{sum(map(sum, stored.values()))} stored vs {sum(map(sum, last_sent))} in the last "
        f"answers sent ({undecided} days whose last two requests overlapped)"
    )


def _load(clients: list[tuple[RoutinePatient, PatientBrowser]], seconds: float
          ) -> list[Submission]:
    """Each client in its own thread, posting until the deadline; answers cycle through all
    eight patterns of three steps and the days through the four open ones."""
    submissions: list[Submission] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(number: int, patient: RoutinePatient, browser: PatientBrowser) -> None:
        days = allowed_dates(today=patient.patient.local_today())  # the live server's clock
        sent = 0
        while time.monotonic() < deadline:
            sent += 1
            local_date = days[(sent + number) % len(days)]
            pattern = (sent * 5 + number) % 8
            done = tuple(bool(pattern & bit) for bit in (1, 2, 4))
            response = browser.post_checkin(checkin_fields(patient.steps, local_date, done))
            with lock:
                submissions.append(Submission((patient.patient.pk, local_date), done, response))

    threads = [threading.Thread(target=client, args=(n, *pair)) for n, pair in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return submissions


def _by_day(submissions: list[Submission]) -> dict[Day, list[Submission]]:
    days: dict[Day, list[Submission]] = {}
    for submission in submissions:
        days.setdefault(submission.day, []).append(submission)
    return days


def _last(submitted: list[Submission]) -> list[Submission]:
    """The submissions that may have committed last: none started after they were answered."""
    return [s for s in submitted
            if not any(t.response.started > s.response.ended for t in submitted)]


def _stored(day: Day, patient: RoutinePatient) -> tuple[bool, ...]:
    """The day's stored answers, step by step; the row's count must agree with its logs."""
    checkin = CheckIn.objects.get(patient_id=day[0], local_date=day[1])
    logs = {(log.item_id, log.slot): log.done for log in StepLog.objects.filter(checkin=checkin)}
    assert set(logs) == set(patient.steps)
    assert (checkin.steps_due, checkin.steps_done) == (3, sum(logs.values()))
    return tuple(logs[step] for step in patient.steps)
