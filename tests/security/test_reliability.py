"""A database outage answers a plain 503 page and the app recovers by itself; error pages are
plain templates with nothing from the request, the user or the error in them."""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.test import Client
from django.urls import reverse

from tests.conftest import service_unavailable

pytestmark = pytest.mark.django_db

OUTAGE_TEXT = "The portal is briefly unavailable"


def _raise(exc: Exception):
    def view(*args: object, **kwargs: object):
        raise exc

    return view


@pytest.mark.parametrize("error", [
    OperationalError("server closed the connection unexpectedly SELECT secret-note"),
    InterfaceError("connection already closed"),
])
def test_a_database_error_in_a_view_gives_the_503_page(client, patient_a, monkeypatch, caplog,
                                                       error):
    # given
    client.force_login(patient_a.user)
    monkeypatch.setattr("careplans.selectors.plan_of", _raise(error))
    # when
    with caplog.at_level(logging.WARNING):
        response = client.get(reverse("my_plan"))
    # then
    body = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "503.html" in [t.name for t in response.templates]
    assert OUTAGE_TEXT in body
    assert "Traceback" not in body
    assert "secret-note" not in body
    assert patient_a.user.email not in body
    assert "secret-note" not in caplog.text  # the driver's message is never logged
    assert "Content-Security-Policy" in response


def test_a_database_error_outside_a_view_gives_the_503_page_too(client, patient_a, monkeypatch,
                                                                caplog):
    # given: the session cannot be read (the database went away before the view ran)
    client.force_login(patient_a.user)
    client.raise_request_exception = False
    monkeypatch.setattr(
        "django.contrib.sessions.backends.db.SessionStore.load",
        _raise(OperationalError("could not connect to server")),
    )
    # when
    with caplog.at_level(logging.INFO, logger="django.request"):
        response = client.get(reverse("my_plan"))
    # then
    assert response.status_code == 503
    assert OUTAGE_TEXT in response.content.decode()
    logged = [(r.getMessage(), r.exc_info) for r in caplog.records if r.name == "django.request"]
    assert logged == [("database unavailable (OperationalError) on my_plan", None)]


def test_an_outage_while_saving_the_session_gives_the_503_page_not_a_400(client, patient_a,
                                                                          monkeypatch):
    # given: a form post whose "saved" message goes into the session, and the database goes
    # away before the session is written back
    from django.contrib.sessions.models import Session

    client.force_login(patient_a.user)
    client.raise_request_exception = False
    monkeypatch.setattr(Session, "save", _raise(OperationalError("server closed the connection")))
    # when
    response = client.post(reverse("reminder_settings"), {
        "enabled": "on", "local_time": "20:00", "weekdays": [0, 1, 2, 3, 4, 5, 6],
        "channel": "email"})
    # then
    assert response.status_code == 503
    assert OUTAGE_TEXT in response.content.decode()


def test_error_logs_name_the_route_not_the_path(client, patient_a, monkeypatch, caplog):
    # given: a path carrying a token, and an unexpected error
    client.raise_request_exception = False
    monkeypatch.setattr("reminders.services.unsubscribe_link_check", _raise(ValueError("x")))
    token = "secret-token-123"
    # when
    with caplog.at_level(logging.INFO, logger="django.request"):
        client.get(reverse("reminders_unsubscribe", kwargs={"token": token}))
    # then
    messages = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert messages == ["500 response on reminders_unsubscribe"]
    assert all(token not in r.getMessage() for r in caplog.records)


def test_other_errors_get_the_plain_500_page(client, patient_a, monkeypatch):
    # given
    client.force_login(patient_a.user)
    client.raise_request_exception = False
    monkeypatch.setattr("careplans.selectors.plan_of", _raise(ValueError("note: rash")))
    # when
    response = client.get(reverse("my_plan"))
    # then
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in body
    assert "rash" not in body
    assert "Traceback" not in body
    assert patient_a.user.email not in body


def test_unknown_pages_get_the_plain_404_page(client, patient_a):
    client.force_login(patient_a.user)
    response = client.get("/no-such-page/<script>alert(1)</script>")
    body = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in body
    assert "no-such-page" not in body
    assert "<script>alert" not in body


def test_the_next_request_after_an_outage_is_served_normally(client, patient_a, monkeypatch):
    # given: one request hit the outage
    client.force_login(patient_a.user)
    with monkeypatch.context() as patch:
        patch.setattr("careplans.selectors.plan_of", _raise(OperationalError("gone")))
        assert client.get(reverse("my_plan")).status_code == 503
    # when: the database is back
    response = client.get(reverse("my_plan"))
    # then
    assert response.status_code == 200


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_postgresql_outage_mid_run_gives_503_then_recovers_by_itself(live_server, patient_a,
                                                                      monkeypatch):
    """A real server thread on PostgreSQL: its connection is killed, the database becomes
    unreachable, then comes back. Nobody restarts anything."""
    if connection.vendor != "postgresql":
        service_unavailable("needs PostgreSQL (DATABASE_URL)")
    # Production web workers may keep connections (CONN_MAX_AGE): the hard case for recovery.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    page = _signed_in_page(live_server.url + reverse("my_plan"), patient_a)
    assert page() == 200
    # when: the server drops every other connection (a restart), and then refuses new ones
    _terminate_other_backends()
    with monkeypatch.context() as outage:
        outage.setitem(connection.settings_dict, "PORT", "1")  # nothing listens there
        during = [page() for _ in range(2)]
    after = [page() for _ in range(2)]
    # then
    assert during == [503, 503]
    assert after == [200, 200]


def _signed_in_page(url: str, patient) -> Callable[[], int]:
    client = Client()
    client.force_login(patient.user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    def get() -> int:
        request = urllib.request.Request(url, headers={"Cookie": cookie})
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status
        except urllib.error.HTTPError as error:
            code, body = error.code, error.read().decode()
        # Only the outage page counts as a 503 here; anything else shows up as its own code.
        return 503 if code == 503 and OUTAGE_TEXT in body else code

    return get


def _terminate_other_backends() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    time.sleep(0.2)
