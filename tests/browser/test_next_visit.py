"""The next visit in the browser: the patient's Today on a phone shows it; at the clinic, staff
record a visit from the patient page with the keyboard, a future date is refused, and the plan
review due shows there and on the patient list. Every page axe-clean."""

import re
from datetime import timedelta

import pytest

from careplans.models import ClinicVisit
from tests.browser.conftest import assert_no_axe_violations, log_in
from tests.factories import PatientFactory, StaffFactory, backdated_revision, item_draft

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}


def test_the_patient_sees_the_next_visit_on_today(live_server, page, patient_a, derm):
    # given: a plan whose review (12 weeks after it took effect) is tomorrow
    tomorrow = patient_a.local_today() + timedelta(days=1)
    backdated_revision(patient_a, author=derm, number=1,
                       effective_from=tomorrow - timedelta(weeks=12),
                       items=[item_draft(name="Gentle cleanser", time_of_day="both")])
    log_in(page, live_server, patient_a.user.email)
    # when
    page.goto(f"{live_server.url}/today/")
    # then
    assert page.get_by_text(re.compile(r"Next visit: tomorrow, \w{3} \d+ \w{3}")).is_visible()
    assert_no_axe_violations(page)


def test_staff_record_a_visit_and_the_plan_review_shows_as_due(live_server, browser, derm):
    # given: a patient whose plan took effect 40 days ago
    staff = StaffFactory(membership=derm.membership.clinic)
    patient = PatientFactory(dermatologist=derm, user__first_name="Hana",
                             user__last_name="Okafor")
    today = patient.local_today()
    backdated_revision(patient, author=derm, number=1, effective_from=today - timedelta(days=40),
                       items=[item_draft(name="Gentle cleanser", time_of_day="both")])
    for n, days_ago in enumerate((10, 11, 90)):  # the last one's review (12 weeks) is overdue
        other = PatientFactory(dermatologist=derm, user__last_name=f"Neighbour{n}")
        backdated_revision(other, author=derm, number=1,
                           effective_from=today - timedelta(days=days_ago), items=[item_draft()])
    page = browser.new_context(viewport=DESKTOP).new_page()
    log_in(page, live_server, staff.email)
    page.goto(f"{live_server.url}/clinic/patients/{patient.pk}/")
    # when: a date in the future, by keyboard
    date_field = page.get_by_label("Visit date")
    date_field.fill((today + timedelta(days=3)).isoformat())
    date_field.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/visits/$"))
    # then: refused, said why, nothing saved
    assert page.get_by_text("A visit can only be recorded once it has happened.").is_visible()
    assert not ClinicVisit.objects.exists()
    assert_no_axe_violations(page)
    # when: yesterday, with a note
    page.get_by_label("Visit date").fill((today - timedelta(days=1)).isoformat())
    page.get_by_label("Note for the team (optional)").fill("Seen with her mother; tolerating well.")
    page.get_by_role("button", name="Record visit").click()
    # then: the page says a review is due, and lists the visit
    page.wait_for_url(re.compile(rf"/clinic/patients/{patient.pk}/$"))
    assert page.get_by_text("Plan review due.").is_visible()
    assert page.get_by_text("Seen with her mother; tolerating well.").is_visible()
    assert_no_axe_violations(page)
    # and the list shows it beside the others' next visits
    page.goto(f"{live_server.url}/clinic/patients/")
    row = page.get_by_role("row", name=re.compile("Hana Okafor"))
    assert row.get_by_text("Plan review due").is_visible()
    overdue_since = (today - timedelta(days=90) + timedelta(weeks=12)).strftime("%-d %b")
    assert page.get_by_role("row", name=re.compile("Neighbour2")).get_by_text(
        f"Review overdue since {overdue_since}").is_visible()
    assert page.get_by_role("cell", name=re.compile(r"^\d+ \w{3}$")).count() == 2
    assert_no_axe_violations(page)
    page.context.close()
