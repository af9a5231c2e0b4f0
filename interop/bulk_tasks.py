"""Bulk export work off the request: export ids only, never a resource."""

from celery import shared_task
from django.utils import timezone

from core.periodic import each_isolated
from interop import bulk


# A clinic's whole record takes minutes, not the default 100 s (settings.CELERY_TASK_*_LIMIT).
@shared_task(name="interop.bulk_tasks.bulk_export_run", soft_time_limit=1500, time_limit=1800)
def bulk_export_run(export_id: int) -> None:
    """Write an export's files (idempotent: a done export is left alone; a redelivered task
    after a crash starts the files afresh)."""
    bulk.bulk_export_run(export_id=export_id)


@shared_task(name="interop.bulk_tasks.bulk_exports_sweep")
def bulk_exports_sweep() -> None:
    """Expire exports past their time (files deleted); enqueue again the queued ones whose
    task was lost."""
    now = timezone.now()
    each_isolated(bulk.exports_to_expire(now=now),
                  lambda export_id: bulk.bulk_export_expire(export_id=export_id, now=now),
                  task="bulk exports sweep", what=lambda export_id: f"export {export_id}")
    each_isolated(bulk.exports_lost(now=now), bulk_export_run.delay,
                  task="bulk exports sweep", what=lambda export_id: f"export {export_id}")
