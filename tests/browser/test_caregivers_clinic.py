"""The clinic's side of caregivers in the browser: a dermatologist adds a young child with their
mother in one form, finds the child's Family and caregivers card, sees "logged by Mum" on the
mother's check-in, and ends a grandparent's access. Every page axe-clean; with
BROWSER_SCREENSHOTS set, the invite page and the card are saved at 1366×900 for review."""

import os
import re
from datetime import date
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import CaregiverLink, Patient
from checkins.services import checkin_submit
from tests.browser.conftest import assert_no_axe_violations, log_in
from tests.factories import CaregiverLinkFactory, plan_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}


def _shot(locator, name: str) -> None:
    if folder := os.environ.get("BROWSER_SCREENSHOTS"):
        locator.screenshot(path=str(Path(folder) / f"{name}-1366.png"))


def test_a_child_and_their_mother_are_added_and_the_card_shows_them(live_server, browser, derm):
    # given
    today = timezone.localdate()
    born = date(today.year - 7, 3, 1)
    page = browser.new_context(viewport=DESKTOP).new_page()
    log_in(page, live_server, derm.email)
    page.goto(f"{live_server.url}/clinic/patients/invite/")
    # when: the child has no email, and the parent part is left empty
    page.get_by_label("First name", exact=True).fill("Mia")
    page.get_by_label("Last name", exact=True).fill("Lee")
    page.get_by_label("Date of birth").fill(born.isoformat())
    page.get_by_role("button", name="Send invitation").click()
    # then: refused, saying what is missing, nothing saved
    assert page.get_by_text("they sign in for the child").is_visible()
    assert not Patient.objects.exists()
    _shot(page.locator("main"), "patient_invite_refused")
    assert_no_axe_violations(page)
    # when: the mother is filled in
    page.get_by_label("Parent's or guardian's first name").fill("Sam")
    page.get_by_label("Parent's or guardian's last name").fill("Lee")
    page.get_by_label("Parent's or guardian's email").fill("sam.lee@example.test")
    page.get_by_label("Relationship to the child").select_option("parent")
    page.get_by_label("What the child calls them").fill("Mum")
    page.get_by_role("button", name="Send invitation").click()
    # then
    assert page.get_by_text("Mia added, without a login of their own.").is_visible()
    child = Patient.objects.get(user__first_name="Mia")
    assert not child.user.has_mailbox

    # given: Mum logged yesterday; a grandparent also cares for Mia
    now = timezone.now()
    plan_for(child, author=derm, now=now)
    mum = CaregiverLink.objects.get(patient=child, called="Mum")
    checkin_submit(patient=child, local_date=child.local_date(now), answers=None, now=now,
                   submitted_by=mum.caregiver)
    gran = CaregiverLinkFactory(patient=child, called="Grandpa", relationship="other",
                                caregiver__first_name="Ken", caregiver__last_name="Lee")
    # when
    page.goto(f"{live_server.url}/clinic/patients/{child.pk}/")
    # then
    card = page.locator("#family")
    assert card.get_by_text("Child (under 12): caregivers see the whole record.").is_visible()
    assert card.get_by_text(re.compile(r"\(age 7\)")).is_visible()
    assert page.get_by_text("(logged by Mum)").is_visible()
    card.get_by_text("Invite a caregiver").click()
    card.get_by_text("Change the date of birth").click()
    _shot(card, "patient_family_card")
    assert_no_axe_violations(page)
    # when: the grandparent's access is ended
    card.get_by_role("button", name="End Ken Lee's access now").click()
    # then
    assert page.get_by_text("Ken Lee can no longer act for Mia Lee.").is_visible()
    gran.refresh_from_db()
    assert gran.ended_by == derm
    assert page.locator("#family").get_by_text(re.compile("ended by")).is_visible()
    _shot(page.locator("#family"), "patient_family_card_ended")
    assert_no_axe_violations(page)
    page.context.close()
