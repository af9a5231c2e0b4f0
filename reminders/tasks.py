from celery import shared_task
from django.conf import settings
from django.utils import timezone

from checkins.services import safe_enqueue

from . import services
from .channels import TRANSIENT_ERRORS

MAX_SEND_RETRIES = 5
# A batch stops taking new sends after this long (settings: soft time limit 100 s, hard 120 s),
# so a slow SMTP server never gets a send cut off half-way; the rest goes on as a new batch.
BATCH_BUDGET_SECONDS = 60


def _backoff(retries: int) -> int:
    return min(10 * 3 ** retries, 600)


@shared_task(name="reminders.tasks.reminders_dispatch")
def reminders_dispatch() -> int:
    """Every minute: claim due reminders in the database, then enqueue their sends in batches.
    A duplicate beat or a concurrent run claims nothing twice (unique delivery rows)."""
    now = timezone.now()
    ids = services.reminders_claim(now=now) + services.stale_claims(now=now)
    # One producer (one broker connection) for the whole run, not one pool checkout each.
    with reminders_send_batch.app.producer_or_acquire() as producer:
        # A batch shares one task message, one database connection and one SMTP session, which
        # cost more than the send itself at 10,000 reminders a minute (settings.py).
        size = settings.REMINDER_SEND_BATCH_SIZE
        for start in range(0, len(ids), size):
            batch = ids[start:start + size]
            safe_enqueue(
                lambda b=batch: reminders_send_batch.apply_async((b,), producer=producer),
                f"{len(batch)} reminders from {batch[0]}",
            )
    return len(ids)


@shared_task(name="reminders.tasks.reminders_send_batch")
def reminders_send_batch(delivery_ids: list[int]) -> int:
    """Send a batch; on a transient failure, the rest goes on one by one with backoff."""
    outcome = services.reminders_send_batch(delivery_ids=delivery_ids,
                                            budget_seconds=BATCH_BUDGET_SECONDS)
    if outcome.rest:
        safe_enqueue(lambda: reminders_send_batch.apply_async((outcome.rest,)),
                     f"{len(outcome.rest)} reminders from {outcome.rest[0]}")
    for number, delivery_id in enumerate(outcome.retry):
        # The one that failed has used its first attempt; the others have not tried yet.
        retries = 1 if number == 0 else 0
        safe_enqueue(
            lambda d=delivery_id, r=retries: reminder_send.apply_async(
                (d,), countdown=_backoff(0), retries=r),
            f"reminder {delivery_id}",
        )
    return outcome.sent


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
        raise self.retry(exc=error, countdown=_backoff(self.request.retries)) from error
