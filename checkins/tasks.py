from celery import shared_task
from django.utils import timezone

from core.periodic import each_isolated

from . import services


@shared_task(name="checkins.tasks.attention_dispatch")
def attention_dispatch(request_id: int) -> None:
    services.attention_dispatch_one(request_id=request_id, now=timezone.now())


@shared_task(name="checkins.tasks.attention_sweep")
def attention_sweep() -> None:
    """Catch up on requests whose task was never delivered (e.g. the broker was down). One that
    fails is logged and stays pending (offered again next run); the others are dispatched."""
    now = timezone.now()
    each_isolated(
        services.attention_pending_ids(now=now),
        lambda request_id: services.attention_dispatch_one(request_id=request_id, now=now),
        task="attention sweep", what=lambda request_id: f"attention request {request_id}",
    )
