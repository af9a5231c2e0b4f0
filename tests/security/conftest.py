"""Sign-in helpers for the security tests: the real login form, the real TOTP step, a clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD, totp_code


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit counters and used TOTP codes live in the shared cache: start each test clean."""
    cache.clear()
    yield
    cache.clear()


def password_step(client: Client, email: str, password: str = PASSWORD,
                  **extra: str) -> HttpResponse:
    return client.post(reverse("account_login"), {"login": email, "password": password}, **extra)


def code_step(client: Client, code: str) -> HttpResponse:
    return client.post(reverse("mfa_authenticate"), {"code": code})


def sign_in(client: Client, email: str, *, mfa: bool = False) -> HttpResponse:
    """Through the login form, and the authenticator-app step when the account has one."""
    response = password_step(client, email)
    if mfa:
        assert response.url == reverse("mfa_authenticate")
        response = code_step(client, totp_code())
    assert response.status_code == 302, response
    return response


def signed_in_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def form_errors(response: HttpResponse) -> list[str]:
    form = response.context["form"]
    return [str(e) for e in form.non_field_errors()] + [
        str(e) for name in form.errors if name != "__all__" for e in form.errors[name]
    ]


@dataclass
class Clock:
    """What ``django.utils.timezone.now`` answers; the session rules read no other clock."""

    now: datetime = field(default_factory=timezone.now)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(timezone, "now", lambda: clock.now)
    return clock
