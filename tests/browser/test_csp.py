"""In Chromium, under the real Content-Security-Policy: no page has anything blocked, and htmx
(loaded with the nonce, its inline indicator styles off) still updates the plan editor.
The header itself is tested in tests/security/test_headers.py."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from careplans.services import profile_update
from tests.factories import plan_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
    (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
"""
PATIENT_PAGES = ["today", "checkin_history", "my_plan", "my_plan_history", "my_profile",
                 "reminder_settings", "clinic_messages", "message_new", "access_log"]
CLINIC_PAGES = ["my_patients", "flagged_patients", "clinic_audit_log"]
PATIENT_RECORD_PAGES = ["patient_detail", "plan_history", "patient_profile_edit", "plan_edit"]


def _signed_in_page(chromium, live_server, user):
    """A browser tab signed in as ``user`` (session made by Django's test client)."""
    client = Client()
    client.force_login(user)
    context = chromium.new_context()
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                          "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    context.add_init_script(COLLECT_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def _visit(page, url: str) -> list[str]:
    response = page.goto(url)
    assert response.status == 200, url
    page.wait_for_load_state("load")
    return page.evaluate("window.__csp")


def test_no_page_breaks_the_policy_and_htmx_still_works(
    live_server, browser, derm, patient_a
):
    # given: a budget the patient gave (a profile starts without one)
    profile_update(patient=patient_a, actor=derm, data={"monthly_budget": Decimal("30")},
                   preferences=None)
    plan_for(patient_a, author=derm, reason="Starting gently")
    url = live_server.url
    patient_page = _signed_in_page(browser, live_server, patient_a.user)
    derm_page = _signed_in_page(browser, live_server, derm)
    # when / then: every page loads with nothing blocked
    for name in PATIENT_PAGES:
        assert _visit(patient_page, url + reverse(name)) == [], name
    for name in CLINIC_PAGES:
        assert _visit(derm_page, url + reverse(name)) == [], name
    for name in PATIENT_RECORD_PAGES:
        target = url + reverse(name, kwargs={"patient_id": patient_a.pk})
        assert _visit(derm_page, target) == [], name
    # and htmx (loaded with the nonce) refreshes the fit panel on the plan editor
    assert derm_page.evaluate("typeof htmx") == "object"
    derm_page.locator("li.step-row summary").first.click()
    with derm_page.expect_response(lambda r: "/plan/fit/" in r.url) as fit:
        derm_page.get_by_label("Monthly cost").first.fill("99.00")
        derm_page.get_by_label("Minutes").first.press("Tab")
    assert fit.value.status == 200
    derm_page.locator("#fit-panel").get_by_text("over budget").first.wait_for()
    assert derm_page.evaluate("window.__csp") == []
    assert derm_page.evaluate("document.querySelectorAll('style').length") == 0
