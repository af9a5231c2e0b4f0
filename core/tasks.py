from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(name="core.tasks.heartbeat_record")
def heartbeat_record(key: str = "beat") -> None:
    """Idempotent: records that ``key`` was seen; the beat schedule sends the default key."""
    services.heartbeat_record(key=key, now=timezone.now())


@shared_task(name="core.tasks.audit_partitions_ensure")
def audit_partitions_ensure() -> int:
    """Idempotent: this month's and the coming months' audit partitions exist afterwards."""
    from . import audit_partitions

    return len(audit_partitions.audit_partitions_ensure())
