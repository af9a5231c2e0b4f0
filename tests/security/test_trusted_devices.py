"""Trusted devices: a browser that completed a two-step sign-in for an account in the last 30
days counts its own failed passwords for it, so a stranger's failures elsewhere cannot lock the
clinician out of it; every other browser keeps the lockout (five failures, five minutes)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.trusted_devices import COOKIE_PREFIX, cookie_name
from tests.factories import DermatologistFactory, PatientFactory, totp_code
from tests.security.conftest import form_errors, password_step, sign_in, signed_in_user_id

pytestmark = pytest.mark.django_db

TOO_MANY = "Too many failed login attempts. Try again later."
STRANGER = "203.0.113.7"
CLINIC = "10.1.1.1"
# Ten seconds into a 30-second code period, so the app's code stays valid while a test signs in.
MONDAY_MORNING = datetime(2026, 6, 1, 9, 0, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(MONDAY_MORNING, tick=False) as clock:
        yield clock


@pytest.fixture
def derms_browser(derm) -> Client:
    """The dermatologist's own browser, which signed in with password and code, then out."""
    browser = Client()
    sign_in(browser, derm.email, mfa=True)
    browser.post(reverse("account_logout"))
    return browser


def _stranger_fails_five_times(email: str) -> None:
    stranger = Client()
    for _ in range(5):
        password_step(stranger, email, "guessed-password-1", REMOTE_ADDR=STRANGER)


def _reaches_the_code_step(response) -> bool:
    return response.status_code == 302 and response.url == reverse("mfa_authenticate")


def test_failures_elsewhere_do_not_lock_out_the_browser_that_completed_two_step(derm,
                                                                                 derms_browser):
    # given
    _stranger_fails_five_times(derm.email)
    # when
    response = password_step(derms_browser, derm.email, REMOTE_ADDR=CLINIC)
    # then
    assert _reaches_the_code_step(response)


def test_an_unknown_browser_is_still_locked_out(derm, derms_browser):
    # given
    _stranger_fails_five_times(derm.email)
    # when: the right password from a browser without the device cookie
    response = password_step(Client(), derm.email, REMOTE_ADDR=CLINIC)
    # then
    assert form_errors(response) == [TOO_MANY]


def test_the_trusted_browser_is_locked_out_by_its_own_failures(derm, derms_browser):
    # given
    for _ in range(5):
        password_step(derms_browser, derm.email, "mistyped-password", REMOTE_ADDR=CLINIC)
    # when
    response = password_step(derms_browser, derm.email, REMOTE_ADDR=CLINIC)
    # then
    assert form_errors(response) == [TOO_MANY]
    assert signed_in_user_id(derms_browser) is None


def test_the_browser_is_trusted_for_thirty_days_after_its_last_two_step_sign_in(
        derm, derms_browser, frozen_clock):
    # given: 29 days later the cookie still counts; a day and a half later it no longer does
    frozen_clock.shift(timedelta(days=29))
    _stranger_fails_five_times(derm.email)
    within = password_step(derms_browser, derm.email, REMOTE_ADDR=CLINIC)
    derms_browser.post(reverse("account_logout"))
    frozen_clock.shift(timedelta(days=1, hours=12))
    _stranger_fails_five_times(derm.email)
    # when
    after = password_step(derms_browser, derm.email, REMOTE_ADDR=CLINIC)
    # then
    assert _reaches_the_code_step(within)
    assert form_errors(after) == [TOO_MANY]


def test_a_password_change_retires_the_browser(derm, derms_browser):
    # given
    derm.set_password("a-new-password-77")
    derm.save()
    _stranger_fails_five_times(derm.email)
    # when
    response = password_step(derms_browser, derm.email, "a-new-password-77", REMOTE_ADDR=CLINIC)
    # then
    assert form_errors(response) == [TOO_MANY]


def test_the_cookie_vouches_for_its_own_account_only(derm, derms_browser, clinic):
    # given: a colleague on the same workstation, locked out by a stranger
    colleague = DermatologistFactory(membership=clinic)
    _stranger_fails_five_times(colleague.email)
    # when
    response = password_step(derms_browser, colleague.email, REMOTE_ADDR=CLINIC)
    # then
    assert form_errors(response) == [TOO_MANY]


def test_a_tampered_cookie_is_not_trusted(derm, derms_browser):
    # given
    name = cookie_name(derm)
    derms_browser.cookies[name] = derms_browser.cookies[name].value[:-2] + "xx"
    _stranger_fails_five_times(derm.email)
    # when
    response = password_step(derms_browser, derm.email, REMOTE_ADDR=CLINIC)
    # then
    assert form_errors(response) == [TOO_MANY]


def test_the_cookie_is_http_only_secure_lax_and_lasts_thirty_days(derm):
    # given
    browser = Client()
    password_step(browser, derm.email, secure=True)
    # when
    response = browser.post(reverse("mfa_authenticate"), {"code": totp_code()}, secure=True)
    # then
    cookie = response.cookies[cookie_name(derm)]
    assert signed_in_user_id(browser) == str(derm.pk)
    assert (cookie["httponly"], cookie["secure"], cookie["samesite"]) == (True, True, "Lax")
    assert cookie["max-age"] == 30 * 24 * 60 * 60


def test_no_cookie_before_the_code_step_nor_for_a_password_only_sign_in(derm):
    # given
    patient = PatientFactory(dermatologist=derm)
    browser = Client()
    # when
    password_only = sign_in(browser, patient.user.email)
    half_way = password_step(Client(), derm.email)
    # then
    assert not [n for n in password_only.cookies if n.startswith(COOKIE_PREFIX)]
    assert not [n for n in half_way.cookies if n.startswith(COOKIE_PREFIX)]

