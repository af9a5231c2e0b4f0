from django.utils import timezone

from .models import Heartbeat


def heartbeat_record(*, key: str) -> Heartbeat:
    heartbeat, _ = Heartbeat.objects.update_or_create(
        key=key, defaults={"seen_at": timezone.now()}
    )
    return heartbeat
