"""The page allauth shows when it refuses a request for coming too often (``handler429``)."""

from __future__ import annotations

from http import HTTPStatus

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from .rate_limits import retry_after_seconds, wait_in_words


def too_many_requests(request: HttpRequest) -> HttpResponse:
    """allauth calls ``ROOT_URLCONF.handler429`` for every 429 it answers (``respond_429``)."""
    seconds = retry_after_seconds(request, now=timezone.now().timestamp())
    response = render(request, "429.html", {"wait": wait_in_words(seconds)},
                      status=HTTPStatus.TOO_MANY_REQUESTS)
    response["Retry-After"] = str(seconds)
    return response
