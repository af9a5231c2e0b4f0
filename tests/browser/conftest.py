"""Playwright driving Debian's Chromium (no browser download), with axe-core for accessibility."""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache

from tests.conftest import service_unavailable
from tests.factories import PASSWORD, TOTP_SECRET, backdated_revision, item_draft, totp_code

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
PHONE = {"width": 390, "height": 844}
SIGN_IN = re.compile("Sign In", re.IGNORECASE)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        service_unavailable("Chromium is not installed (apt-get install -y chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # in the same thread are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def assert_no_axe_violations(page) -> None:
    """Also saves a full-page screenshot when BROWSER_SCREENSHOTS names a folder (for review)."""
    from axe_playwright_python.sync_playwright import Axe

    if folder := os.environ.get("BROWSER_SCREENSHOTS"):
        path = page.url.split("//", 1)[-1].split("/", 1)[-1].split("?", 1)[0]  # no query
        name = path.strip("/").replace("/", "_")
        width = page.viewport_size["width"] if page.viewport_size else 0
        page.screenshot(path=str(Path(folder) / f"{name or 'root'}-{width}.png"), full_page=True)

    results = Axe().run(page)
    assert results.violations_count == 0, f"{page.url}\n{results.generate_report()}"


@pytest.fixture(autouse=True)
def fresh_cache():
    """Used one-time codes and login rate limits live in the cache; user ids repeat across
    transactional tests, so a code used by the previous test would be refused as a replay."""
    cache.clear()
    yield
    cache.clear()


def log_in(page, live_server, email: str, password: str = PASSWORD,
           totp_secret: str = TOTP_SECRET) -> None:
    """Through the real login form, and the authenticator-app step for clinicians."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name=SIGN_IN).click()
    complete_code_step(page, totp_secret)


def complete_code_step(page, totp_secret: str = TOTP_SECRET, *, check_axe: bool = False) -> None:
    """After a correct password: clinicians (who must use MFA) type the code an authenticator
    app holding ``totp_secret`` shows; patients without one are already signed in."""
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    if "/accounts/2fa/authenticate/" not in page.url:
        return
    if check_axe:
        assert_no_axe_violations(page)
    page.get_by_label("Code").fill(totp_code(totp_secret))
    page.get_by_role("button", name=SIGN_IN).click()
    page.wait_for_url(lambda url: "/accounts/2fa/" not in url)


@pytest.fixture
def routine_for_browser(patient_a, derm):
    """A patient's plan since 20 days ago: a cleanser morning and evening, a retinoid at night."""
    return backdated_revision(
        patient_a, author=derm, number=1,
        effective_from=patient_a.local_today() - timedelta(days=20),
        items=[
            item_draft(name="Gentle cleanser", kind="skincare", time_of_day="both", position=1),
            item_draft(name="Adapalene 0.1% gel", position=2),
        ],
    )
