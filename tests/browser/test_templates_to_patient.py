"""Issue 17's "done" in Chromium: the demo dermatologist builds each of the clinic's template
plans for a patient on a desktop, and each patient then reads their plan, with the reason, on a
phone (axe-clean both sides; BROWSER_SCREENSHOTS=<folder> keeps a screenshot of each)."""

import re

import pytest

from catalogue.models import RegimenTemplate
from demo.seed.catalogue import seed_catalogue
from tests.browser.conftest import PHONE, assert_no_axe_violations, log_in
from tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}


def test_each_template_plan_is_built_and_read_by_its_patient_on_a_phone(
    live_server, browser, derm
):
    # given: the demo catalogue and its templates, and a patient for each template
    seed_catalogue(derm.membership.clinic)
    templates = list(RegimenTemplate.objects.filter(active=True).order_by("name")
                     .prefetch_related("steps__catalogue_item"))
    assert len(templates) >= 4
    patients = {template.pk: PatientFactory(dermatologist=derm) for template in templates}
    desk = browser.new_context(viewport=DESKTOP).new_page()
    desk.set_default_timeout(15_000)
    log_in(desk, live_server, derm.email)
    for template in templates:
        patient = patients[template.pk]
        # when: the dermatologist starts the plan from the template and saves it with a reason
        desk.goto(f"{live_server.url}/clinic/patients/{patient.pk}/")
        desk.get_by_role("link", name=template.name, exact=True).click()
        desk.get_by_label(re.compile("Reason for this change")).fill(
            f"Starting the {template.name} plan we agreed today.")
        desk.get_by_role("button", name="Save revision").click()
        desk.get_by_text("Saved revision 1").wait_for()
    assert_no_axe_violations(desk)
    desk.context.close()
    for template in templates:
        patient = patients[template.pk]
        phone = browser.new_context(viewport=PHONE).new_page()
        phone.set_default_timeout(15_000)
        # when: the patient opens My plan on their phone
        log_in(phone, live_server, patient.user.email)
        phone.goto(f"{live_server.url}/plan/")
        # then: every step of the template, and the reason, in words they can read
        text = phone.locator("main").inner_text()
        for step in template.steps.all():
            assert step.catalogue_item.name in text, (template.name, step.catalogue_item.name)
        assert f"Starting the {template.name} plan we agreed today." in text
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert_no_axe_violations(phone)
        phone.context.close()
