"""The consent page in Chromium on a phone: a patient signs in from the app's authorization
request, reads which app asks for what, allows it (keyboard only), and the app receives its
code; a clinician gets the refusal page. Both axe clean (BROWSER_SCREENSHOTS=<folder> keeps
screenshots)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from oauth2_provider.models import Grant

# The browser fixtures come from tests/browser/conftest.py (one Chromium for the session: a
# second copy imported elsewhere started Playwright twice in the whole suite).
from tests.browser.conftest import assert_no_axe_violations, log_in
from tests.interop.oauth import REDIRECT_URI, Pkce, authorize_params, authorize_url, patient_app

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def screenshot(page, name: str) -> None:
    if folder := os.environ.get("BROWSER_SCREENSHOTS"):
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_a_patient_allows_an_app_on_their_phone(page, live_server, patient_a):
    # given: the app sends the patient to the portal
    app = patient_app(name="My Skin Diary")
    log_in(page, live_server, patient_a.user.email)
    # when
    page.goto(live_server.url + authorize_url(authorize_params(app, Pkce.new())))
    # then: the page says who asks for what
    assert page.get_by_role("heading", level=1).inner_text() == \
        "Let My Skin Diary read your record?"
    assert page.get_by_text("Read your name and details").is_visible()
    screenshot(page, "oauth-consent-390")
    assert_no_axe_violations(page)
    # when: Allow, from the keyboard
    page.get_by_role("button", name="Allow My Skin Diary").focus()
    with page.expect_request(lambda request: request.url.startswith(REDIRECT_URI)) as sent:
        page.keyboard.press("Enter")
    # then: the browser goes on to the app (app.example does not exist: the request is enough)
    query = parse_qs(urlparse(sent.value.url).query)
    assert query["state"] == ["xyz"]
    assert Grant.objects.filter(user=patient_a.user, code=query["code"][0]).exists()


def test_a_clinician_is_told_only_the_patient_can_connect_an_app(page, live_server,
                                                                 derm):
    # given
    app = patient_app()
    log_in(page, live_server, derm.email)
    # when
    response = page.goto(live_server.url + authorize_url(authorize_params(app, Pkce.new())))
    # then
    assert response.status == 403
    assert page.get_by_role("heading", level=1).inner_text() == \
        "Only the patient can connect an app"
    screenshot(page, "oauth-refused-390")
    assert_no_axe_violations(page)
    assert not Grant.objects.exists()
