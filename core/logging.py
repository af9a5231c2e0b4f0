"""Request logs without paths, query strings or driver messages (paths and query strings can
carry tokens, e.g. invitation and unsubscribe links; driver messages can quote SQL parameters,
i.e. health data)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest
from django.urls import Resolver404, resolve

DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
# http.server's formats (runserver's WSGIRequestHandler logs through them).
ACCESS_FORMAT = '"%s" %s %s'
ERROR_FORMAT = "code %d, message %s"
NO_ROUTE = "(no route)"


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


class ServerLogFilter(logging.Filter):
    """For ``django.server`` (runserver): one access line per request, ``GET
    /reminders/unsubscribe/<token>/ 200``: the method, the path with every URL parameter
    replaced by its name (no query string) and the status. Its records carry the client's
    socket as ``request``, not an HttpRequest; only the request line says what was asked."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if record.msg == ACCESS_FORMAT and len(args) == 3:
            method, _, target = str(args[0]).partition(" ")
            path = urlsplit(target.partition(" ")[0]).path
            record.msg, record.args = "%s %s %s", (method or "-", redacted_path(path), args[1])
        elif record.msg == ERROR_FORMAT and len(args) == 2:
            # The message can quote the request line ("Bad request syntax ('GET /…')").
            record.msg, record.args = "bad request: code %d", (args[0],)
        return True


class CsrfLogFilter(logging.Filter):
    """For ``django.security.csrf`` ("Forbidden (reason): path"): the path as in access lines
    (a form posted to an invitation link with a stale cookie would log a live token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) == 2 and isinstance(args[1], str):
            record.args = (args[0], redacted_path(args[1]))
        return True


def redacted_path(path: str) -> str:
    """``path`` with each URL parameter shown by name, a static file's path as it is, and
    anything else (a 404, a typo, a token in a path no route knows) as ``(no route)``."""
    if path.startswith(settings.STATIC_URL):
        return path
    try:
        match = resolve(path)
    except Resolver404:
        return NO_ROUTE
    captured = [*match.kwargs.items(), *((f"arg{i}", v) for i, v in enumerate(match.args))]
    # Longest values first, so a value inside another is not replaced half-way.
    for name, value in sorted(captured, key=lambda item: -len(str(item[1]))):
        if str(value) not in path:  # a converter changed it: the path would keep the raw value
            return f"({match.view_name})"
        path = path.replace(str(value), f"<{name}>")
    return path


def _route_of(request: HttpRequest | None) -> str:
    """The URL name (a failure in middleware comes before the request was resolved)."""
    if not isinstance(request, HttpRequest):
        return "-"
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return "unknown route"
    return match.url_name or "-"
