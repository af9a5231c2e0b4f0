"""Request error logs without paths or driver messages (paths can carry tokens; driver messages
can quote SQL parameters, i.e. health data)."""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest
from django.urls import Resolver404, resolve

DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


class RequestLogFilter(logging.Filter):
    """For ``django.request``: name the route instead of the path, and for a database outage
    keep only the error's class (one line, no traceback, however many requests fail)."""

    def filter(self, record: logging.LogRecord) -> bool:
        route = _route_of(getattr(record, "request", None))
        status = getattr(record, "status_code", "")
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, DATABASE_UNAVAILABLE):
            record.msg, record.args = "database unavailable (%s) on %s", (
                type(error).__name__, route)
            record.exc_info, record.exc_text = None, None
        else:
            record.msg, record.args = "%s response on %s", (status or "error", route)
        return True


def _route_of(request: HttpRequest | None) -> str:
    """The URL name (a failure in middleware comes before the request was resolved)."""
    if request is None:
        return "-"
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return "unknown route"
    return match.url_name or "-"
