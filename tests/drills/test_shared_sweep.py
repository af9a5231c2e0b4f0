"""Drill: two worker processes (two machines, as far as the broker can tell) share one night's
flag sweep, sent twice at once as two beats would: each process runs a share of the chunk tasks,
and every flag the data calls for exists exactly once, opened once.
"""

from __future__ import annotations

import time

import pytest
import redis
from django.utils import timezone

from flags.sweep import sweep_plan
from tests.drills._outcomes import clear_of_boundaries, flag_outcome, flags_expected, zones_in_use
from tests.drills._servers import send_task, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PATIENTS = 600
CHUNK_SIZE = 25
CHUNKS = {"DJANGO_SETTINGS_MODULE": "tests.drills.worker_settings",
          "FLAGS_SWEEP_CHUNK_SIZE": str(CHUNK_SIZE)}
SWEEP = "flags.tasks.flags_sweep"
CHUNK = "flags.tasks.flags_sweep_chunk"


def test_two_worker_processes_share_a_sweep_and_open_each_flag_once(
    stack, private_redis, cohort, figures
):
    # given: 600 patients whose histories call for flags, two solo worker processes
    clinic = cohort(PATIENTS)
    clear_of_boundaries(zones_in_use(), margin=120)
    now = timezone.now()
    expected = flags_expected(now=now, clinic_ids=[clinic.pk])
    chunks = len(sweep_plan(now=now, clinic_ids=[clinic.pk], chunk_size=CHUNK_SIZE)[0])
    workers = [stack.worker(name, **CHUNKS) for name in ("worker-a", "worker-b")]
    # when: the sweep is sent twice at once (two beats)
    started = time.monotonic()
    for _ in range(2):
        send_task(private_redis.url(), SWEEP, [clinic.pk])
    wait_for(lambda: sum(w.succeeded(CHUNK) for w in workers) >= 2 * chunks, timeout=120,
             every=0.1, what=lambda: "every chunk task\n" + "\n".join(w.log() for w in workers))
    seconds = time.monotonic() - started
    queue = redis.Redis.from_url(private_redis.url())
    wait_for(lambda: queue.llen("celery") == 0, timeout=30, what="the queue empty")
    time.sleep(1)  # a duplicate that is coming arrives
    # then: both processes took chunks, each chunk ran twice, each flag exists once
    shares = {w.name: w.succeeded(CHUNK) for w in workers}
    flags = flag_outcome()
    assert all(share > 0 for share in shares.values()), shares
    assert sum(shares.values()) == 2 * chunks
    assert all(w.count("] raised") == 0 for w in workers)
    assert flags["keys"] == expected
    assert (flags["flags"], flags["duplicates"]) == (len(expected), 0)
    assert (flags["opened_events"], flags["sweep_evidence_events"]) == (len(expected), 0)
    figures(
        f"two worker processes share a sweep sent twice: {PATIENTS + 1} patients in {chunks} "
        f"chunks of up to {CHUNK_SIZE}, chunk tasks run per process {shares} in {seconds:.1f} s; "
        f"{flags['flags']} flags of {len(expected)} expected ({flags['duplicates']} "
        f"duplicates), {flags['opened_events']} opened events, "
        f"{flags['sweep_evidence_events']} evidence rewrites"
    )
