"""Schedules beyond daily steps in Chromium: a late injection on the patient's phone, logged
with the day it was done, next to the "When needed" group; the editor shows each frequency's
own fields. Both pages axe-clean."""

from datetime import timedelta

import pytest

from checkins.models import StepLog
from tests.browser.conftest import assert_no_axe_violations, log_in
from tests.factories import backdated_revision, item_draft

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture
def injection_plan(patient_a, derm):
    """Since 20 days ago: an emollient every morning, an injection every 2 weeks whose dose
    was due yesterday (counted for 3 days), and a cream for itchy days."""
    today = patient_a.local_today()
    return backdated_revision(patient_a, author=derm, number=1,
                              effective_from=today - timedelta(days=20), items=[
        item_draft(name="Emollient", kind="skincare", time_of_day="both", position=1),
        item_draft(name="Dupilumab 300 mg injection", kind="injection", time_of_day="morning",
                   frequency="every_n_weeks", every_n_weeks=2, window_days=3,
                   starts_on=today - timedelta(days=1), position=2),
        item_draft(name="Hydrocortisone 1% cream", frequency="as_needed", position=3),
    ])


def test_a_late_injection_and_the_when_needed_group_on_a_phone(
        live_server, page, patient_a, injection_plan):
    # given
    log_in(page, live_server, patient_a.user.email)
    yesterday = patient_a.local_today() - timedelta(days=1)
    # when
    page.goto(f"{live_server.url}/today/")
    main = page.locator("main")
    # then
    assert "Late (due " in main.inner_text()
    assert "When needed" in main.inner_text()
    assert_no_axe_violations(page)
    # when: injected yesterday, logged today; the cream used
    page.locator(".step-row", has_text="Dupilumab").get_by_text("Done", exact=True).click()
    page.get_by_label("Day you did Dupilumab 300 mg injection").fill(yesterday.isoformat())
    page.get_by_label("I used Hydrocortisone 1% cream").check()
    page.get_by_role("button", name="Save check-in").click()
    page.get_by_text("Checked in").first.wait_for()
    # then
    dose = StepLog.objects.get(item__kind="injection")
    assert (dose.done, dose.taken_on) == (True, yesterday)
    assert StepLog.objects.get(item__frequency="as_needed").counted is False


def test_the_editor_shows_only_the_chosen_frequencys_fields(
        live_server, browser, derm, patient_a, injection_plan):
    # given
    derm_page = browser.new_context(viewport=DESKTOP).new_page()
    log_in(derm_page, live_server, derm.email)
    # when
    derm_page.goto(f"{live_server.url}/clinic/patients/{patient_a.pk}/plan/edit/")
    injection = derm_page.locator("li.step-row").nth(1)
    daily = derm_page.locator("li.step-row").nth(0)
    for row in (injection, daily):  # each step's details open from its one-line summary
        row.locator("summary").click()
    # then
    assert injection.get_by_label("Every how many weeks").is_visible()
    assert injection.get_by_label("Days a late dose still counts").is_visible()
    assert not injection.get_by_label("Day of the month").is_visible()
    assert not daily.get_by_label("Every how many weeks").is_visible()
    # when: the daily step becomes monthly
    daily.get_by_label("How often").select_option("monthly")
    # then
    assert daily.get_by_label("Day of the month").is_visible()
    assert_no_axe_violations(derm_page)
    derm_page.context.close()
