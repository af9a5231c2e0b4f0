"""Drill: two beat processes by mistake for two minutes.

Two ``celery beat`` processes (each its own schedule file) and a worker (two processes, as
docker-compose runs it) on a private Redis, with due reminders and patients whose histories call
for flags. The periodic intervals are shortened from the environment (settings.py) and the
clinic's nightly sweep hour is set to its current hour, so every periodic task runs many times,
twice each time, and duplicate runs execute concurrently. Nothing may be done twice.
"""

from __future__ import annotations

import time
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from flags.models import FlagSettings
from tests.drills._outcomes import (
    clear_of_boundaries,
    flag_outcome,
    flags_expected,
    reminder_outcome,
    reminders_expected,
    visit_reminders_expected,
    zones_in_use,
)
from tests.drills._servers import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PATIENTS = 200
RUN_SECONDS = 120
SHORT_BEAT = {
    "BEAT_REMINDERS_DISPATCH_SECONDS": "5",
    "BEAT_ATTENTION_SWEEP_SECONDS": "10",
    "BEAT_FLAGS_SWEEP_SECONDS": "15",
    # Claims still queued after 10 s are offered again: duplicate sends reach the worker too.
    "REMINDER_STALE_CLAIM_SECONDS": "10",
}
# Small chunks make a sweep last about a second: the two beats' sweeps overlap in the worker.
SMALL_CHUNKS = {"DJANGO_SETTINGS_MODULE": "tests.drills.worker_settings",
                "FLAGS_SWEEP_CHUNK_SIZE": "5"}
TASKS = {"reminders.tasks.reminders_dispatch": "dispatch",
         "checkins.tasks.attention_sweep": "attention sweep", "flags.tasks.flags_sweep": "sweep",
         "flags.tasks.flags_sweep_chunk": "sweep chunk"}


def test_two_beats_for_two_minutes_do_nothing_twice(stack, cohort, figures):
    # given: 200 patients reminded all day, histories that call for flags, pending severe
    # side effects; the clinic's sweep hour is now
    clinic = cohort(PATIENTS)
    clear_of_boundaries({clinic.timezone}, hourly=True, margin=RUN_SECONDS + 60)
    clear_of_boundaries(zones_in_use(), margin=RUN_SECONDS + 60)
    hour = timezone.now().astimezone(ZoneInfo(clinic.timezone)).hour
    FlagSettings.objects.update_or_create(clinic=clinic, defaults={"sweep_hour": hour})
    due, emailed, reminded = reminders_expected()
    visits = visit_reminders_expected()  # patient@demo.test's review is tomorrow
    expected_flags = flags_expected(now=timezone.now(), clinic_ids=[clinic.pk],
                                    with_attention=True)
    # when: a worker and two beats run for two minutes
    worker = stack.worker(pool="prefork", **SHORT_BEAT, **SMALL_CHUNKS)
    beats = stack.beats("beat-a", "beat-b", **SHORT_BEAT)
    time.sleep(RUN_SECONDS)
    for beat in beats:
        beat.stop()
    _wait_until_idle(worker)
    # then: every reminder and flag the data calls for, each once
    reminders, flags = reminder_outcome(stack.outbox), flag_outcome()
    assert reminders["emails"] == Counter(dict.fromkeys(emailed, 1)) + Counter(visits)
    assert (reminders["patients"], reminders["duplicate_rows"]) == (due, 0)
    assert reminders["status"] == Counter(sent=len(reminded), skipped=len(due) - len(reminded))
    assert reminders["visit_status"] == Counter(sent=len(visits))
    assert flags["keys"] == expected_flags
    assert (flags["flags"], flags["duplicates"]) == (len(expected_flags), 0)
    assert (flags["opened_events"], flags["sweep_evidence_events"]) == (len(expected_flags), 0)
    sent = {beat.name: beat.count("Sending due task") for beat in beats}
    assert min(sent.values()) >= RUN_SECONDS // 15  # both beats really ran the schedule
    runs = {name: worker.runs(task) for task, name in TASKS.items()}
    # The two beats' sweeps publish the same chunks together: the worker's two processes run
    # them at the same time (the sweep task itself only plans and publishes).
    assert _overlapping(runs["sweep chunk"]) > 0
    ran = ", ".join(f"{len(spans)} {name} ({_overlapping(spans)} overlapping)"
                    for name, spans in runs.items())
    figures(
        f"two beats for {RUN_SECONDS} s: beats sent {sent['beat-a']} + {sent['beat-b']} tasks; "
        f"the worker ran {ran}; {reminders['rows']} reminder rows for {len(due)} due "
        f"({reminders['duplicate_rows']} duplicate), {sum(reminders['emails'].values())} "
        f"emails to {len(emailed)} addresses; {flags['flags']} flags of {len(expected_flags)} "
        f"expected ({flags['duplicates']} duplicates), {flags['opened_events']} opened events, "
        f"{flags['sweep_evidence_events']} evidence rewrites"
    )


def _wait_until_idle(worker) -> None:
    """Until every task the worker received has finished (succeeded or not)."""

    def idle() -> bool:
        log = worker.log_path.read_text(errors="replace")
        return log.count("] received") == log.count("] succeeded") + log.count("] raised")

    wait_for(idle, timeout=120, every=0.5, what=lambda: f"the worker to finish\n{worker.log()}")
    time.sleep(1)


def _overlapping(spans: list[tuple[float, float]]) -> int:
    """Runs that overlapped another run of the same task."""
    spans = sorted(spans)
    return sum(any(start < other_end and other_start < end
                   for other_start, other_end in spans[:i] + spans[i + 1:])
               for i, (start, end) in enumerate(spans))
