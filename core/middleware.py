"""A database that is restarting or unreachable answers a plain 503 page, never a stack trace.

Connections recover by themselves: a connection that failed is discarded at the end of the
request (``CONN_HEALTH_CHECKS`` and ``close_old_connections``), so the next request reconnects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
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
