"""Playwright driving Debian's Chromium (no browser download), with axe-core for accessibility."""

import os
from pathlib import Path

import pytest

from tests.conftest import service_unavailable

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
PHONE = {"width": 390, "height": 844}


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
        name = page.url.split("//", 1)[-1].split("/", 1)[-1].strip("/").replace("/", "_")
        width = page.viewport_size["width"] if page.viewport_size else 0
        page.screenshot(path=str(Path(folder) / f"{name or 'root'}-{width}.png"), full_page=True)

    results = Axe().run(page)
    assert results.violations_count == 0, f"{page.url}\n{results.generate_report()}"
