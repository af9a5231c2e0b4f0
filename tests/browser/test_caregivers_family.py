"""Issue 20 on a phone (390×844): a parent of two children chooses whom to help and sees the
"You are acting for" bar; a teenager answers the question about her parent on Today, sees
"People who help me", and writes a private message. Every page axe-clean
(BROWSER_SCREENSHOTS=<folder> keeps a screenshot of each)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from messaging.models import Thread
from tests.browser.conftest import PHONE, assert_no_axe_violations, log_in
from tests.factories import CaregiverFactory, CaregiverLinkFactory, PatientFactory, plan_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def screenshot(page, name: str) -> None:
    if folder := os.environ.get("BROWSER_SCREENSHOTS"):
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _born(years: int):
    today = timezone.localdate()
    return today.replace(year=today.year - years) - timedelta(days=40)


@pytest.fixture
def family(derm):
    now = timezone.now()
    parent = CaregiverFactory(first_name="Sam", last_name="Okafor")
    mia = PatientFactory(dermatologist=derm, date_of_birth=_born(8), user__first_name="Mia",
                         user__last_name="Okafor")
    leo = PatientFactory(dermatologist=derm, date_of_birth=_born(6), user__first_name="Leo",
                         user__last_name="Okafor")
    zoe = PatientFactory(dermatologist=derm, date_of_birth=_born(14), user__first_name="Zoe",
                         user__last_name="Okafor")
    for child in (mia, leo, zoe):
        plan_for(child, author=derm, now=now)
        CaregiverLinkFactory(caregiver=parent, patient=child, called="Mum", invited_by=derm)
    return parent, mia, leo, zoe


def _phone(browser):
    page = browser.new_context(viewport=PHONE).new_page()
    page.set_default_timeout(15_000)
    return page


def test_a_parent_chooses_a_child_and_sees_whom_they_act_for(live_server, browser, family):
    parent, _mia, _leo, _zoe = family
    page = _phone(browser)
    # given the parent signs in: three people, none chosen yet
    log_in(page, live_server, parent.email)
    page.goto(f"{live_server.url}/caring/")
    page.get_by_role("heading", name="Who are you helping today?").wait_for()
    text = page.locator("main").inner_text()
    assert "Mia (8)" in text
    assert "Leo (6)" in text
    assert "Waiting for Zoe to agree" in text
    screenshot(page, "caregiver-chooser-phone")
    assert_no_axe_violations(page)
    # when they choose Mia
    page.get_by_role("button", name="Mia (8)").click()
    # then Today opens with the bar naming her, and a way to switch
    bar = page.locator(".acting-bar")
    bar.wait_for()
    assert "You are acting for: Mia (8)" in bar.inner_text()
    assert bar.get_by_role("link", name="Switch").is_visible()
    # the bar and the navigation both fit the phone's width
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "caregiver-acting-bar-today-phone")
    assert_no_axe_violations(page)


def test_a_teen_answers_about_her_parent_and_writes_a_private_message(live_server, browser,
                                                                     family):
    _parent, _mia, _leo, zoe = family
    page = _phone(browser)
    # given Zoe signs in: the question is on Today
    log_in(page, live_server, zoe.user.email)
    page.goto(f"{live_server.url}/today/")
    card = page.locator(".assent-card")
    card.wait_for()
    assert "Can Mum keep seeing your plan, check-ins and reminders?" in card.inner_text()
    screenshot(page, "teen-assent-card-today-phone")
    assert_no_axe_violations(page)
    # when she says yes, then opens "People who help me"
    card.get_by_role("button", name="Yes").click()
    page.locator(".message-success").wait_for()
    page.goto(f"{live_server.url}/account/caregivers/")
    page.get_by_role("heading", name="People who help me").wait_for()
    assert "Plan, check-ins, reminders and messages not marked private" in (
        page.locator("main").inner_text())
    screenshot(page, "teen-people-who-help-me-phone")
    assert_no_axe_violations(page)
    # and writes a private message
    page.goto(f"{live_server.url}/messages/new/")
    page.get_by_label("A question about my plan").check()
    page.get_by_label("Your message").fill("Can I ask about something on my own?")
    page.get_by_label("Private: only me and my care team").check()
    screenshot(page, "teen-new-private-message-phone")
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Send message").click()
    page.get_by_text("Only you and your care team see this conversation.").wait_for()
    assert Thread.objects.get(patient=zoe).private is True
    assert_no_axe_violations(page)


def test_an_adult_sees_people_who_help_me_with_the_invitation(live_server, browser, derm):
    adult = PatientFactory(dermatologist=derm, date_of_birth=_born(30),
                           user__first_name="Ana")
    CaregiverLinkFactory(patient=adult, called="Jo", relationship="other", invited_by=derm,
                         adult_granted_on=timezone.localdate())
    page = _phone(browser)
    log_in(page, live_server, adult.user.email)
    page.goto(f"{live_server.url}/account/caregivers/")
    page.get_by_role("heading", name="Ask someone to help you").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "adult-people-who-help-me-phone")
    assert_no_axe_violations(page)
