"""Each demo role logs in through the real login form and lands on its home, accessibly."""

import re

import pytest
from django.utils import timezone

from demo.seed import DEMO_PASSWORD, DEMO_TOTP_SECRET, seed_demo
from tests.browser.conftest import assert_no_axe_violations, complete_code_step

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_clinic():
    return seed_demo(patients=3, now=timezone.now())  # the live server's clock


@pytest.mark.parametrize(
    ("email", "home_path", "heading"),
    [
        ("patient@demo.test", "/today/", "Today"),
        ("derm@demo.test", "/clinic/patients/", "My patients"),
        ("staff@demo.test", "/clinic/flagged/", "Flagged patients"),
    ],
)
def test_demo_role_logs_in_and_lands_on_home(live_server, page, demo_clinic, email, home_path,
                                             heading):
    # given
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    assert_no_axe_violations(page)
    # when
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name=re.compile("Sign In", re.IGNORECASE)).click()
    complete_code_step(page, DEMO_TOTP_SECRET, check_axe=True)  # clinicians: the app's code
    # then
    page.wait_for_url(f"{live_server.url}{home_path}")
    assert page.get_by_role("heading", level=1).inner_text() == heading
    assert_no_axe_violations(page)


def test_wrong_password_shows_an_error_on_the_login_form(live_server, page, demo_clinic):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("patient@demo.test")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name=re.compile("Sign In", re.IGNORECASE)).click()
    assert "/accounts/login/" in page.url
    assert page.get_by_text(re.compile("not correct", re.IGNORECASE)).first.is_visible()
    assert_no_axe_violations(page)


def test_login_page_does_not_offer_self_signup(live_server, page):
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.get_by_role("link", name=re.compile("sign up", re.IGNORECASE)).count() == 0
    assert page.get_by_role("link", name=re.compile("forgot", re.IGNORECASE)).count() == 1
