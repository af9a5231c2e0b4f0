"""A patient's "Download my data" off the request: ids only in arguments, never health data.

Registered through ``CELERY_IMPORTS`` (settings): autodiscovery imports only ``tasks.py``.
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from core.periodic import each_isolated

from . import patient_export
from .patient_export import TRANSIENT_ERRORS

# A large record takes seconds; the default limits (120 s) would still leave room, but a slow
# disk or database must not kill a build half-way through.
BUILD_TIME_LIMIT = 600


@shared_task(name="interop.account_tasks.data_export_build", autoretry_for=TRANSIENT_ERRORS,
             retry_backoff=10, retry_backoff_max=600, max_retries=5,
             time_limit=BUILD_TIME_LIMIT, soft_time_limit=BUILD_TIME_LIMIT - 30)
def data_export_build(export_id: int) -> None:
    """Idempotent: builds the zip once and sends the "it is ready" email once."""
    patient_export.data_export_build(export_id=export_id, now=timezone.now())


@shared_task(name="interop.account_tasks.data_exports_sweep")
def data_exports_sweep() -> None:
    """Enqueue again the exports whose task was lost (the broker was down), give up on those a
    day old, and delete expired files."""
    now = timezone.now()
    patient_export.exports_give_up(now=now)
    each_isolated(patient_export.expired_export_ids(now=now),
                  lambda export_id: patient_export.data_export_expire(export_id=export_id,
                                                                       now=now),
                  task="data exports sweep", what=lambda export_id: f"data export {export_id}")
    patient_export.partial_files_delete(now=now)
    # Last: publishing fails while the broker is still down, and the rest is done by then.
    for export_id in patient_export.lost_export_ids(now=now):
        data_export_build.delay(export_id)
