"""No log line of any logger carries a password-reset, invitation, email-confirmation or
unsubscribe token, an email address, or an exception's message (which can quote a name or free
text). Read from the configured console handler itself, as the server's log would show it."""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Iterator

import pytest
from celery.app.trace import LOG_FAILURE
from celery.utils.saferepr import saferepr
from django.conf import settings
from django.core.servers.basehttp import WSGIRequestHandler
from django.test import Client
from django.urls import reverse

from core.logging import RedactingFilter

TOKEN = "cb2h7k-4f0d9e8a7b6c5d4e3f2a1b"
NAME = "Siobhan Quirke"
EMAIL = "siobhan.quirke@example.test"
NOTE = "itching worse since the new cream"

TOKEN_URLS = {
    "password reset key": lambda: reverse(
        "account_reset_password_from_key", kwargs={"uidb36": "1", "key": TOKEN}),
    "invitation": lambda: reverse("invitation_accept", kwargs={"uidb64": "MQ", "token": TOKEN}),
    "unsubscribe": lambda: reverse("reminders_unsubscribe", kwargs={"token": TOKEN}),
    "email confirmation": lambda: reverse("account_confirm_email", kwargs={"key": TOKEN}),
}


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the root logger's configured handler writes, at INFO."""
    (handler,) = [h for h in logging.getLogger().handlers
                  if any(isinstance(f, RedactingFilter) for f in h.filters)]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        handler.setStream(previous)
        root.setLevel(level)


def _runserver_line(path: str, status: int) -> None:
    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)
    handler.client_address = ("127.0.0.1", 50000)
    with socket.socket() as client_socket:
        handler.request = client_socket
        handler.requestline = f"POST {path} HTTP/1.1"
        handler.log_request(status, 10)


@pytest.mark.django_db
@pytest.mark.parametrize("route", TOKEN_URLS)
def test_no_line_about_a_token_url_shows_the_token(console, route):
    # given
    url = TOKEN_URLS[route]()
    # when: a cookieless form post (CSRF refusal), a 404 below it, runserver's access line,
    # and any other logger quoting the full link (a library, a task, our own code)
    Client(enforce_csrf_checks=True).post(url, {"password1": "x"})
    Client().get(f"{url}no-such-page/")
    _runserver_line(f"{url}?next={url}", 403)
    logging.getLogger("somewhere.else").warning("sent https://portal.example%s", url)
    logging.getLogger("somewhere.else").info("next=%s", url.replace("/", "%2F"))
    # then
    written = console.getvalue()
    assert len(written.splitlines()) >= 4, written
    assert TOKEN not in written
    assert TOKEN.lower() not in written.lower()


@pytest.mark.django_db
def test_a_name_or_email_in_a_request_path_is_not_logged(console):
    # when
    path = f"/clinic/patients/{NAME.replace(' ', '-')}/{EMAIL}/"
    Client().get(path)
    _runserver_line(path, 404)
    # then
    written = console.getvalue()
    assert "404" in written
    assert NAME.split()[1] not in written
    assert EMAIL not in written


@pytest.mark.django_db
def test_an_exception_quoting_a_name_email_or_note_logs_its_type_and_frames_only(
    console, client, patient_a, monkeypatch
):
    # given: a view fails with a message that quotes the patient
    client.raise_request_exception = False
    client.force_login(patient_a.user)

    def fails(*args, **kwargs):
        try:
            raise KeyError(EMAIL)
        except KeyError as cause:
            raise ValueError(f"{NAME} <{EMAIL}>: {NOTE}") from cause

    monkeypatch.setattr("checkins.views.patient_of", fails)
    # when
    response = client.get(reverse("today"))
    logging.getLogger("somewhere.else").exception("not logged: %s", EMAIL, exc_info=ValueError(
        f"{NAME}: {NOTE}"))
    # then
    written = console.getvalue()
    assert response.status_code == 500
    assert "Traceback (most recent call last)" in written
    assert "builtins.ValueError (message withheld)" in written
    for secret in (NAME, NAME.split()[1], EMAIL, NOTE):
        assert secret not in written


def test_a_failed_celery_task_logs_no_exception_message(console):
    # given: the record Celery's tracer writes for a task that raised
    error = ValueError(f"duplicate key: Key (email)=({EMAIL}) for {NAME}")
    context = {"hostname": "w1", "id": "abc", "name": "reminders.tasks.reminder_send",
               "exc": saferepr(error), "traceback": "", "args": "(1,)", "kwargs": "{}",
               "description": "raised unexpected", "internal": False}
    # when
    logging.getLogger("celery.app.trace").error(
        LOG_FAILURE, context, exc_info=(ValueError, error, None))
    # then
    written = console.getvalue()
    assert ("Task reminders.tasks.reminder_send[abc] raised unexpected: "
            "ValueError (message withheld)") in written
    assert EMAIL not in written
    assert NAME not in written


def test_every_configured_handler_redacts():
    handlers = settings.LOGGING["handlers"]
    assert handlers
    for name, handler in handlers.items():
        assert "redact" in handler.get("filters", []), name
    assert settings.LOGGING["filters"]["redact"]["()"] == "core.logging.RedactingFilter"
    # Celery logs through these handlers instead of installing its own.
    assert settings.CELERY_WORKER_HIJACK_ROOT_LOGGER is False


def test_gunicorn_writes_no_access_log():
    # gunicorn's own loggers do not go through LOGGING; its access log (off by default) would
    # print every request line with its token. Nothing turns it on.
    for path in ("Dockerfile", "docker-compose.yml", "Procfile.demo"):
        text = (settings.BASE_DIR / path).read_text()
        assert "access-logfile" not in text, path
        assert "access_log" not in text, path


@pytest.mark.parametrize("route", TOKEN_URLS)
def test_tokens_are_redacted_even_when_the_urlconf_cannot_be_read(route, monkeypatch):
    # given: the line that reports a broken URLconf must not leak either
    url = TOKEN_URLS[route]()

    def broken():
        raise ImportError("urls")

    monkeypatch.setattr("core.logging._token_urls", broken)
    # when
    from core.logging import redact

    # then
    assert TOKEN not in redact(f"POST {url} 403")
    assert TOKEN not in redact(f"next={url.replace('/', '%2F')}")
