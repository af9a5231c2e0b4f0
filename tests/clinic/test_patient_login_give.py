"""A child added without a login grows up: the clinic gives them their own sign-in, so that at
12 they can answer about their caregivers (who are paused until then)."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import AuditEvent, Invitation, no_login_email
from tests.factories import CaregiverLinkFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mia(derm):
    patient = PatientFactory(dermatologist=derm, date_of_birth=date(2014, 6, 1),
                             user__first_name="Mia", user__email=no_login_email())
    CaregiverLinkFactory(patient=patient)
    return patient


def _give(client, user, patient, email, capture):
    client.force_login(user)
    with capture(execute=True):
        return client.post(reverse("patient_login_give", args=[patient.pk]), {"email": email})


def test_the_card_says_a_twelve_year_old_without_a_login_pauses_their_caregivers(
        client, now, derm, mia):
    # given Mia is 12 and has no login of her own
    client.force_login(derm)
    # when the dermatologist opens her page
    page = client.get(reverse("patient_detail", args=[mia.pk])).content.decode()
    # then the card says why her parent is paused and offers her own sign-in
    assert "until then their caregivers are paused" in page
    assert "Give Mia their own sign-in" in page


def test_staff_give_the_child_their_own_sign_in(
        client, now, staff, mia, django_capture_on_commit_callbacks):
    # when staff give Mia her own address
    response = _give(client, staff, mia, "Mia.Lee@example.test",
                     django_capture_on_commit_callbacks)
    # then it is hers, she is emailed a set-password link, and it is audited
    assert response.status_code == 302
    mia.user.refresh_from_db()
    assert (mia.user.email, mia.user.has_mailbox) == ("mia.lee@example.test", True)
    assert [m.to for m in mail.outbox] == [["mia.lee@example.test"]]
    assert "/accounts/invitation/" in mail.outbox[0].body
    assert Invitation.objects.filter(patient=mia, invited_by=staff).exists()
    assert AuditEvent.objects.filter(actor=staff, patient=mia, object_type="patient_login",
                                     action="change").exists()


def test_an_address_in_use_answers_the_same_and_changes_nothing(
        client, now, derm, mia, django_capture_on_commit_callbacks):
    # given someone already uses the address
    owner = UserFactory(email="taken@example.test")
    # when it is given to Mia
    response = _give(client, derm, mia, "taken@example.test",
                     django_capture_on_commit_callbacks)
    # then the answer reads as a success, Mia keeps no address, its owner is told
    assert response.status_code == 302
    mia.user.refresh_from_db()
    assert not mia.user.has_mailbox
    assert [m.to for m in mail.outbox] == [[owner.email]]


def test_a_bad_address_is_refused_with_the_page(client, now, derm, mia,
                                                django_capture_on_commit_callbacks):
    # when
    response = _give(client, derm, mia, "not an address", django_capture_on_commit_callbacks)
    # then
    assert response.status_code == 400
    assert "Enter a valid email address" in response.content.decode()
    mia.user.refresh_from_db()
    assert not mia.user.has_mailbox
    assert not mail.outbox


def test_a_patient_with_a_login_or_of_another_clinic_is_not_found(
        client, now, derm, other_derm, mia, django_capture_on_commit_callbacks):
    # given a patient who has their own login
    adult = PatientFactory(dermatologist=derm)
    # when
    own = _give(client, derm, adult, "new@example.test", django_capture_on_commit_callbacks)
    foreign = _give(client, other_derm, mia, "new@example.test",
                    django_capture_on_commit_callbacks)
    # then
    assert (own.status_code, foreign.status_code) == (404, 404)
    mia.user.refresh_from_db()
    assert not mia.user.has_mailbox
