"""Messaging work off the request: ids only in arguments, never a message's text."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from core.periodic import each_isolated

from .notices import message_notice_send, pending_notice_ids


@shared_task(name="messaging.tasks.message_notify")
def message_notify(message_id: int) -> None:
    message_notice_send(message_id=message_id, now=timezone.now())


@shared_task(name="messaging.tasks.notices_sweep")
def notices_sweep() -> None:
    """Catch up on notices whose task never arrived (the broker was down)."""
    now = timezone.now()
    each_isolated(pending_notice_ids(before=now - timedelta(minutes=2)),
                  lambda message_id: message_notice_send(message_id=message_id, now=now),
                  task="message notices sweep", what=lambda message_id: f"message {message_id}")
