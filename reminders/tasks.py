import logging

from celery import shared_task
from django.utils import timezone

from . import services
from .channels import TRANSIENT_ERRORS

logger = logging.getLogger(__name__)

MAX_SEND_RETRIES = 5


def _backoff(retries: int) -> int:
    return min(10 * 3 ** retries, 600)


@shared_task(name="reminders.tasks.reminders_dispatch")
def reminders_dispatch() -> int:
    """Every minute: claim due reminders in the database (committed), then enqueue one send
    task per patient. A duplicate beat or a concurrent run claims nothing twice (unique
    delivery rows); what cannot be enqueued stays claimed and is offered again."""
    now = timezone.now()
    ids = services.reminders_claim(now=now) + services.stale_claims(now=now)
    _enqueue_sends(ids)
    return len(ids)


def _enqueue_sends(delivery_ids: list[int]) -> None:
    """One message per reminder over one broker connection. On a broker error, stop: the rest
    stay claimed, and a later run offers them again after REMINDER_STALE_CLAIM_SECONDS
    (retrying each of 10,000 against a dead broker would hold the dispatcher for hours)."""
    published = 0
    try:
        with reminder_send.app.producer_or_acquire() as producer:
            for delivery_id in delivery_ids:
                reminder_send.apply_async((delivery_id,), producer=producer)
                published += 1
    except Exception:  # kombu/redis raise several types; the database keeps the work
        logger.warning("Enqueued %s of %s reminders; the rest are offered again later.",
                       published, len(delivery_ids), exc_info=True)


@shared_task(name="reminders.tasks.reminder_send", bind=True, max_retries=MAX_SEND_RETRIES)
def reminder_send(self, delivery_id: int) -> str:
    try:
        return services.reminder_send(delivery_id=delivery_id, now=timezone.now())
    except TRANSIENT_ERRORS as error:
        final = self.request.retries >= MAX_SEND_RETRIES
        services.reminder_record_failure(
            delivery_id=delivery_id, error=type(error).__name__, final=final
        )
        if final:
            return "failed"
        raise self.retry(exc=error, countdown=_backoff(self.request.retries)) from error
