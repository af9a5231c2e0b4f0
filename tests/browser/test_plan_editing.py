"""A dermatologist takes a plan over budget, accepts the trade-off with a note and saves with a
reason; the patient then reads the new revision, the reason and the note."""

import re
from decimal import Decimal

import pytest

from careplans.services import profile_update
from tests.browser.conftest import assert_no_axe_violations, log_in
from tests.factories import plan_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}


def test_over_budget_revision_reaches_the_patient_with_reason_and_note(
    live_server, browser, derm, patient_a
):
    # given: a plan that fits a 20/month budget
    profile_update(patient=patient_a, actor=derm, data={"monthly_budget": Decimal("20")},
                   preferences=None)
    plan_for(patient_a, author=derm, reason="Starting gently")
    derm_page = browser.new_context(viewport=DESKTOP).new_page()
    log_in(derm_page, live_server, derm.email)

    # when: the dermatologist raises the cost and sees the live warning
    derm_page.goto(f"{live_server.url}/clinic/patients/{patient_a.pk}/")
    assert_no_axe_violations(derm_page)
    derm_page.get_by_role("link", name="Edit plan").click()
    derm_page.locator("li.step-row summary").first.click()  # the step's details
    derm_page.get_by_label("Monthly cost").first.fill("32.00")
    derm_page.get_by_label("Minutes").first.press("Tab")
    fit_panel = derm_page.locator("#fit-panel")
    fit_panel.get_by_text(re.compile(r"£12\.00 over budget")).first.wait_for()
    assert_no_axe_violations(derm_page)
    fit_panel.get_by_label("Accept this for the patient").check()
    fit_panel.get_by_label("Note for the patient").fill("The brand works faster before June.")
    derm_page.get_by_label(re.compile("Reason for this change")).fill(
        "Back to the brand-name gel for your wedding"
    )
    derm_page.get_by_role("button", name="Save revision").click()

    # then: saved as revision 2
    derm_page.get_by_text("Saved revision 2").wait_for()
    derm_page.context.close()

    # and the patient sees it, on a phone
    patient_page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    log_in(patient_page, live_server, patient_a.user.email)
    patient_page.goto(f"{live_server.url}/plan/")
    body = patient_page.locator("main").inner_text()
    assert "Back to the brand-name gel for your wedding" in body
    assert "The brand works faster before June." in body
    assert "£12.00 over" in body
    assert_no_axe_violations(patient_page)
    patient_page.get_by_role("link", name="All changes to my plan").click()
    assert "Revision 2" in patient_page.locator("main").inner_text()
    assert_no_axe_violations(patient_page)
    patient_page.context.close()
