"""A dermatologist invites a patient; the patient sets a password from the emailed link."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import AuditEvent, Invitation, Patient, User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

INVITE = {
    "first_name": "Rina", "last_name": "Castillo", "email": "Rina@Example.test",
    "timezone": "America/Los_Angeles",
}


def _invite(client, derm, django_capture_on_commit_callbacks, data=INVITE):
    client.force_login(derm)
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("patient_invite"), data)


def test_invite_creates_patient_and_emails_a_set_password_link(
    client, derm, django_capture_on_commit_callbacks
):
    # when
    response = _invite(client, derm, django_capture_on_commit_callbacks)
    # then
    assert response.status_code == 302
    patient = Patient.objects.get(user__email="rina@example.test")
    assert (patient.dermatologist, patient.clinic) == (derm, derm.membership.clinic)
    assert patient.timezone == "America/Los_Angeles"
    assert not patient.user.has_usable_password()
    assert Invitation.objects.filter(patient=patient, invited_by=derm).exists()
    assert AuditEvent.objects.filter(actor=derm, patient=patient, action="create").exists()
    (email,) = mail.outbox
    assert email.to == ["rina@example.test"]
    assert re.search(r"http://\S+/accounts/invitation/\S+/\S+/", email.body)


def test_invited_patient_sets_password_once_and_lands_on_today(
    client, derm, django_capture_on_commit_callbacks
):
    # given
    _invite(client, derm, django_capture_on_commit_callbacks)
    client.logout()
    link = re.search(r"http://[^/]+(/accounts/invitation/\S+/)", mail.outbox[0].body).group(1)
    # when
    assert client.get(link).status_code == 200
    response = client.post(link, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    # then
    assert response.status_code == 302
    assert client.get(response.url).url == reverse("today")
    user = User.objects.get(email="rina@example.test")
    assert user.check_password(PASSWORD)
    assert user.emailaddress_set.get().verified
    assert Invitation.objects.get(patient__user=user).accepted_at is not None
    assert AuditEvent.objects.filter(actor=user, action="login", object_id="invitation").exists()
    # and the link cannot be used again
    client.logout()
    assert client.get(link).status_code == 400


def test_invite_link_with_bad_token_is_refused(client, patient_a):
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(patient_a.user.pk))
    url = reverse("invitation_accept", kwargs={"uidb64": uid, "token": "bad-token"})
    new_password = "an-attackers-choice-77"
    response = client.post(url, {"new_password1": new_password, "new_password2": new_password})
    assert response.status_code == 400
    patient_a.user.refresh_from_db()
    assert not patient_a.user.check_password(new_password)


def test_weak_password_is_refused_with_a_message(client, derm, django_capture_on_commit_callbacks):
    _invite(client, derm, django_capture_on_commit_callbacks)
    client.logout()
    link = re.search(r"http://[^/]+(/accounts/invitation/\S+/)", mail.outbox[0].body).group(1)
    response = client.post(link, {"new_password1": "12345", "new_password2": "12345"})
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert not User.objects.get(email="rina@example.test").has_usable_password()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "valid email"),
        ("timezone", "Mars/Olympus_Mons", "Select a valid choice"),
        ("first_name", "", "required"),
    ],
)
def test_bad_invite_input_saves_nothing(client, derm, django_capture_on_commit_callbacks,
                                        field, value, message):
    response = _invite(client, derm, django_capture_on_commit_callbacks,
                       {**INVITE, field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Patient.objects.exists()
    assert not mail.outbox


def test_existing_email_is_not_invited_again(client, derm, patient_a,
                                             django_capture_on_commit_callbacks):
    # when
    _invite(client, derm, django_capture_on_commit_callbacks,
            {**INVITE, "email": patient_a.user.email.upper()})
    # then: no second account; the owner is told they already have one
    assert Patient.objects.count() == 1
    (email,) = mail.outbox
    assert email.to == [patient_a.user.email]
    assert "already has an account" in email.body


def test_self_signup_is_closed(client):
    client.post(reverse("account_signup"), {
        "email": "walk-in@example.test", "password1": PASSWORD, "password2": PASSWORD,
    })
    assert not User.objects.filter(email="walk-in@example.test").exists()


def test_login_with_email_and_password(client, patient_a):
    response = client.post(
        reverse("account_login"), {"login": patient_a.user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("home")).url == reverse("today")


def test_login_failure_does_not_reveal_whether_email_exists(client, patient_a):
    known = client.post(reverse("account_login"), {"login": patient_a.user.email,
                                                   "password": "wrong-password-1"})
    unknown = client.post(reverse("account_login"), {"login": "nobody@example.test",
                                                     "password": "wrong-password-1"})
    assert known.status_code == unknown.status_code == 200
    assert known.context["form"].errors == unknown.context["form"].errors


def test_password_reset_sends_an_email_with_a_reset_link(client, patient_a):
    client.post(reverse("account_reset_password"), {"email": patient_a.user.email})
    (email,) = mail.outbox
    assert email.to == [patient_a.user.email]
    assert "/accounts/password/reset/key/" in email.body


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:accounts_clinic_add", "admin:accounts_clinicmembership_add",
        "admin:accounts_patient_add", "admin:accounts_user_add",
        "admin:accounts_auditevent_changelist",
    ],
)
def test_clinic_administrator_pages_render(admin_client, url_name):
    assert admin_client.get(reverse(url_name)).status_code == 200


def test_audit_events_are_read_only_in_the_admin(admin_client, derm, patient_a):
    from accounts.services import audit_record

    event = audit_record(actor=derm, patient=patient_a, action="view", object_type="patient")
    url = reverse("admin:accounts_auditevent_delete", args=[event.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()
