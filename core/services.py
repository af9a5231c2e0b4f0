import logging
from collections.abc import Callable
from datetime import datetime

from .models import Heartbeat

logger = logging.getLogger(__name__)


def heartbeat_record(*, key: str, now: datetime) -> Heartbeat:
    heartbeat, _ = Heartbeat.objects.update_or_create(
        key=key, defaults={"seen_at": now}
    )
    return heartbeat


def safe_enqueue(send: Callable[[], object], what: str) -> None:
    """Publish after commit; a broker outage is logged, never raised into the request.
    The periodic sweep finds the pending row in the database and does the work later."""
    try:
        send()
    except Exception:  # kombu/redis raise several types; none may fail a saved check-in
        logger.warning("Could not enqueue %s; the periodic sweep will catch up.", what,
                       exc_info=True)
