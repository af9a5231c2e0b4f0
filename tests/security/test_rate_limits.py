"""Login rate limits (allauth, in the shared cache): the 6th failure for one address within 5
minutes is refused even with the right password, with a message that does not tell whether the
address has an account. The Django admin signs in through the same form. A request refused for
coming too often gets a portal page that says when to try again."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.checks import run_checks
from django.test import override_settings
from django.urls import reverse

from accounts.checks import DUMMY_CACHE, cache_is_shared
from tests.factories import PASSWORD, UserFactory, totp_code
from tests.security.conftest import code_step, form_errors, password_step, signed_in_user_id

pytestmark = pytest.mark.django_db

TOO_MANY = "Too many failed login attempts. Try again later."


def _fail_five_times(client, email: str, address: str) -> list[list[str]]:
    return [
        form_errors(password_step(client, email, "wrong-password-1", REMOTE_ADDR=address))
        for _ in range(5)
    ]


def test_sixth_attempt_within_five_minutes_is_refused_even_with_the_right_password(client,
                                                                                   patient_a):
    # given
    earlier = _fail_five_times(client, patient_a.user.email, "10.0.0.1")
    # when
    sixth = password_step(client, patient_a.user.email, PASSWORD, REMOTE_ADDR="10.0.0.1")
    # then
    assert sixth.status_code == 200
    assert form_errors(sixth) == [TOO_MANY]
    assert signed_in_user_id(client) is None
    assert all(TOO_MANY not in errors for errors in earlier)


def test_unknown_address_gets_the_same_messages(client, patient_a):
    # given
    known = _fail_five_times(client, patient_a.user.email, "10.0.0.2")
    unknown = _fail_five_times(client, "nobody@example.test", "10.0.0.3")
    # when
    known_sixth = password_step(client, patient_a.user.email, PASSWORD, REMOTE_ADDR="10.0.0.2")
    unknown_sixth = password_step(client, "nobody@example.test", PASSWORD,
                                  REMOTE_ADDR="10.0.0.3")
    # then
    assert known == unknown
    assert form_errors(known_sixth) == form_errors(unknown_sixth) == [TOO_MANY]
    assert known_sixth.status_code == unknown_sixth.status_code == 200


def test_one_address_is_refused_after_ten_failures_a_minute_across_accounts(client):
    # given: ten accounts each tried once from one address
    users = UserFactory.create_batch(11)
    for user in users[:10]:
        password_step(client, user.email, "wrong-password-1", REMOTE_ADDR="10.0.0.4")
    # when
    response = password_step(client, users[10].email, PASSWORD, REMOTE_ADDR="10.0.0.4")
    # then
    assert form_errors(response) == [TOO_MANY]
    assert signed_in_user_id(client) is None


def test_sixth_code_within_five_minutes_is_refused_even_when_right(client, derm):
    # given
    password_step(client, derm.email)
    wrong = "123456" if totp_code() != "123456" else "654321"
    for _ in range(5):
        code_step(client, wrong)
    # when
    response = code_step(client, totp_code())
    # then
    assert response.status_code == 200
    assert form_errors(response) == [TOO_MANY]
    assert signed_in_user_id(client) is None


def test_admin_login_page_sends_to_the_portal_login(client):
    # when
    response = client.get(reverse("admin:login"), {"next": "/admin/"})
    # then
    assert response.status_code == 302
    assert response.url == f"{reverse('account_login')}?next=%2Fadmin%2F"


def test_admin_login_form_cannot_be_used_to_sign_in(client):
    # given: a clinic administrator (the admin's own form has no rate limit and no MFA)
    admin = UserFactory(is_staff=True, is_superuser=True)
    # when
    response = client.post(reverse("admin:login"), {"username": admin.email, "password": PASSWORD})
    # then
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert signed_in_user_id(client) is None


def test_dummy_cache_is_a_configuration_error():
    # given
    dummy = {"default": {"BACKEND": DUMMY_CACHE}}
    # when
    with override_settings(CACHES=dummy):
        errors = [m.id for m in run_checks(tags=["caches"])]
    # then
    assert "accounts.E001" in errors
    assert cache_is_shared() == []  # the configured cache is shared


SIGN_IN_POSTS_A_MINUTE = 30  # allauth's "login" limit: 30/m/ip, refused with a 429


def _sign_in_posts(client, count: int, address: str = "10.0.0.9") -> list:
    return [client.post(reverse("account_login"), {}, REMOTE_ADDR=address) for _ in range(count)]


@time_machine.travel(datetime(2026, 6, 1, 9, 0, tzinfo=UTC), tick=False)
def test_too_many_requests_is_a_portal_page_that_says_when_to_try_again(client):
    # given: a minute's allowance of sign-in attempts from one address, all at once
    allowed = _sign_in_posts(client, SIGN_IN_POSTS_A_MINUTE)
    # when
    refused = _sign_in_posts(client, 1)[0]
    # then
    assert {r.status_code for r in allowed} == {200}
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    page = refused.content.decode()
    assert "You can try again in <strong>1 minute</strong>." in page
    assert '<a class="brand" href="/">Alliance Portal</a>' in page
    assert f'href="{reverse("account_login")}"' in page


def test_the_wait_shrinks_as_the_window_passes_and_then_the_form_answers_again(client):
    # given
    with time_machine.travel(datetime(2026, 6, 1, 9, 0, tzinfo=UTC), tick=False) as clock:
        _sign_in_posts(client, SIGN_IN_POSTS_A_MINUTE)
        # when
        clock.shift(timedelta(seconds=45))
        later = _sign_in_posts(client, 1)[0]
        clock.shift(timedelta(seconds=16))
        after_the_window = _sign_in_posts(client, 1)[0]
    # then
    assert (later.status_code, later["Retry-After"]) == (429, "15")
    assert "You can try again in <strong>15 seconds</strong>." in later.content.decode()
    assert after_the_window.status_code == 200
