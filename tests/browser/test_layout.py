"""Pages fit the people using them, measured in Chromium.

Clinic pages on a 1366x900 desktop use its width and keep every badge on one line; the
patient's navigation on a 390x844 phone is one row, the rest under a "More" menu that opens
by keyboard and without JavaScript. ``BROWSER_SCREENSHOTS=<folder>`` also saves screenshots
of every page measured (the menu open and closed) for review."""

import os
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from careplans.services import profile_update
from flags.models import Rule
from tests.browser.conftest import PHONE, assert_no_axe_violations, log_in
from tests.factories import (
    FlagFactory,
    PatientFactory,
    adherence_drop_flag,
    item_draft,
    plan_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}
PATIENT_NAV_ROW = ["Today", "History", "My plan", "Messages", "More"]
UNDER_MORE = ["Photos", "About me", "Reminders", "Who viewed my record", "Account",
              "Two-step verification", "Sign out"]

# The number of lines a badge's text takes: the distinct tops of its line boxes.
BADGE_LINES = """badges => badges.map(badge => {
  const range = document.createRange();
  range.selectNodeContents(badge);
  const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
  return [badge.textContent.trim(), tops.size];
})"""


def shot(page, name: str) -> None:
    if folder := os.environ.get("BROWSER_SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
        page.screenshot(path=str(Path(folder) / f"{name}-first-screen.png"))


@pytest.fixture
def busy_clinic(derm, patient_a):
    """Patients with what makes clinic pages wide: several flags, an agreed trade-off, a long
    name, check-in history."""
    profile_update(patient=patient_a, actor=derm, preferences=None, data={
        "monthly_budget": Decimal("8"), "morning_minutes": 15, "evening_minutes": 15})
    adherence_drop_flag(patient_a, author=derm, note="Work has been hectic", note_days_ago=3,
                        unlogged_every=4, satisfaction=3)
    plan_for(patient_a, author=derm, base_number=1, reason="Brand-name gel for June",
             accepted={"budget": "It works faster before the wedding."})
    now = timezone.now()
    for days, rule in enumerate([Rule.SEVERE_SIDE_EFFECT, Rule.ALLIANCE_AT_RISK,
                                 Rule.SATISFACTION_DROP]):
        FlagFactory(patient=patient_a, rule=rule, severity=3 - days % 3,
                    opened_at=now - timedelta(days=days))
    other = PatientFactory(dermatologist=derm, user__first_name="Maximiliane",
                           user__last_name="Oberhausen-Wittgenstein")
    plan_for(other, author=derm, items=[item_draft(monthly_cost=Decimal("0"))])
    FlagFactory(patient=other, rule=Rule.BELOW_EXPECTED)
    FlagFactory(patient=other, rule=Rule.GONE_QUIET)
    return patient_a


def test_clinic_pages_use_a_desktop_screen_and_keep_badges_on_one_line(
    live_server, browser, derm, busy_clinic
):
    # given
    page = browser.new_context(viewport=DESKTOP).new_page()
    log_in(page, live_server, derm.email)

    # when: the patient list
    page.goto(f"{live_server.url}/clinic/patients/")
    table = page.locator("table.patients").bounding_box()
    badges = page.locator("table.patients .badge")
    lines = badges.evaluate_all(BADGE_LINES)
    shot(page, "clinic-patient-list-1366")
    assert_no_axe_violations(page)

    # then: the table spans the screen (it sat in an ~800 px column), every badge is one line
    assert table["width"] > 1250, table
    assert "Fits, 1 trade-off agreed" in [text for text, _ in lines]
    assert len(lines) >= 8
    assert [text for text, count in lines if count != 1] == []

    # and the patient page, the plan editor and the flag queue use the width too
    for path, name in ((f"/clinic/patients/{busy_clinic.pk}/", "clinic-patient-page"),
                       (f"/clinic/patients/{busy_clinic.pk}/plan/edit/", "clinic-plan-editor"),
                       ("/clinic/flagged/", "clinic-flag-queue")):
        page.goto(f"{live_server.url}{path}")
        assert page.locator("main").bounding_box()["width"] > 1300, path
        multi_line = [text for text, count in page.locator("main .badge").evaluate_all(
            BADGE_LINES) if count != 1]
        assert multi_line == [], path
        shot(page, f"{name}-1366")
    page.context.close()


def disclosure_state(page) -> list[tuple[str, bool]]:
    """What a screen reader is told about each disclosure control (Chromium's accessibility
    tree): its name and whether it is expanded."""
    nodes = page.context.new_cdp_session(page).send("Accessibility.getFullAXTree")["nodes"]
    return [(node["name"]["value"], next(p["value"]["value"] for p in node["properties"]
                                         if p["name"] == "expanded"))
            for node in nodes if node.get("role", {}).get("value") == "DisclosureTriangle"]


def nav_row_boxes(page) -> list[tuple[str, dict]]:
    items = page.locator("nav[aria-label='Main'] .nav-row > li")
    return [(items.nth(i).inner_text().split("\n")[0].strip(" ▾▴"),
             items.nth(i).bounding_box()) for i in range(items.count())]


def test_the_patients_navigation_is_one_row_on_a_phone_with_more_by_keyboard(
    live_server, page, derm, busy_clinic
):
    # given
    log_in(page, live_server, busy_clinic.user.email)
    page.goto(f"{live_server.url}/today/")

    # when
    row = nav_row_boxes(page)

    # then: the four daily pages and "More" sit on one row inside the phone's width
    assert [label for label, _ in row] == PATIENT_NAV_ROW
    tops = {round(box["y"]) for _, box in row}
    assert max(tops) - min(tops) <= 2, row
    assert max(box["x"] + box["width"] for _, box in row) <= PHONE["width"]
    more = page.locator("nav[aria-label='Main'] summary")
    assert not page.get_by_role("link", name="Photos").is_visible()
    assert disclosure_state(page) == [("More pages and account", False)]

    # when: a keyboard user tabs from "Messages" to "More" and opens it with Enter
    page.get_by_role("link", name="Messages").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")

    # then: the menu is open, announced as expanded, and its links come next in tab order
    assert more.evaluate("s => s.parentElement.open") is True
    assert disclosure_state(page) == [("More pages and account", True)]
    assert [page.get_by_role("link", name=name).is_visible() for name in UNDER_MORE[:6]] == [
        True] * 6
    assert page.get_by_role("button", name="Sign out").is_visible()
    shot(page, "patient-today-menu-open-390")
    assert_no_axe_violations(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Photos"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/photos/")

    # and on every patient page the row stays one row (screenshots: menu closed)
    for path, name in (("/today/", "patient-today"), ("/history/", "patient-history"),
                       ("/plan/", "patient-my-plan"), ("/profile/", "patient-about-me"),
                       ("/reminders/", "patient-reminders"), ("/messages/", "patient-messages")):
        page.goto(f"{live_server.url}{path}")
        tops = {round(box["y"]) for _, box in nav_row_boxes(page)}
        assert max(tops) - min(tops) <= 2, path
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        shot(page, f"{name}-390")
    more.click()
    shot(page, "patient-messages-menu-open-390")


def test_more_works_without_javascript(live_server, browser, busy_clinic):
    # given: a phone with JavaScript off
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server, busy_clinic.user.email)
    page.goto(f"{live_server.url}/plan/")

    # when
    page.locator("nav[aria-label='Main'] summary").click()
    page.get_by_role("link", name="Reminders").click()

    # then
    page.wait_for_url(f"{live_server.url}/reminders/")
    assert re.search("Reminders", page.get_by_role("heading", level=1).inner_text())
    context.close()


def test_clinician_navigation_is_unchanged_on_a_desktop(live_server, browser, derm,
                                                        busy_clinic):
    # given
    page = browser.new_context(viewport=DESKTOP).new_page()
    log_in(page, live_server, derm.email)

    # when
    page.goto(f"{live_server.url}/clinic/patients/")
    row = nav_row_boxes(page)

    # then: every link in one visible row, no "More"
    assert [label for label, _ in row] == [
        "My patients", "Flagged patients", "Messages", "Audit log", "Catalogue", "Account",
        "Two-step verification", "Sign out"]
    assert len({round(box["y"]) for _, box in row}) == 1
    page.get_by_role("link", name="Flagged patients").click()
    page.wait_for_url(f"{live_server.url}/clinic/flagged/")
    page.context.close()
