"""runserver's access lines (the demo's console) and CSRF refusals: one plain line with the
method, the path with its URL parameters by name and the status; never a token or a query
string. The request records of runserver carry the client's socket, not an HttpRequest."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from django.core.servers.basehttp import WSGIRequestHandler
from django.test import Client
from django.urls import reverse

TOKEN = "tok-3f9a1c77"
QUERY_SECRET = "qs-secret-55"


@pytest.fixture
def runserver_handler() -> Iterator[WSGIRequestHandler]:
    """runserver's request handler, as it is when it logs a finished request."""
    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)
    handler.client_address = ("127.0.0.1", 50000)
    with socket.socket() as client_socket:
        handler.request = client_socket
        yield handler


def _served(handler: WSGIRequestHandler, request_line: str, status: int, caplog) -> list:
    handler.requestline = request_line
    with caplog.at_level(logging.INFO, logger="django.server"):
        handler.log_request(status, 1234)
    return [r for r in caplog.records if r.name == "django.server"]


def test_an_access_line_names_the_route_with_the_token_by_name(runserver_handler, caplog):
    # given: an unsubscribe link, with a token in its path and another in its query string
    path = reverse("reminders_unsubscribe", kwargs={"token": TOKEN})
    # when
    records = _served(runserver_handler, f"GET {path}?code={QUERY_SECRET} HTTP/1.1", 200, caplog)
    # then
    assert [(r.levelname, r.getMessage()) for r in records] == [
        ("INFO", "GET /reminders/unsubscribe/<token>/ 200")]
    assert TOKEN not in caplog.text
    assert QUERY_SECRET not in caplog.text


def test_an_access_line_for_a_path_no_route_knows_hides_the_path(runserver_handler, caplog):
    # when
    records = _served(runserver_handler, f"POST /invitations/{TOKEN}/ HTTP/1.1", 404, caplog)
    # then
    assert [(r.levelname, r.getMessage()) for r in records] == [
        ("WARNING", "POST (no route) 404")]
    assert TOKEN not in caplog.text


def test_an_access_line_shows_a_static_file_and_every_url_parameter(runserver_handler, caplog):
    # given
    detail = reverse("patient_detail", kwargs={"patient_id": 42})
    # when
    static = _served(runserver_handler, "GET /static/css/portal.css HTTP/1.1", 304, caplog)
    caplog.clear()
    patient = _served(runserver_handler, f"HEAD {detail} HTTP/1.1", 302, caplog)
    # then
    assert [r.getMessage() for r in static] == ["GET /static/css/portal.css 304"]
    assert [r.getMessage() for r in patient] == ["HEAD /clinic/patients/<patient_id>/ 302"]


def test_a_malformed_request_logs_its_code_not_the_request_line(runserver_handler, caplog):
    # given: http.server quotes the request line it could not parse
    runserver_handler.requestline = ""
    # when
    with caplog.at_level(logging.INFO, logger="django.server"):
        runserver_handler.log_error(
            "code %d, message %s", 400, f"Bad request version ('GET /x?t={TOKEN} HTTP/9')")
    # then
    assert [r.getMessage() for r in caplog.records] == ["bad request: code 400"]


@pytest.mark.django_db
def test_a_csrf_refusal_logs_the_path_with_the_token_by_name(caplog):
    # given: an invitation form posted without its CSRF cookie
    client = Client(enforce_csrf_checks=True)
    url = reverse("invitation_accept", kwargs={"uidb64": "MQ", "token": TOKEN})
    # when
    with caplog.at_level(logging.INFO, logger="django.security.csrf"):
        response = client.post(url, {"password1": "x"})
    # then
    assert response.status_code == 403
    assert [r.getMessage() for r in caplog.records if r.name == "django.security.csrf"] == [
        "Forbidden (CSRF cookie not set.): /accounts/invitation/<uidb64>/<token>/"]
    assert TOKEN not in caplog.text
