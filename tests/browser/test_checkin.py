"""On a phone: one-tap check-in, a back-filled day with one skipped step, then History; a
same-day plan revision that keeps the saved answers."""

import os
import re
from pathlib import Path

import pytest

from checkins.models import CheckIn
from tests.browser.conftest import PHONE, assert_no_axe_violations, log_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}


def test_patient_checks_in_on_a_phone_and_sees_it_in_history(
    live_server, page, patient_a, routine_for_browser
):
    # given
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(patient_a.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign In", re.IGNORECASE)).click()
    page.wait_for_url(f"{live_server.url}/today/")
    assert_no_axe_violations(page)

    # when: one tap for today
    page.get_by_role("button", name="I did everything").click()
    page.get_by_text("every step done").wait_for()
    assert_no_axe_violations(page)

    # and yesterday, step by step, with the retinoid skipped
    page.locator("p", has_text="Missed a day?").get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"\?date="))
    retinoid = page.get_by_role("group", name="Adapalene 0.1% gel")
    retinoid.get_by_label("Skipped").check()
    page.get_by_label("Why was Adapalene 0.1% gel skipped?").select_option("side_effects")
    page.get_by_role("button", name="Save check-in").click()
    page.get_by_text("2 of 3 steps done").first.wait_for()

    # then: History shows both days
    page.get_by_role("link", name="History").click()
    recent = page.locator(".recent-list").inner_text()
    assert "3 of 3 steps done" in recent
    assert "2 of 3 steps done" in recent
    assert_no_axe_violations(page)


def screenshot(page, name: str) -> None:
    """For review: saved when BROWSER_SCREENSHOTS names a folder."""
    if folder := os.environ.get("BROWSER_SCREENSHOTS"):
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_a_same_day_plan_revision_keeps_the_answers_on_today(
    live_server, browser, patient_a, derm, routine_for_browser
):
    # given: the patient checks in on a phone, the evening cleanser skipped for lack of time
    # and a mild side effect put down to the retinoid
    phone = browser.new_context(viewport=PHONE).new_page()
    log_in(phone, live_server, patient_a.user.email)
    phone.goto(f"{live_server.url}/today/")
    evening = phone.get_by_role("region", name="Evening")
    evening.get_by_role("group", name="Gentle cleanser").get_by_label("Skipped").check()
    evening.get_by_label("Why was Gentle cleanser skipped?").select_option(label="No time")
    phone.get_by_role("group", name="Side effects").get_by_label("Mild").check()
    phone.get_by_label("Which step caused it?").select_option(label="Adapalene 0.1% gel")
    phone.get_by_role("button", name="Save check-in").click()
    phone.get_by_text("Checked in: 2 of 3 steps done").wait_for()
    screenshot(phone, "today-before-revision-390")

    # when: the dermatologist saves a revision the same day, adding a morning moisturiser
    desk = browser.new_context(viewport=DESKTOP).new_page()
    log_in(desk, live_server, derm.email)
    desk.goto(f"{live_server.url}/clinic/patients/{patient_a.pk}/")
    desk.get_by_role("link", name="Edit plan").click()
    desk.get_by_role("button", name="Add a blank step").click()
    desk.get_by_label("Name").last.fill("Moisturiser")
    desk.get_by_label("When").last.select_option(label="Morning")
    desk.get_by_label(re.compile("Reason for this change")).fill("A moisturiser for the dryness")
    desk.get_by_role("button", name="Save revision").click()
    desk.get_by_text("Saved revision 2").wait_for()
    desk.context.close()

    # then: Today shows every saved answer, and the new step new and unanswered
    phone.goto(f"{live_server.url}/today/")
    screenshot(phone, "today-after-revision-390")
    assert_no_axe_violations(phone)
    evening = phone.get_by_role("region", name="Evening")
    assert "Checked in: 2 of 3 steps done" in phone.get_by_role("status").inner_text()
    cleanser = evening.get_by_role("group", name="Gentle cleanser")
    assert cleanser.get_by_label("Skipped").is_checked()
    assert evening.get_by_label("Why was Gentle cleanser skipped?").input_value() == "no_time"
    assert evening.get_by_role("group", name="Adapalene 0.1% gel").get_by_label("Done").is_checked()
    caused_by = phone.get_by_label("Which step caused it?")
    assert caused_by.locator("option:checked").inner_text() == "Adapalene 0.1% gel"
    moisturiser = phone.get_by_role("group", name="Moisturiser")
    assert not moisturiser.get_by_label("Done").is_checked()
    assert not moisturiser.get_by_label("Skipped").is_checked()
    assert "New in your plan" in moisturiser.inner_text()

    # and saving with the new step answered changes only that
    moisturiser.get_by_label("Done").check()
    phone.get_by_role("button", name="Save check-in").click()
    phone.get_by_text("Checked in: 3 of 4 steps done").wait_for()
    checkin = CheckIn.objects.get()
    assert set(checkin.steps.values_list("item__name", "slot", "done", "skip_reason")) == {
        ("Gentle cleanser", "morning", True, ""), ("Gentle cleanser", "evening", False, "no_time"),
        ("Adapalene 0.1% gel", "evening", True, ""), ("Moisturiser", "morning", True, ""),
    }
    assert (checkin.side_effect, checkin.side_effect_item.name) == ("mild", "Adapalene 0.1% gel")
    screenshot(phone, "today-after-re-save-390")
    phone.context.close()
