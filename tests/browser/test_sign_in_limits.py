"""Sign-in limits as a clinician meets them in Chromium on a phone: a code typed twice, and the
page shown when allauth refuses attempts that come too often."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from allauth.core.internal.ratelimit import consume
from django.test import RequestFactory

from accounts.mfa_forms import CODE_JUST_USED
from tests.browser.conftest import SIGN_IN, assert_no_axe_violations
from tests.factories import PASSWORD, DermatologistFactory, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# One second into a 30-second code period; the clock runs on from there.
START_OF_A_CODE_PERIOD = datetime(2026, 6, 1, 9, 0, 1, tzinfo=UTC)
SIGN_IN_POSTS_A_MINUTE = 30  # allauth's "login" limit: 30/m/ip


def _password_step(page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=SIGN_IN).click()
    page.wait_for_url(re.compile("/accounts/2fa/authenticate/"))


def _code_step(page, code: str) -> None:
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name=SIGN_IN).click()


@time_machine.travel(START_OF_A_CODE_PERIOD, tick=True)
def test_a_code_typed_again_says_to_wait_for_the_next_one(live_server, page):
    # given: signed in with the app's code, then signed out
    derm = DermatologistFactory()
    code = totp_code()
    _password_step(page, live_server, derm.email)
    _code_step(page, code)
    page.wait_for_url(lambda url: "/accounts/2fa/" not in url)
    page.get_by_role("button", name="Sign out").click()
    # when: signing in again with the code still on the app's screen
    _password_step(page, live_server, derm.email)
    _code_step(page, code)
    # then (waited for: on a loaded machine the answer can take a moment to render)
    page.get_by_text(CODE_JUST_USED).wait_for()
    assert "/accounts/2fa/authenticate/" in page.url
    assert_no_axe_violations(page)


def test_too_many_attempts_show_when_to_try_again(live_server, page):
    # given: this address has used its minute's allowance of sign-in attempts
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="127.0.0.1")
    for _ in range(SIGN_IN_POSTS_A_MINUTE):
        assert consume(request, app="allauth.account", action="login")
    # when
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("someone@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=SIGN_IN).click()
    # then
    assert page.get_by_role("heading", level=1).inner_text() == "Please wait a moment"
    wait = re.compile(r"You can try again in \d+ (seconds?|minute)\.")
    assert page.get_by_text(wait).is_visible()
    assert_no_axe_violations(page)
