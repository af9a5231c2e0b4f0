"""The next visit on the clinic's pages, and recording that a visit happened.

``now`` is Wednesday 25 Nov 2026, 12:00 UTC; the clinic and its patients are in London."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from careplans.models import ClinicVisit
from careplans.visits import NONE, OVERDUE, REVIEW_DUE, UPCOMING, NextVisit, visit_record
from tests.factories import PatientFactory, StaffFactory, backdated_revision, item_draft, plan_for

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 25)


def url(patient):
    return reverse("visit_record", args=[patient.pk])


def page(client, patient):
    return client.get(reverse("patient_detail", args=[patient.pk])).content.decode()


@pytest.fixture
def reviewed_on(derm, now):
    """A patient whose plan (saved 30 days ago) is reviewed on the given date."""
    def make(reviews_on, **kwargs):
        patient = PatientFactory(dermatologist=derm, **kwargs)
        plan_for(patient, author=derm, now=now - timedelta(days=30), reviews_on=reviews_on)
        return patient
    return make


# --- The state ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("reviews_on", "revision_from", "last_visit_on", "state"), [
    (None, None, None, NONE),
    (TODAY, TODAY - timedelta(days=30), None, UPCOMING),  # today is not overdue yet
    (TODAY - timedelta(days=1), TODAY - timedelta(days=30), None, OVERDUE),
    # a visit before the revision was saved was reviewed by it
    (TODAY - timedelta(days=1), TODAY - timedelta(days=30), TODAY - timedelta(days=31), OVERDUE),
    # a visit after it wants a review, whatever the review date says
    (TODAY + timedelta(days=9), TODAY - timedelta(days=30), TODAY - timedelta(days=2), REVIEW_DUE),
    # a revision saved on the visit's own day is that visit's review
    (TODAY + timedelta(weeks=12), TODAY - timedelta(days=2), TODAY - timedelta(days=2), UPCOMING),
])
def test_the_visit_state(reviews_on, revision_from, last_visit_on, state):
    assert NextVisit(reviews_on, revision_from, last_visit_on, TODAY).state == state


# --- Recording a visit -------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["derm", "staff"])
def test_staff_and_dermatologists_of_the_clinic_record_a_visit(client, patient_b, derm, staff,
                                                               now, who):
    # given
    plan_for(patient_b, author=derm, now=now - timedelta(days=30), reviews_on=TODAY)
    user = {"derm": derm, "staff": staff}[who]
    client.force_login(user)
    # when
    response = client.post(url(patient_b), {"happened_on": "2026-11-25", "note": "Reviewed."})
    # then
    assert response.status_code == 302
    visit = ClinicVisit.objects.get()
    assert (visit.patient, visit.happened_on, visit.recorded_by, visit.note) == (
        patient_b, TODAY, user, "Reviewed.")
    assert AuditEvent.objects.filter(actor=user, patient=patient_b, object_type="clinic_visit",
                                     action=AuditEvent.Action.CHANGE,
                                     object_id=str(visit.pk)).exists()
    body = page(client, patient_b)
    assert "Wed 25 Nov 2026" in body
    assert "Reviewed." in body


def test_the_form_defaults_to_today_in_the_clinics_zone(client, patient_b, staff, now):
    client.force_login(staff)
    assert 'name="happened_on" value="2026-11-25"' in page(client, patient_b)


@pytest.mark.parametrize(("data", "message"), [
    ({"happened_on": "2026-11-26"}, "A visit can only be recorded once it has happened."),
    ({"happened_on": "next tuesday"}, "Enter the visit date as a date"),
    ({"happened_on": ""}, "This field is required."),
    ({"happened_on": "2026-11-24", "note": "x" * 301}, "at most 300 characters"),
])
def test_bad_input_is_refused_with_a_reason_and_nothing_saved(client, patient_b, staff, now,
                                                              data, message):
    # given
    client.force_login(staff)
    events = AuditEvent.objects.filter(object_type="clinic_visit").count()
    # when
    response = client.post(url(patient_b), data)
    # then
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ClinicVisit.objects.exists()
    assert AuditEvent.objects.filter(object_type="clinic_visit").count() == events + 1  # the try


def test_the_service_refuses_a_future_date_too(patient_b, staff, now):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        visit_record(patient=patient_b, recorded_by=staff, happened_on=TODAY + timedelta(days=1),
                     note="", now=now, today=TODAY)
    assert not ClinicVisit.objects.exists()


def test_another_clinics_staff_get_404_and_nothing_is_saved(client, patient_b, other_staff, now):
    client.force_login(other_staff)
    assert client.post(url(patient_b), {"happened_on": "2026-11-25"}).status_code == 404
    assert not ClinicVisit.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(patient_b, staff, now):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    assert client.post(url(patient_b), {"happened_on": "2026-11-25"}).status_code == 403
    assert not ClinicVisit.objects.exists()


# --- Review due: on the patient page and the list ----------------------------------------------

def test_a_recorded_visit_shows_review_due_until_a_new_revision(client, derm, patient_b, now):
    # given: a plan saved 30 days ago, reviewed in a week; the patient seen yesterday
    plan_for(patient_b, author=derm, now=now - timedelta(days=30),
             reviews_on=TODAY + timedelta(days=7))
    visit_record(patient=patient_b, recorded_by=derm, happened_on=TODAY - timedelta(days=1),
                 note="", now=now, today=TODAY)
    client.force_login(derm)
    # when / then: the note, on the page and in the list
    assert "Plan review due." in page(client, patient_b)
    assert "Plan review due" in client.get(reverse("my_patients")).content.decode()
    # when: the dermatologist saves a new revision today
    plan_for(patient_b, author=derm, base_number=1, now=now, reviews_on=TODAY + timedelta(weeks=8))
    # then
    assert "Plan review due" not in page(client, patient_b)
    listed = client.get(reverse("my_patients")).content.decode()
    assert "Plan review due" not in listed
    assert "<td>20 Jan</td>" in listed


def test_the_list_shows_next_visit_and_overdue_reviews(client, derm, reviewed_on):
    # given
    reviewed_on(TODAY + timedelta(days=20), user__last_name="Abbott")
    overdue = reviewed_on(TODAY - timedelta(days=3), user__last_name="Barker")
    PatientFactory(dermatologist=derm, user__last_name="Carter")  # no plan yet
    client.force_login(derm)
    # when
    body = client.get(reverse("my_patients")).content.decode()
    # then
    assert "<td>15 Dec</td>" in body
    assert "Review overdue since 22 Nov" in body
    assert "No plan" in body
    assert "Review overdue since Sun 22 Nov." in page(client, overdue)


def test_the_list_reads_visits_in_the_same_queries(client, derm, reviewed_on, now):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # given
    for n in range(3):
        reviewed_on(TODAY + timedelta(days=n), user__last_name=f"Few{n}")
    client.force_login(derm)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("my_patients"))
    # when: more patients, some seen
    for n in range(10):
        patient = reviewed_on(TODAY - timedelta(days=n), user__last_name=f"More{n}")
        visit_record(patient=patient, recorded_by=derm, happened_on=TODAY, note="", now=now,
                     today=TODAY)
    with CaptureQueriesContext(connection) as more:
        client.get(reverse("my_patients"))
    # then
    assert len(more) == len(few)


def test_staff_see_the_record_form_too(client, patient_b, staff, derm, now):
    backdated_revision(patient_b, author=derm, number=1, effective_from=TODAY - timedelta(days=3),
                       items=[item_draft()])
    client.force_login(StaffFactory(membership=derm.membership.clinic))
    body = page(client, patient_b)
    assert "Record a visit" in body
    assert "None recorded yet." in body
