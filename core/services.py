from datetime import datetime

from .models import Heartbeat


def heartbeat_record(*, key: str, now: datetime) -> Heartbeat:
    heartbeat, _ = Heartbeat.objects.update_or_create(
        key=key, defaults={"seen_at": now}
    )
    return heartbeat
