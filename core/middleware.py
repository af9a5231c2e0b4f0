"""The portal's own middleware: a database outage answers a plain 503 page, never a stack trace;
a form body in a charset Django refuses answers 400; no signed-in page is kept in a cache.

Connections recover by themselves: a connection that failed is discarded at the end of the
request (``CONN_HEALTH_CHECKS`` and ``close_old_connections``), so the next request reconnects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers, has_vary_header

from core.faults import DATABASE_UNAVAILABLE

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


def database_unavailable_response() -> HttpResponse:
    """The 503 page. Rendered without the request: context processors would query the database."""
    response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Turns a database outage raised by a view into the 503 page.

    Outages raised by other middleware reach ``core.views.server_error`` (``handler500``),
    which gives the same page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_UNAVAILABLE):
            return None
        # The class name only: driver messages can quote SQL and its parameters (health data).
        # The route name, not the path: paths can carry tokens (invitations, unsubscribe links).
        route = request.resolver_match.url_name if request.resolver_match else "-"
        logger.warning("database unavailable (%s) on %s", type(exception).__name__, route)
        return database_unavailable_response()


# --- Request bodies in a charset Django refuses -----------------------------------------------

FORM_URLENCODED = "application/x-www-form-urlencoded"


def bad_request_response() -> HttpResponse:
    """The plain 400 page. Rendered without the request (nothing from it is echoed)."""
    return HttpResponseBadRequest(render_to_string("400.html"))


class UnreadableBodyMiddleware:
    """A form POST declaring a charset other than UTF-8 answers 400 before anything reads it.

    Django refuses such a body (``BadRequest`` from ``request.POST``: a urlencoded form is
    always UTF-8) but does not mark the body as failed, so its own 400 handler, which reads
    ``request.POST`` again for the CSRF check, raised a second time: a 500 with an ERROR
    traceback on every CSRF-protected POST. The test is Django's own: a charset Python knows
    (unknown names are ignored and the body is read as UTF-8) that is not "utf-8".
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        encoding = request.encoding
        if (request.method == "POST" and request.content_type == FORM_URLENCODED
                and encoding is not None and encoding.lower() != "utf-8"):
            return bad_request_response()
        return self.get_response(request)


# --- No copy of a signed-in page is kept ------------------------------------------------------


class NoStoreMiddleware:
    """Every response to a request carrying the session cookie (every signed-in request does),
    and every response that sets or varies on it, is ``Cache-Control: no-store, private``
    (Django's ``never_cache`` headers): neither a shared computer's back button nor a proxy
    keeps a copy of a page with health data.

    The cookie, not ``request.user``: reading the user here would query the session a second
    time, and during a database outage raise again after the 503 page was made. Placed after
    WhiteNoise, so static files keep their own caching headers, and before the session
    middleware, so it sees the session cookie that middleware sets.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        cookie = settings.SESSION_COOKIE_NAME
        if (cookie in request.COOKIES or cookie in response.cookies
                or has_vary_header(response, "Cookie")):
            add_never_cache_headers(response)
        return response
