"""The nightly flag sweep, run from beat every hour for the clinics whose sweep hour it is.

``flags_sweep`` plans the night's chunks (ids only) and publishes one ``flags_sweep_chunk``
task per chunk once its transaction commits, so every worker process shares the sweep. Each
chunk task is idempotent: a repeated, retried or redelivered chunk opens nothing new.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from celery import shared_task
from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from .sweep import ChunkRange, SweepResult, clinics_due, sweep, sweep_plan, sweep_range

logger = logging.getLogger(__name__)

CHUNK_RETRIES = 3


def _counts(clinics: int, result: SweepResult) -> dict[str, int]:
    return {"clinics": clinics, "patients": result.patients, "findings": result.findings,
            "opened": result.opened, "updated": result.updated,
            "skipped": result.skipped_clinics}


@shared_task(name="flags.tasks.flags_sweep", bind=True)
def flags_sweep(self, clinic_ids: list[int] | None = None) -> dict[str, int]:
    """Sweep ``clinic_ids``, or the clinics whose local hour is their ``sweep_hour`` now: publish
    one chunk task per chunk (on commit). A clinic that fails to plan is logged and skipped, the
    others are swept. Run eagerly (``apply()``: tests, a shell) it sweeps here, in-process, as
    ``manage.py sweep_flags`` does. Returns counts only."""
    now = timezone.now()
    clinics = clinic_ids if clinic_ids is not None else clinics_due(now)
    if not clinics:
        return {"clinics": 0}
    # Optional: the fault drills (tests/drills) take small chunks to kill a worker mid-sweep.
    chunk_size = getattr(settings, "FLAGS_SWEEP_CHUNK_SIZE", 2000)
    if self.request.is_eager:
        return _counts(len(clinics), sweep(now=now, clinic_ids=clinics, chunk_size=chunk_size))
    parts, skipped = sweep_plan(now=now, clinic_ids=clinics, chunk_size=chunk_size)
    transaction.on_commit(lambda: publish_chunks(parts, now=now))
    return {"clinics": len(clinics), "chunks": len(parts),
            "patients": sum(part.patients for part in parts), "skipped": skipped}


def publish_chunks(parts: list[ChunkRange], *, now: datetime) -> None:
    """One message per chunk over one broker connection: ids, a date and the sweep's instant."""
    with flags_sweep_chunk.app.producer_or_acquire() as producer:
        for part in parts:
            flags_sweep_chunk.apply_async(chunk_arguments(part, now=now), producer=producer)


def chunk_arguments(part: ChunkRange, *, now: datetime) -> tuple[int, str, int, int, str]:
    return (part.clinic_id, part.as_of.isoformat(), part.first_id, part.last_id,
            now.isoformat())


def _backoff(retries: int) -> int:
    return min(30 * 2 ** retries, 300)


@shared_task(name="flags.tasks.flags_sweep_chunk", bind=True, max_retries=CHUNK_RETRIES)
def flags_sweep_chunk(self, clinic_id: int, as_of: str, first_id: int, last_id: int,
                      now: str) -> dict[str, int]:
    """Evaluate and apply one chunk: the clinic's patients with ids ``first_id``..``last_id``
    whose local yesterday at ``now`` (the sweep's instant, shared by all its chunks) is
    ``as_of``. Retried on a database error only (the whole chunk is one transaction, so a retry
    starts clean). Returns counts only."""
    part = ChunkRange(clinic_id, date.fromisoformat(as_of), first_id, last_id)
    try:
        result = sweep_range(part, now=datetime.fromisoformat(now))
    except OperationalError as error:
        raise self.retry(exc=error, countdown=_backoff(self.request.retries)) from error
    return {"patients": result.patients, "findings": result.findings,
            "opened": result.opened, "updated": result.updated}
