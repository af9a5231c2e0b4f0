from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(name="core.tasks.heartbeat_record")
def heartbeat_record(key: str = "beat") -> None:
    """Idempotent: records that ``key`` was seen; the beat schedule sends the default key."""
    services.heartbeat_record(key=key, now=timezone.now())
