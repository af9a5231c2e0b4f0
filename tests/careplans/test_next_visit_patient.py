"""The patient's "Next visit" line on Today and My plan, in their zone and language.

``now`` is Wednesday 25 Nov 2026, 12:00 UTC."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from careplans.visits import visit_record
from tests.factories import PatientFactory, plan_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(derm, now):
    return PatientFactory(dermatologist=derm, user__language="en")


def reviewed_on(patient, derm, now, reviews_on):
    plan_for(patient, author=derm, now=now - timedelta(days=30), reviews_on=reviews_on)


@pytest.mark.parametrize(("reviews_on", "line"), [
    (date(2026, 12, 15), "Next visit: Tue 15 Dec"),
    (date(2026, 11, 26), "Next visit: tomorrow, Thu 26 Nov"),
    (date(2026, 11, 25), "Next visit: today, Wed 25 Nov"),
    (date(2026, 11, 20), "Your review visit was planned for Fri 20 Nov. If it is not booked yet, "
                         "please contact your clinic."),
])
@pytest.mark.parametrize("page", ["today", "my_plan"])
def test_the_next_visit_line(client, patient, derm, now, reviews_on, line, page):
    reviewed_on(patient, derm, now, reviews_on)
    client.force_login(patient.user)
    assert line in client.get(reverse(page)).content.decode()


def test_in_the_patients_zone(client, derm, now):
    # given: 12:00 UTC is already Thursday 26 Nov in Auckland
    patient = PatientFactory(dermatologist=derm, timezone="Pacific/Auckland")
    reviewed_on(patient, derm, now, date(2026, 11, 27))
    client.force_login(patient.user)
    # when / then
    assert "Next visit: tomorrow, Fri 27 Nov" in client.get(reverse("today")).content.decode()


def test_nothing_while_the_plan_is_reviewed_after_a_visit(client, patient, derm, now):
    reviewed_on(patient, derm, now, date(2026, 11, 20))
    visit_record(patient=patient, recorded_by=derm, happened_on=date(2026, 11, 20), note="",
                 now=now, today=date(2026, 11, 25))
    client.force_login(patient.user)
    body = client.get(reverse("today")).content.decode()
    assert "Next visit" not in body
    assert "review visit" not in body


@pytest.mark.parametrize(("language", "line"), [
    ("es", "Próxima cita: mar 15 Dic"),
    ("de", "Nächster Termin: Di 15 Dez"),
])
def test_in_the_patients_language(client, derm, now, language, line):
    patient = PatientFactory(dermatologist=derm, user__language=language)
    reviewed_on(patient, derm, now, date(2026, 12, 15))
    client.force_login(patient.user)
    assert line in client.get(reverse("today")).content.decode()


def test_no_line_without_a_plan(client, patient, now):
    client.force_login(patient.user)
    assert "Next visit" not in client.get(reverse("today")).content.decode()
