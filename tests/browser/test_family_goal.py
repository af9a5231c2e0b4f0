"""Issue 20's goal in Chromium: a parent with two children checks in for both on a phone in at
most 4 taps each; the clinic sees "logged by Mum" on each; the teenager's private conversation
is invisible to the parent (BROWSER_SCREENSHOTS=<folder> keeps a screenshot of each step)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from checkins.models import CheckIn
from messaging.models import Topic
from messaging.services import thread_start
from tests.browser.conftest import PHONE, assert_no_axe_violations, log_in
from tests.factories import (
    CaregiverFactory,
    CaregiverLinkFactory,
    PatientFactory,
    assent_for,
    plan_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CLINIC = {"width": 1366, "height": 900}
MOST_TAPS_PER_CHILD = 4


def screenshot(page, name: str) -> None:
    if folder := os.environ.get("BROWSER_SCREENSHOTS"):
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _born(years: int):
    today = timezone.localdate()
    return today.replace(year=today.year - years) - timedelta(days=40)


@pytest.fixture
def family(derm):
    now = timezone.now()
    parent = CaregiverFactory(first_name="Claire", last_name="Bennett")
    lily = PatientFactory(dermatologist=derm, date_of_birth=_born(8), user__first_name="Lily",
                          user__last_name="Bennett")
    ethan = PatientFactory(dermatologist=derm, date_of_birth=_born(14),
                           user__first_name="Ethan", user__last_name="Bennett")
    for child in (lily, ethan):
        plan_for(child, author=derm, now=now)
        CaregiverLinkFactory(caregiver=parent, patient=child, called="Mum", invited_by=derm)
    assent_for(ethan.caregiver_links.get(), given=True, now=now)
    private = thread_start(patient=ethan, by=ethan.user, topic=Topic.OTHER, private=True,
                           body="Can I talk about something without Mum seeing?", now=now)
    shared = thread_start(patient=ethan, by=ethan.user, topic=Topic.PLAN,
                          body="Does the cream go on before school?", now=now)
    return parent, lily, ethan, private, shared


class Taps:
    """Counts what the parent presses (sign-in is not part of a check-in)."""

    def __init__(self) -> None:
        self.count = 0

    def press(self, locator) -> None:
        self.count += 1
        locator.click()


def _check_in_for(page, name: str, taps: Taps, *, switch: bool) -> None:
    if switch:
        taps.press(page.locator(".acting-bar").get_by_role("link", name="Switch"))
    taps.press(page.get_by_role("button", name=name))
    page.locator(".acting-bar").wait_for()
    taps.press(page.get_by_role("button", name="I did everything"))
    page.get_by_role("status").or_(page.locator(".messages")).first.wait_for()


def test_a_parent_checks_in_for_two_children_and_the_clinic_sees_who_logged(
        live_server, browser, family, derm):
    parent, lily, ethan, private, _shared = family
    page = browser.new_context(viewport=PHONE).new_page()
    page.set_default_timeout(15_000)
    # given the parent signs in on a phone: two children, so the portal asks whom
    log_in(page, live_server, parent.email)
    page.get_by_role("heading", name="Who are you helping today?").wait_for()
    screenshot(page, "goal-1-chooser")
    # when they check in for Lily, then switch to Ethan and check in for him
    lily_taps, ethan_taps = Taps(), Taps()
    _check_in_for(page, "Lily (8)", lily_taps, switch=False)
    screenshot(page, "goal-2-lily-saved")
    _check_in_for(page, "Ethan (14)", ethan_taps, switch=True)
    screenshot(page, "goal-3-ethan-saved")
    assert_no_axe_violations(page)
    # then each child's day is saved, by the parent, in at most 4 taps each
    assert lily_taps.count <= MOST_TAPS_PER_CHILD
    assert ethan_taps.count <= MOST_TAPS_PER_CHILD
    saved = {c.patient_id: c.submitted_by_id for c in CheckIn.objects.all()}
    assert saved == {lily.pk: parent.pk, ethan.pk: parent.pk}
    # and Ethan's private conversation is nowhere the parent can look; the shared one is there
    page.goto(f"{live_server.url}/messages/")
    listed = page.locator("main").inner_text()
    assert "before school" in listed
    assert "without Mum seeing" not in listed
    response = page.goto(f"{live_server.url}/messages/{private.pk}/")
    assert response.status == 404
    assert "without Mum seeing" not in page.content()
    screenshot(page, "goal-4-messages-without-private")
    # and the clinic sees "logged by Mum" on each child's page
    clinic = browser.new_context(viewport=CLINIC).new_page()
    clinic.set_default_timeout(15_000)
    log_in(clinic, live_server, derm.email)
    for child in (lily, ethan):
        clinic.goto(f"{live_server.url}/clinic/patients/{child.pk}/")
        clinic.get_by_text("(logged by Mum)").first.wait_for()
        screenshot(clinic, f"goal-5-clinic-{child.user.first_name.lower()}")
    assert_no_axe_violations(clinic)
    # and the clinic does see Ethan's private conversation, marked as such
    clinic.goto(f"{live_server.url}/clinic/messages/{private.pk}/")
    assert "without Mum seeing" in clinic.locator("main").inner_text()
    clinic.get_by_text("Private: not shown to caregivers").first.wait_for()
