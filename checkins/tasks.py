from celery import shared_task

from . import services


@shared_task(name="checkins.tasks.attention_dispatch")
def attention_dispatch(request_id: int) -> None:
    services.attention_dispatch_one(request_id=request_id)


@shared_task(name="checkins.tasks.attention_sweep")
def attention_sweep() -> None:
    """Catch up on requests whose task was never delivered (e.g. the broker was down)."""
    for request_id in services.attention_pending_ids():
        services.attention_dispatch_one(request_id=request_id)
