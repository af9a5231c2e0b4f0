import sys

from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .faults import DATABASE_UNAVAILABLE
from .middleware import database_unavailable_response


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and docker-compose: the process answers and the DB responds."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


@require_POST
@login_required
def bench_noop(request: HttpRequest) -> HttpResponse:
    """The baseline of ``benchmarks/checkin_throughput.py``: a logged-in, CSRF-checked POST through
    the same middleware as the check-in, doing no work of its own (the framework's floor).

    Routed only when ``ALLIANCE_BENCHMARK_ENDPOINTS=true`` (see ``core/urls.py``); the benchmark
    sets that for the gunicorn it starts. Never enabled in production.
    """
    return HttpResponse(status=204)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: a plain page with nothing from the request or the error in it.

    A database outage raised outside a view (e.g. while saving the session) gets the 503 page.
    Django calls this inside its ``except`` block, so the exception is in ``sys.exc_info()``.
    """
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        return database_unavailable_response()
    return HttpResponseServerError(render_to_string("500.html"))
