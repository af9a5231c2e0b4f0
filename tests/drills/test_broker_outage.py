"""Drill: Redis down while patients check in; when it is back, the pending work is done once.

A private redis-server is the broker and cache of gunicorn and the worker. It is stopped, the
reminder dispatcher runs into the outage (claims rows, cannot publish), patients post the full
check-in form (some with a severe side effect), Redis starts again (empty, as after a crash),
then a worker and the periodic tasks (published as beat would, twice) catch up.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from checkins.models import AttentionRequest, CheckIn
from flags.models import Rule
from reminders.models import Delivery
from tests.conftest import PROJECT_DIR
from tests.drills._outcomes import (
    clear_of_boundaries,
    flag_outcome,
    remind_all_day,
    reminder_outcome,
    reminders_expected,
)
from tests.drills._patients import (
    PatientBrowser,
    Response,
    checkin_fields,
    routine_patients,
    saved,
)
from tests.drills._servers import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PATIENTS, SUBMITTING, SEVERE = 16, 10, 4
STALE_CLAIM = {"REMINDER_STALE_CLAIM_SECONDS": "2"}
BEAT_EVERY_2_S = {"BEAT_REMINDERS_DISPATCH_SECONDS": "2", "BEAT_ATTENTION_SWEEP_SECONDS": "2"}
DISPATCH, SWEEP = "reminders.tasks.reminders_dispatch", "checkins.tasks.attention_sweep"
DISPATCH_IN_OUTAGE = (
    "import django; django.setup(); from reminders.tasks import reminders_dispatch; "
    "print(reminders_dispatch())"
)


@dataclass
class Outage:
    claimed: int  # reminder claims the dispatcher made while it could not publish
    dispatch_seconds: float
    responses: list[Response]  # the check-in POSTs
    pending: int  # attention requests left for the sweep


def test_redis_down_while_patients_check_in_then_back_does_the_work_once(
    stack, private_redis, derm, figures
):
    # given: 16 patients due a reminder all day; 10 have the check-in page open
    clear_of_boundaries({"Europe/London"})
    patients = routine_patients(derm, PATIENTS)
    remind_all_day([p.patient for p in patients])
    web = stack.web(workers=2)
    browsers = [PatientBrowser(web.port, p.patient) for p in patients[:SUBMITTING]]
    assert [b.open_today().status for b in browsers] == [200] * SUBMITTING
    # when: Redis goes down; the dispatcher runs into it, then the patients submit
    private_redis.stop()
    outage = _during_outage(stack, browsers, patients[:SUBMITTING])
    # when: Redis is back (empty); a worker and beat (every 2 s) start again
    private_redis.start()
    caught_up = _catch_up(stack)
    # then: every check-in saved, no request failed or hung
    today = patients[0].patient.local_today()
    assert [saved(r, today) for r in outage.responses] == [True] * SUBMITTING, web.log()
    assert CheckIn.objects.filter(local_date=today).count() == SUBMITTING
    assert max(r.seconds for r in outage.responses) < 10
    assert (outage.claimed, outage.pending) == (PATIENTS, SEVERE)
    # then: one flag per severe check-in, every request processed, nothing twice
    flags = flag_outcome()
    severe_patients = {p.patient.pk for p in patients[:SEVERE]}
    assert flags["keys"] == {(pk, Rule.SEVERE_SIDE_EFFECT) for pk in severe_patients}
    assert (flags["flags"], flags["opened_events"], flags["duplicates"]) == (SEVERE, SEVERE, 0)
    assert not AttentionRequest.objects.filter(processed_at__isnull=True).exists()
    # then: one reminder per patient still due, none to those who checked in meanwhile
    due, emailed, _reminded = reminders_expected()
    reminders = reminder_outcome(stack.outbox)
    assert due == {p.patient.pk for p in patients[SUBMITTING:]}
    assert reminders["emails"] == Counter(dict.fromkeys(emailed, 1))
    assert (reminders["rows"], reminders["duplicate_rows"]) == (PATIENTS, 0)
    assert reminders["status"] == Counter(sent=PATIENTS - SUBMITTING, skipped=SUBMITTING)
    figures(_summary(outage, flags, reminders, caught_up))


def _during_outage(stack, browsers, patients) -> Outage:
    claimed, dispatch_seconds = _dispatch_during_outage(stack)
    responses = _submit_all(browsers, patients)
    pending = AttentionRequest.objects.filter(processed_at__isnull=True).count()
    # The attention sweep leaves requests younger than a minute to their own task; this outage
    # is meant to have lasted longer than that.
    AttentionRequest.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    return Outage(claimed, dispatch_seconds, responses, pending)


def _catch_up(stack) -> float:
    """Seconds from Redis back until the work is done; beat then runs twice more."""
    back = time.monotonic()
    worker = stack.worker(**STALE_CLAIM)
    (beat,) = stack.beats("beat", **STALE_CLAIM, **BEAT_EVERY_2_S)
    caught_up = _wait_for_catch_up(worker, back)
    _wait_for_more_runs(worker, runs=2)  # later runs must change nothing
    beat.stop()
    return caught_up


def _summary(outage: Outage, flags: dict, reminders: dict, caught_up: float) -> str:
    responses = outage.responses
    server_errors = sum(r.status >= 500 or r.status == 0 for r in responses)
    return (
        f"broker outage: {len(responses)} check-in POSTs while Redis was down ({SEVERE} severe),"
        f" {CheckIn.objects.count()} saved, {server_errors} 5xx, slowest "
        f"{max(r.seconds for r in responses):.2f} s; dispatcher in the outage claimed "
        f"{outage.claimed} in {outage.dispatch_seconds:.1f} s; after Redis was back: "
        f"{flags['flags']} flags ({flags['duplicates']} duplicates), "
        f"{reminders['status']['sent']} reminders sent / {reminders['status']['skipped']} "
        f"skipped (checked in), {sum(reminders['emails'].values()) - len(reminders['emails'])} "
        f"duplicate emails, caught up in {caught_up:.1f} s"
    )


def _dispatch_during_outage(stack) -> tuple[int, float]:
    """The minute's dispatcher run, in its own process, while the broker is down."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", DISPATCH_IN_OUTAGE], cwd=PROJECT_DIR,
                          env=stack.env(**STALE_CLAIM), capture_output=True, text=True,
                          timeout=120, check=False)
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    assert Delivery.objects.filter(status=Delivery.Status.CLAIMED).count() == int(
        done.stdout.split()[-1])
    return int(done.stdout.split()[-1]), seconds


