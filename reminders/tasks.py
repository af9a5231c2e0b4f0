import logging
from collections import Counter

from celery import shared_task
from django.utils import timezone

from . import services
from .channels import TRANSIENT_ERRORS

logger = logging.getLogger(__name__)

MAX_SEND_RETRIES = 5
# Claims per partition task: enough to spread the task overhead (a broker round trip and an
# ack per message), few enough that two worker processes share even a small run.
PARTITION_SIZE = 50


def _backoff(retries: int) -> int:
    return min(10 * 3 ** retries, 600)


@shared_task(name="reminders.tasks.reminders_dispatch")
def reminders_dispatch() -> int:
    """Every minute: claim due reminders in the database (committed), then enqueue them in
    partitions of ``PARTITION_SIZE`` claims (``reminders_send_partition``), which the worker
    processes share. A duplicate beat or a concurrent run claims nothing twice (unique delivery
    rows), and a claim in two partitions is sent once (``services.reminder_send``); what cannot
    be enqueued stays claimed and is offered again."""
    now = timezone.now()
    ids = services.reminders_claim(now=now) + services.stale_claims(now=now)
    _enqueue_sends(ids)
    return len(ids)


def partitions(delivery_ids: list[int]) -> list[list[int]]:
    """Consecutive claims (ascending ids), ``PARTITION_SIZE`` at a time."""
    size = PARTITION_SIZE
    return [delivery_ids[start:start + size] for start in range(0, len(delivery_ids), size)]


def _enqueue_sends(delivery_ids: list[int]) -> None:
    """One message per partition over one broker connection. On a broker error, stop: the rest
    stay claimed, and a later run offers them again after REMINDER_STALE_CLAIM_SECONDS
    (retrying each against a dead broker would hold the dispatcher for hours)."""
    published = 0
    try:
        with reminders_send_partition.app.producer_or_acquire() as producer:
            for part in partitions(delivery_ids):
                reminders_send_partition.apply_async((part,), producer=producer)
                published += len(part)
    except Exception:  # kombu/redis raise several types; the database keeps the work
        logger.warning("Enqueued %s of %s reminders; the rest are offered again later.",
                       published, len(delivery_ids), exc_info=True)


@shared_task(name="reminders.tasks.reminders_send_partition")
def reminders_send_partition(delivery_ids: list[int]) -> dict[str, int]:
    """Send each claimed reminder of one partition at most once: the claims still open read
    together, then each marked, sent and committed on its own as ``reminder_send`` does, so a
    repeated, redelivered or overlapping partition finds the sent ones done. A transient
    channel error hands that one reminder to ``reminder_send``'s retries with backoff, and the
    partition goes on. Returns counts of outcomes only."""
    outcomes: Counter[str] = Counter()
    claimed = services.reminders_claimed(delivery_ids=delivery_ids)
    outcomes["nothing to do"] = len(set(delivery_ids)) - len(claimed)
    for reminder, step_names in claimed:
        try:
            outcome = services.reminder_send_claimed(
                reminder=reminder, step_names=step_names, now=timezone.now())
        except TRANSIENT_ERRORS as error:
            services.reminder_record_failure(
                delivery_id=reminder.pk, error=type(error).__name__, final=False)
            # As reminder_send's own first retry: the same backoff and number of attempts.
            reminder_send.apply_async((reminder.pk,), countdown=_backoff(0), retries=1)
            outcome = "retrying"
        outcomes[str(outcome)] += 1
    return dict(+outcomes)


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
