"""The Celery application; configuration comes from Django settings (``CELERY_*``)."""

import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance_portal.settings")

app = Celery("alliance_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_connections(sender: Any = None, **_: Any) -> None:
    """Before and after each task, what Django does around each request: close a connection
    that errored or outlived CONN_MAX_AGE (settings.CELERY_DB_REUSE_MAX keeps the others)."""
    if sender is not None and getattr(sender.request, "is_eager", False):
        return  # inside the caller's transaction (tests): closing would break it
    from django.db import close_old_connections

    close_old_connections()
