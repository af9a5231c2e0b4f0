"""The clinic's side of caregivers: adding a young child with their parent, the patient page's
"Family and caregivers" card, "logged by Mum" on what a caregiver did, the audit log's words
and the clinic's ages in the admin.

``now`` is Wednesday 25 Nov 2026, 12:00 UTC; the clinic and its patients are in London."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.middleware import ACTING_FOR_SESSION_KEY
from accounts.models import AuditEvent, CaregiverLink, Patient, User
from accounts.services import audit_record
from careplans.services import concern_raise
from checkins.services import checkin_submit
from messaging.services import thread_start
from tests.factories import (
    PASSWORD,
    CaregiverLinkFactory,
    ClinicAdminFactory,
    FlagFactory,
    PatientFactory,
    plan_for,
)

pytestmark = pytest.mark.django_db

CHILD = {
    "first_name": "Mia", "last_name": "Lee", "email": "", "date_of_birth": "2019-03-01",
    "timezone": "Europe/London", "caregiver_first_name": "Sam", "caregiver_last_name": "Lee",
    "caregiver_email": "Sam.Lee@example.test", "relationship": "parent", "called": "Mum",
}


def _invite(client, derm, data, capture):
    client.force_login(derm)
    with capture(execute=True):
        return client.post(reverse("patient_invite"), data)


def _page(client, patient):
    return client.get(reverse("patient_detail", args=[patient.pk]))


def _acting(client, caregiver, patient):
    client.force_login(caregiver)
    session = client.session
    session[ACTING_FOR_SESSION_KEY] = patient.pk
    session.save()


# --- Adding a young child -----------------------------------------------------------------------

def test_a_child_without_a_login_and_their_parent_are_invited_in_one_go(
        client, now, derm, django_capture_on_commit_callbacks):
    # when
    response = _invite(client, derm, CHILD, django_capture_on_commit_callbacks)
    # then the child has a record but no login and no mail; the parent is invited
    assert response.status_code == 302
    child = Patient.objects.get(user__first_name="Mia")
    assert not child.user.has_mailbox
    assert not child.user.has_usable_password()
    assert not child.user.emailaddress_set.exists()
    assert child.date_of_birth == date(2019, 3, 1)
    link = CaregiverLink.objects.get(patient=child)
    assert (link.caregiver.email, link.called, link.relationship) == (
        "sam.lee@example.test", "Mum", "parent")
    (email,) = mail.outbox
    assert email.to == ["sam.lee@example.test"]
    assert "/accounts/invitation/" in email.body
    assert set(AuditEvent.objects.filter(actor=derm, action="create").values_list(
        "object_type", "patient")) == {("patient", child.pk), ("caregiver_link", child.pk)}


def test_the_patient_list_shows_no_address_for_a_child_without_a_login(
        client, now, derm, django_capture_on_commit_callbacks):
    # given
    _invite(client, derm, CHILD, django_capture_on_commit_callbacks)
    # when
    page = client.get(reverse("my_patients")).content.decode()
    # then
    assert "Mia Lee" in page
    assert "No login of their own" in page
    assert "no-login.invalid" not in page


def test_the_childs_record_cannot_sign_in(client, now, derm, django_capture_on_commit_callbacks):
    # given
    _invite(client, derm, CHILD, django_capture_on_commit_callbacks)
    child = Patient.objects.get(user__first_name="Mia")
    client.logout()
    # when
    client.post(reverse("account_login"), {"login": child.user.email, "password": PASSWORD})
    # then
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(("change", "message"), [
    ({"caregiver_email": ""}, "Enter the parent&#x27;s or guardian&#x27;s email"),
    ({"relationship": ""}, "Choose how they are related to the child."),
    ({"date_of_birth": ""}, "or their date of birth if they are a young child"),
    ({"date_of_birth": "2012-11-25"}, "From age 12 a patient needs their own email address."),
    ({"date_of_birth": "2026-12-24"}, "The date of birth is in the future."),
    ({"date_of_birth": "1890-01-01"}, "Enter a date of birth after 1900."),
    ({"called": "x" * 41}, "at most 40 characters"),
])
def test_a_refused_child_invitation_keeps_nothing(
        client, now, derm, django_capture_on_commit_callbacks, change, message):
    # given
    users = User.objects.count()
    # when
    response = _invite(client, derm, {**CHILD, **change}, django_capture_on_commit_callbacks)
    # then
    assert response.status_code == 200
    assert message in response.content.decode()
    assert (Patient.objects.count(), User.objects.count(), CaregiverLink.objects.count()) == (
        0, users, 0)
    assert mail.outbox == []


def test_a_teenager_with_their_own_email_is_invited_as_before(
        client, now, derm, django_capture_on_commit_callbacks):
    # when
    response = _invite(client, derm, {
        "first_name": "Ana", "last_name": "Ruiz", "email": "ana@example.test",
        "date_of_birth": "2012-01-10", "timezone": "Europe/London"},
        django_capture_on_commit_callbacks)
    # then
    assert response.status_code == 302
    patient = Patient.objects.get(user__email="ana@example.test")
    assert patient.date_of_birth == date(2012, 1, 10)
    assert not patient.caregiver_links.exists()
    assert [m.to for m in mail.outbox] == [["ana@example.test"]]


def test_a_second_child_is_linked_to_the_parents_existing_account(
        client, now, derm, django_capture_on_commit_callbacks):
    # given
    _invite(client, derm, CHILD, django_capture_on_commit_callbacks)
    # when the sibling is added with the same parent
    response = _invite(client, derm, {**CHILD, "first_name": "Leo", "date_of_birth": "2021-06-02"},
                       django_capture_on_commit_callbacks)
    # then one parent account acts for both; the second email sets no password
    assert response.status_code == 302
    parent = User.objects.get(email="sam.lee@example.test")
    assert sorted(parent.caregiver_links.values_list("patient__user__first_name", flat=True)) == [
        "Leo", "Mia"]
    assert len(mail.outbox) == 2
    assert "/accounts/invitation/" not in mail.outbox[1].body


def test_the_answer_is_the_same_when_the_parents_address_belongs_to_a_clinician(
        client, now, derm, staff, django_capture_on_commit_callbacks):
    # when the parent's address is a staff member's
    response = _invite(client, derm, {**CHILD, "caregiver_email": staff.email},
                       django_capture_on_commit_callbacks)
    # then the same answer as for anyone, and the staff member is linked to nothing
    assert response.status_code == 302
    assert not CaregiverLink.objects.exists()
    follow = client.get(response.url).content.decode()
    assert f"Invitation sent to {staff.email}" in follow


# --- The Family and caregivers card ------------------------------------------------------------

@pytest.fixture
def mia(derm):
    return PatientFactory(dermatologist=derm, date_of_birth=date(2019, 3, 1),
                          user__first_name="Mia")


def test_the_card_shows_age_tier_and_caregivers(client, now, derm, mia):
    # given a current and an ended link
    CaregiverLinkFactory(patient=mia, caregiver__first_name="Sam", called="Mum")
    old = CaregiverLinkFactory(patient=mia, caregiver__first_name="Kit", called="Dad",
                               ended_at=now - timedelta(days=3), ended_by=derm)
    client.force_login(derm)
    # when
    page = _page(client, mia).content.decode()
    # then
    assert "Family and caregivers" in page
    assert "1 Mar 2019 (age 7)" in page
    assert "Child (under 12): caregivers see the whole record." in page
    assert "called “Mum”" in page
    assert "Whole record" in page
    assert "Access ended" in page
    assert f"ended by {derm.display_name}" in page
    assert reverse("patient_caregiver_end", args=[mia.pk, old.pk]) not in page


def test_staff_invite_a_caregiver_from_the_patient_page(
        client, now, staff, mia, django_capture_on_commit_callbacks):
    # given
    client.force_login(staff)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("patient_caregiver_invite", args=[mia.pk]), {
            "first_name": "Gran", "last_name": "Lee", "email": "gran@example.test",
            "relationship": "other", "called": "Grandma"})
    # then
    assert response.status_code == 302
    link = CaregiverLink.objects.get(patient=mia)
    assert (link.caregiver.email, link.invited_by) == ("gran@example.test", staff)
    assert [m.to for m in mail.outbox] == [["gran@example.test"]]


def test_a_bad_caregiver_invitation_shows_the_page_with_its_errors(client, now, derm, mia):
    # given
    client.force_login(derm)
    # when
    response = client.post(reverse("patient_caregiver_invite", args=[mia.pk]), {
        "first_name": "Gran", "last_name": "", "email": "not-an-email", "relationship": "aunt"})
    # then
    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter a valid email address." in page
    assert "Select a valid choice" in page
    assert not CaregiverLink.objects.exists()


def test_ending_access_stops_a_caregiver_who_is_signed_in(client, now, derm, mia):
    # given the parent is acting for Mia in their own browser
    from django.test import Client

    plan_for(mia, author=derm, now=now)
    link = CaregiverLinkFactory(patient=mia)
    parent_browser = Client()
    _acting(parent_browser, link.caregiver, mia)
    assert parent_browser.get(reverse("today")).status_code == 200
    client.force_login(derm)
    # when the clinic ends the link
    response = client.post(reverse("patient_caregiver_end", args=[mia.pk, link.pk]))
    # then at the parent's next request they no longer act for Mia
    assert response.status_code == 302
    link.refresh_from_db()
    assert (link.ended_at, link.ended_by) == (now, derm)
    assert parent_browser.get(reverse("today")).status_code == 404
    assert parent_browser.get(reverse("caregiver_choose")).status_code == 200
    assert AuditEvent.objects.filter(actor=derm, patient=mia, action="change",
                                     object_type="caregiver_link",
                                     object_id=str(link.pk)).exists()


def test_another_patients_or_clinics_link_is_not_found(client, now, derm, mia, other_derm):
    # given a link of a patient of another clinic, and of another patient of this clinic
    elsewhere = CaregiverLinkFactory(patient=PatientFactory(dermatologist=other_derm))
    sibling = CaregiverLinkFactory(patient=PatientFactory(dermatologist=derm))
    client.force_login(derm)
    # when / then
    for patient_id, link in ((mia.pk, elsewhere), (mia.pk, sibling),
                             (elsewhere.patient_id, elsewhere)):
        response = client.post(reverse("patient_caregiver_end", args=[patient_id, link.pk]))
        assert response.status_code == 404
    assert not CaregiverLink.objects.filter(ended_at__isnull=False).exists()


def test_the_date_of_birth_change_is_saved_and_audited(client, now, staff, mia):
    # given
    client.force_login(staff)
    # when
    response = client.post(reverse("patient_birth_date_set", args=[mia.pk]),
                           {"date_of_birth": "2013-02-01"})
    # then
    assert response.status_code == 302
    mia.refresh_from_db()
    assert mia.date_of_birth == date(2013, 2, 1)
    assert AuditEvent.objects.filter(actor=staff, patient=mia, action="change",
                                     object_type="patient_date_of_birth").count() == 2
    page = _page(client, mia).content.decode()
    assert "Teenager (12 to 17)" in page


def test_a_future_date_of_birth_is_refused(client, now, derm, mia):
    # given
    client.force_login(derm)
    # when
    response = client.post(reverse("patient_birth_date_set", args=[mia.pk]),
                           {"date_of_birth": "2026-11-26"})
    # then
    assert response.status_code == 400
    assert "The date of birth is in the future." in response.content.decode()
    mia.refresh_from_db()
    assert mia.date_of_birth == date(2019, 3, 1)


def test_the_family_urls_take_posts_only(client, now, derm, mia):
    # given
    link = CaregiverLinkFactory(patient=mia)
    client.force_login(derm)
    # when / then
    for url in (reverse("patient_birth_date_set", args=[mia.pk]),
                reverse("patient_caregiver_invite", args=[mia.pk]),
                reverse("patient_caregiver_end", args=[mia.pk, link.pk])):
        assert client.get(url).status_code == 405


# --- Logged by ----------------------------------------------------------------------------------

def test_a_caregivers_check_in_and_concern_are_marked_and_the_patients_own_are_not(
        client, now, derm, mia):
    # given Mum logged yesterday and raised a concern; Mia logged the day before herself
    revision = plan_for(mia, author=derm, now=now - timedelta(days=5))
    link = CaregiverLinkFactory(patient=mia, called="Mum")
    checkin_submit(patient=mia, local_date=date(2026, 11, 24), answers=None, now=now,
                   submitted_by=link.caregiver)
    checkin_submit(patient=mia, local_date=date(2026, 11, 23), answers=None, now=now,
                   submitted_by=mia.user)
    concern_raise(patient=mia, revision=revision, item=revision.items.first(),
                  category="irritation", text="Stings", raised_by=link.caregiver)
    client.force_login(derm)
    # when
    page = _page(client, mia).content.decode()
    # then
    assert page.count("(logged by Mum)") == 1
    assert "Tue 24 Nov</strong> <span class=\"logged-by\">(logged by Mum)" in page
    assert "Mon 23 Nov</strong>:" in page
    assert "Raised 25 Nov 2026 by Mum" in page


def test_the_flag_page_marks_a_caregivers_check_in_and_concern(client, now, derm, mia):
    # given Mum logged yesterday and raised a concern; Mia has a flag
    revision = plan_for(mia, author=derm, now=now - timedelta(days=5))
    link = CaregiverLinkFactory(patient=mia, called="Mum")
    checkin_submit(patient=mia, local_date=date(2026, 11, 24), answers=None, now=now,
                   submitted_by=link.caregiver)
    concern_raise(patient=mia, revision=revision, item=revision.items.first(),
                  category="irritation", text="Stings", raised_by=link.caregiver)
    flag = FlagFactory(patient=mia)
    client.force_login(derm)
    # when
    page = client.get(reverse("flag_detail", args=[flag.pk])).content.decode()
    # then
    assert "(logged by Mum)" in page
    assert "Raised 25 Nov 2026 by Mum" in page


def test_the_patient_page_queries_do_not_grow_with_check_ins(client, now, derm, mia):
    # given
    plan_for(mia, author=derm, now=now - timedelta(days=30))
    link = CaregiverLinkFactory(patient=mia)
    client.force_login(derm)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert _page(client, mia).status_code == 200
        return len(captured)

    checkin_submit(patient=mia, local_date=date(2026, 11, 24), answers=None, now=now,
                   submitted_by=link.caregiver)
    few = queries()
    # when ten more days are logged, by Mum and by Mia (each on its own day)
    for days in range(2, 12):
        checkin_submit(patient=mia, local_date=date(2026, 11, 25) - timedelta(days=days),
                       answers=None, now=now - timedelta(days=days),
                       submitted_by=link.caregiver if days % 2 else mia.user)
    # then
    assert queries() == few


def test_a_caregivers_message_names_them_in_the_thread(client, now, derm, mia):
    # given Mum wrote to the clinic for Mia
    link = CaregiverLinkFactory(patient=mia, called="Mum")
    thread = thread_start(patient=mia, by=link.caregiver, topic="other",
                          body="Her cheeks are red.", now=now)
    client.force_login(derm)
    # when
    thread_page = client.get(reverse("clinic_thread", args=[thread.pk])).content.decode()
    patient_page = _page(client, mia).content.decode()
    # then
    assert f"written by Mum for {mia.user.display_name}" in thread_page
    assert "Last: written by Mum" in patient_page


# --- The audit log ------------------------------------------------------------------------------

def test_the_audit_log_names_a_caregivers_events(client, now, derm, mia):
    # given Mum opened Mia's check-ins
    link = CaregiverLinkFactory(patient=mia, called="Mum")
    audit_record(actor=link.caregiver, patient=mia, action="view",
                 object_type="caregiver_checkins", object_id=str(link.pk))
    client.force_login(derm)
    # when
    page = client.get(reverse("clinic_audit_log")).content.decode()
    # then
    assert "Caregiver (Mum)" in page
    assert "check-ins, as a caregiver" in page
    assert mia.user.display_name in page


# --- The admin ----------------------------------------------------------------------------------

def test_a_clinic_administrator_sets_the_caregiver_ages(client, clinic):
    # given
    clinic_admin = ClinicAdminFactory(membership=clinic)
    client.force_login(clinic_admin)
    url = reverse("admin:accounts_clinic_change", args=[clinic.pk])
    form = {"name": clinic.name, "timezone": "Europe/London", "currency": "GBP",
            "pulse_interval_days": 7, "reminder_follow_up_time": "09:00",
            "message_reply_days": 2}
    assert "caregiver_teen_age" in client.get(url).content.decode()
    # when
    refused = client.post(url, {**form, "caregiver_teen_age": 14, "caregiver_adult_age": 14})
    saved = client.post(url, {**form, "caregiver_teen_age": 13, "caregiver_adult_age": 16})
    # then
    assert "The adult age must be above the teenager" in refused.content.decode()
    assert saved.status_code == 302
    clinic.refresh_from_db()
    assert (clinic.caregiver_teen_age, clinic.caregiver_adult_age) == (13, 16)
