from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(name="checkins.tasks.attention_dispatch")
def attention_dispatch(request_id: int) -> None:
    services.attention_dispatch_one(request_id=request_id, now=timezone.now())


@shared_task(name="checkins.tasks.attention_sweep")
def attention_sweep() -> None:
    """Catch up on requests whose task was never delivered (e.g. the broker was down)."""
    now = timezone.now()
    for request_id in services.attention_pending_ids(now=now):
        services.attention_dispatch_one(request_id=request_id, now=now)
