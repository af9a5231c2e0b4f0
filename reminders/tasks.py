from celery import shared_task
from django.utils import timezone

from checkins.services import safe_enqueue

from . import services
from .channels import TRANSIENT_ERRORS

MAX_SEND_RETRIES = 5


@shared_task(name="reminders.tasks.reminders_dispatch")
def reminders_dispatch() -> int:
    """Every minute: claim due reminders in the database, then enqueue one send per claim.
    A duplicate beat or a concurrent run claims nothing twice (unique delivery rows)."""
    now = timezone.now()
    ids = services.reminders_claim(now=now) + services.stale_claims(now=now)
    # One producer (one broker connection) for the whole batch, not one pool checkout each.
    with reminder_send.app.producer_or_acquire() as producer:
        for delivery_id in ids:
            safe_enqueue(
                lambda d=delivery_id: reminder_send.apply_async((d,), producer=producer),
                f"reminder {delivery_id}",
            )
    return len(ids)


@shared_task(name="reminders.tasks.reminder_send", bind=True, max_retries=MAX_SEND_RETRIES)
def reminder_send(self, delivery_id: int) -> str:
    try:
        return services.reminder_send(delivery_id=delivery_id)
    except TRANSIENT_ERRORS as error:
        final = self.request.retries >= MAX_SEND_RETRIES
        services.reminder_record_failure(
            delivery_id=delivery_id, error=type(error).__name__, final=final
        )
        if final:
            return "failed"
        raise self.retry(exc=error, countdown=min(10 * 3 ** self.request.retries, 600)) from error
