"""The nightly flag sweep, run from beat every hour for the clinics whose sweep hour it is."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .sweep import clinics_due, sweep


@shared_task(name="flags.tasks.flags_sweep")
def flags_sweep(clinic_ids: list[int] | None = None) -> dict[str, int]:
    """Sweep ``clinic_ids``, or the clinics whose local hour is their ``sweep_hour`` now.
    Idempotent: a repeated or retried run opens nothing new. A clinic that fails is logged and
    skipped (``flags.sweep``), the others are swept. Returns counts only."""
    now = timezone.now()
    clinics = clinic_ids if clinic_ids is not None else clinics_due(now)
    if not clinics:
        return {"clinics": 0}
    # Optional: the fault drills (tests/drills) take small chunks to kill a worker mid-sweep.
    chunk_size = getattr(settings, "FLAGS_SWEEP_CHUNK_SIZE", 2000)
    result = sweep(now=now, clinic_ids=clinics, chunk_size=chunk_size)
    return {"clinics": len(clinics), "patients": result.patients, "findings": result.findings,
            "opened": result.opened, "updated": result.updated,
            "skipped": result.skipped_clinics}
