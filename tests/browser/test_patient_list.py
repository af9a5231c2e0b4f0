"""A dermatologist on a desktop: "My patients" shows the first five flags that need them and
a "See all" link, reached and followed with the keyboard, to the queue listing all of them; the
patient list pages to its last page. Both pages axe-clean."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from flags.models import Rule
from tests.browser.conftest import assert_no_axe_violations, log_in
from tests.factories import FlagFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}


def test_the_panel_links_to_all_its_flags_and_the_list_reaches_its_last_page(
    live_server, browser, derm
):
    # given: 30 patients, 7 of them with a flag that needs the dermatologist
    now = timezone.now()
    patients = [PatientFactory(dermatologist=derm, user__last_name=f"Surname{n:02d}")
                for n in range(30)]
    for n, patient in enumerate(patients[:7]):
        FlagFactory(patient=patient, rule=Rule.ALLIANCE_AT_RISK,
                    opened_at=now - timedelta(hours=n))
    page = browser.new_context(viewport=DESKTOP).new_page()
    log_in(page, live_server, derm.email)
    # when
    page.goto(f"{live_server.url}/clinic/patients/")
    # then: five flags in the panel, and a link to all seven
    assert_no_axe_violations(page)
    panel = page.get_by_role("region", name="Alliance at risk")
    assert panel.get_by_role("listitem").count() == 5
    see_all = panel.get_by_role("link", name="See all 7 in the flag queue")
    # when: reached with the keyboard and followed
    see_all.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/clinic/flagged/\?routed=on"))
    # then: the queue lists all seven, its filter shown as chosen
    assert page.get_by_label("Only alliance at risk or escalated").is_checked()
    assert page.locator("ol.flag-queue > li").count() == 7
    assert_no_axe_violations(page)
    # when: back on the list, to its last page
    page.goto(f"{live_server.url}/clinic/patients/")
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Last").click()
    # then
    page.wait_for_url(re.compile(r"page=2"))
    assert page.get_by_text("Page 2 of 2").is_visible()
    assert page.locator("table.patients tbody tr").count() == 5
    assert page.get_by_role("link", name=patients[29].user.display_name).is_visible()
    page.context.close()