def _submit_all(browsers, patients):
    """Every patient posts the full form at once; the first SEVERE blame the retinoid."""
    today = patients[0].patient.local_today()

    def submit(index: int):
        steps = patients[index].steps
        severe_on = steps[2][0] if index < SEVERE else None
        fields = checkin_fields(steps, today, (True, True, index % 2 == 0), severe_on=severe_on)
        return browsers[index].post_checkin(fields)

    with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
        return list(pool.map(submit, range(len(browsers))))


def _wait_for_catch_up(worker, since: float) -> float:
    """Seconds from Redis back until every flag is raised and no reminder claim is left."""

    def pending() -> tuple[int, int]:
        return (AttentionRequest.objects.filter(processed_at__isnull=True).count(),
                Delivery.objects.filter(status=Delivery.Status.CLAIMED).count())

    wait_for(lambda: pending() == (0, 0), timeout=90, every=0.25,
             what=lambda: f"the catch-up: (attention, claims) pending {pending()}\n{worker.log()}")
    return time.monotonic() - since


def _wait_for_more_runs(worker, runs: int) -> None:
    done = {task: worker.succeeded(task) for task in (DISPATCH, SWEEP)}
    wait_for(lambda: all(worker.succeeded(task) >= n + runs for task, n in done.items()),
             timeout=30, every=0.25, what=lambda: f"{runs} more beat runs\n{worker.log()}")
    time.sleep(1)  # let any duplicate that is coming arrive

