"""On a phone: one-tap check-in, a back-filled day with one skipped step, then History."""

import re

import pytest

from tests.browser.conftest import assert_no_axe_violations
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def routine_for_browser(patient_a, derm):
    from datetime import timedelta

    from tests.factories import backdated_revision, item_draft

    return backdated_revision(
        patient_a, author=derm, number=1,
        effective_from=patient_a.local_today() - timedelta(days=20),
        items=[
            item_draft(name="Gentle cleanser", kind="skincare", time_of_day="both", position=1),
            item_draft(name="Adapalene 0.1% gel", position=2),
        ],
    )


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
