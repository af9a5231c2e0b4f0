"""Request logs without paths, query strings or driver messages (paths and query strings can
carry tokens, e.g. invitation and unsubscribe links; driver messages can quote SQL parameters,
i.e. health data)."""

from __future__ import annotations

import functools
import logging
import re
import traceback
from collections.abc import Mapping
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from core.faults import DATABASE_UNAVAILABLE

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


# --- The last line of defence, on every handler ----------------------------------------------

# Routes whose URL carries a secret after a fixed prefix, and their URL parameters.
TOKEN_ROUTES: dict[str, tuple[str, ...]] = {
    "account_reset_password_from_key": ("uidb36", "key"),
    "invitation_accept": ("uidb64", "token"),
    "reminders_unsubscribe": ("token",),
    "account_confirm_email": ("key",),
}
REDACTED = "<redacted>"
REDACTED_EMAIL = "<email>"
WITHHELD = "(message withheld)"
EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_SENTINEL = "zzREDACTzz"


@functools.cache
def _token_urls() -> re.Pattern[str] | None:
    """The fixed prefix of each token route (from the URLconf, so a moved route stays covered),
    then everything up to the next space or quote: the token, and any query string. Slashes may
    be percent-encoded (a ``next=`` parameter). A path already shown with its parameters by
    name (``<token>``) is left alone."""
    prefixes = []
    for name, params in TOKEN_ROUTES.items():
        try:
            url = reverse(name, kwargs=dict.fromkeys(params, _SENTINEL))
        except NoReverseMatch:  # a route that is not installed carries no token
            continue
        prefix = url[:url.index(_SENTINEL)]
        prefixes.append("(?:/|%2F)".join(re.escape(part) for part in prefix.split("/")))
    if not prefixes:
        return None
    return re.compile(rf"({'|'.join(prefixes)})(?!<)[^\s\"'<>]+", re.IGNORECASE)


# Used if the URLconf cannot be loaded (the line reporting why must not leak either).
_FALLBACK_TOKEN_URLS = re.compile(
    r"((?:/|%2F)(?:accounts(?:/|%2F)(?:password(?:/|%2F)reset(?:/|%2F)key|invitation|"
    r"confirm-email)|reminders(?:/|%2F)unsubscribe)(?:/|%2F))(?!<)[^\s\"'<>]+", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` without token URLs' tokens or email addresses."""
    try:
        pattern = _token_urls()
    except Exception:  # not cached: the next record tries the URLconf again
        pattern = _FALLBACK_TOKEN_URLS
    if pattern is not None:
        text = pattern.sub(rf"\g<1>{REDACTED}", text)
    return EMAIL.sub(REDACTED_EMAIL, text)


def traceback_without_messages(error: BaseException) -> str:
    """A traceback with every frame (file, line, function, code) but no exception's message: a
    message can quote anything (a database's ``Key (email)=(…)``, a form value, a path)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__)
    parts = []
    for exc in reversed(chain):
        frames = "".join(traceback.format_tb(exc.__traceback__))
        parts.append(f"Traceback (most recent call last):\n{frames}"
                     f"{type(exc).__module__}.{type(exc).__qualname__} {WITHHELD}")
    return "\n\nDuring or because of it:\n\n".join(parts)


def _withheld(text: str) -> str:
    """A repr like ``ValueError('…')`` (Celery's ``exc``) with its message withheld."""
    return re.sub(r"\(.*\)\s*$", f" {WITHHELD}", text, flags=re.DOTALL)


class RedactingFilter(logging.Filter):
    """On every handler, so it sees every logger's records (Django's, Celery's, runserver's,
    ours): the formatted message loses token URLs' tokens and email addresses, and exception
    messages (in the traceback, in Celery's ``exc``, quoted in the message) are withheld.
    Names and free text have no shape to recognise: they stay out because requests are logged
    by route, not path (the filters above), and exception messages are withheld here."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(record.args, Mapping) and "exc" in record.args:
            record.args = {**record.args, "exc": _withheld(str(record.args["exc"]))}
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: show its format string only
            message = str(record.msg)
        if error is not None:
            quoted = str(error)
            if len(quoted) >= 4:
                message = message.replace(quoted, f"{type(error).__name__} {WITHHELD}")
            record.exc_text = traceback_without_messages(error)
            record.exc_info = None
        record.msg, record.args = redact(message), None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
