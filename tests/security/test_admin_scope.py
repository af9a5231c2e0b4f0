"""The admin site as a clinic administrator sees it: their own clinic only, no secret, no
password set by anyone but its owner, no way up to superuser, and every change audited.

The platform operator (a superuser) spans clinics; the demo hands that role to nobody.
"""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse
from django.utils.html import escape

from accounts.admin_scope import ClinicScopedAdmin, SuperuserOnlyAdmin
from accounts.models import AuditEvent, ClinicMembership, Patient, Role, User
from careplans.models import Preference
from flags.models import FlagSettings
from tests.factories import (
    TOTP_SECRET,
    ClinicAdminFactory,
    DermatologistFactory,
    OperatorFactory,
    PatientFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic_admin(clinic):
    return ClinicAdminFactory(membership=clinic)


@pytest.fixture
def operator():
    return OperatorFactory()


@pytest.fixture
def other_patient(other_derm):
    return PatientFactory(dermatologist=other_derm)


def _change(model_name: str, obj_id: int) -> str:
    return reverse(f"admin:accounts_{model_name}_change", args=[obj_id])


def _patient_form(patient: Patient, **overrides: object) -> dict[str, object]:
    data = {"dermatologist": patient.dermatologist_id, "timezone": patient.timezone,
            "is_active": "on"}
    data.update(overrides)
    return data


# --- Scope: one clinic ------------------------------------------------------------------------


def test_clinic_admin_lists_only_their_own_clinics_patients(client, clinic_admin, patient_a,
                                                            other_patient):
    # given
    client.force_login(clinic_admin)
    # when
    response = client.get(reverse("admin:accounts_patient_changelist"))
    # then
    page = response.content.decode()
    assert response.status_code == 200
    assert patient_a.user.email in page
    assert other_patient.user.email not in page
    assert other_patient.clinic.name not in page  # not even as a filter choice


def test_another_clinics_patient_is_not_found(client, clinic_admin, other_patient):
    # given
    client.force_login(clinic_admin)
    # when
    response = client.get(_change("patient", other_patient.pk))
    # then
    assert response.status_code == 404
    assert other_patient.user.email not in response.content.decode()


def test_clinic_admin_sees_only_their_clinics_people_and_settings(
        client, clinic_admin, derm, other_derm, patient_a, other_patient):
    # given
    client.force_login(clinic_admin)
    urls = {name: reverse(f"admin:{name}_changelist") for name in (
        "accounts_user", "accounts_clinicmembership", "accounts_clinic", "accounts_auditevent",
        "accounts_invitation", "careplans_preference", "flags_flagsettings")}
    # when
    pages = {name: client.get(url) for name, url in urls.items()}
    # then
    assert {name: r.status_code for name, r in pages.items()} == dict.fromkeys(urls, 200)
    people = pages["accounts_user"].content.decode()
    assert derm.email in people
    assert patient_a.user.email in people
    assert other_derm.email not in people
    assert other_patient.user.email not in people
    assert other_derm.email not in pages["accounts_clinicmembership"].content.decode()
    assert other_derm.membership.clinic.name not in pages["accounts_clinic"].content.decode()


def test_a_dermatologist_of_another_clinic_cannot_be_chosen(client, clinic_admin, patient_a,
                                                            other_derm):
    # given
    client.force_login(clinic_admin)
    # when
    response = client.post(_change("patient", patient_a.pk),
                           _patient_form(patient_a, dermatologist=other_derm.pk))
    # then
    assert response.status_code == 200  # the form again, with its error
    assert "Select a valid choice" in response.content.decode()
    patient_a.refresh_from_db()
    assert patient_a.dermatologist_id != other_derm.pk


def test_a_clinic_admin_may_reassign_a_patient_within_their_clinic(client, clinic_admin,
                                                                   patient_a, clinic):
    # given
    colleague = DermatologistFactory(membership=clinic)
    client.force_login(clinic_admin)
    # when
    response = client.post(_change("patient", patient_a.pk),
                           _patient_form(patient_a, dermatologist=colleague.pk))
    # then
    assert response.status_code == 302
    patient_a.refresh_from_db()
    assert patient_a.dermatologist == colleague


def test_clinic_admin_reads_no_record_in_the_portal(client, clinic_admin, patient_a):
    # given: the admin site shows registry fields; health data stays with clinicians
    client.force_login(clinic_admin)
    # when
    statuses = [client.get(reverse(name, args=[patient_a.pk])).status_code
                for name in ("patient_detail", "plan_history")]
    statuses += [client.get(reverse(name)).status_code
                 for name in ("my_patients", "flagged_patients", "clinic_audit_log")]
    # then
    assert statuses == [404] * 5
    assert client.get(reverse("home")).url == reverse("admin:index")


def test_autocomplete_answers_only_with_the_clinics_people(client, clinic_admin, patient_a,
                                                           other_patient):
    # given: the autocomplete endpoint can be called directly, whatever the form shows
    client.force_login(clinic_admin)
    # when
    response = client.get(reverse("admin:autocomplete"), {
        "app_label": "accounts", "model_name": "patient", "field_name": "user", "term": ""})
    # then
    assert response.status_code == 200
    ids = {int(row["id"]) for row in response.json()["results"]}
    assert patient_a.user.pk in ids
    assert other_patient.user.pk not in ids


# --- Secrets ------------------------------------------------------------------------------------


def test_clinic_admin_cannot_open_any_authenticator(client, clinic_admin, derm):
    # given
    client.force_login(clinic_admin)
    authenticator = Authenticator.objects.get(user=derm, type=Authenticator.Type.TOTP)
    # when
    responses = [client.get(reverse("admin:mfa_authenticator_changelist")),
                 client.get(reverse("admin:mfa_authenticator_change", args=[authenticator.pk])),
                 client.get(reverse("admin:index"))]
    # then
    assert [r.status_code for r in responses[:2]] == [403, 403]
    assert TOTP_SECRET not in responses[1].content.decode()
    assert reverse("admin:mfa_authenticator_changelist") not in responses[2].content.decode()


def test_not_even_the_operator_reads_an_authenticators_secret(client, operator, derm):
    # given
    client.force_login(operator)
    authenticator = Authenticator.objects.get(user=derm, type=Authenticator.Type.TOTP)
    # when
    response = client.get(reverse("admin:mfa_authenticator_change", args=[authenticator.pk]))
    # then
    assert response.status_code == 200
    page = response.content.decode()
    assert escape(str(derm)) in page
    assert TOTP_SECRET not in page
    assert authenticator.data["secret"] not in page


@pytest.mark.parametrize("who", ["clinic_admin", "operator"])
def test_no_password_hash_and_no_password_form(client, request, who, derm):
    # given
    client.force_login(request.getfixturevalue(who))
    # when
    page = client.get(_change("user", derm.pk))
    password = client.get(reverse("admin:auth_user_password_change", args=[derm.pk]))
    posted = client.post(reverse("admin:auth_user_password_change", args=[derm.pk]),
                         {"password1": "Attacker-chosen-9", "password2": "Attacker-chosen-9"})
    # then
    assert page.status_code == 200
    assert derm.password not in page.content.decode()
    assert "pbkdf2" not in page.content.decode()
    assert "md5" not in page.content.decode()
    assert "/password/" not in page.content.decode()
    assert (password.status_code, posted.status_code) == (403, 403)
    derm.refresh_from_db()
    assert not derm.check_password("Attacker-chosen-9")


def test_clinic_admin_cannot_open_email_addresses_groups_or_sessions(client, clinic_admin):
    # given
    client.force_login(clinic_admin)
    # when
    statuses = [client.get(reverse(f"admin:{name}_changelist")).status_code
                for name in ("account_emailaddress", "auth_group")]
    # then
    assert statuses == [403, 403]
    assert "sessions_session" not in {f"{m._meta.app_label}_{m._meta.model_name}"
                                      for m in admin.site._registry}


# --- Passwords: a reset link, never a password ----------------------------------------------


def test_password_reset_action_emails_the_user_a_link(client, clinic_admin, derm):
    # given
    client.force_login(clinic_admin)
    # when
    response = client.post(reverse("admin:accounts_user_changelist"), {
        "action": "send_password_reset", "_selected_action": [derm.pk]}, follow=True)
    # then
    assert response.status_code == 200
    assert [m.to for m in mail.outbox] == [[derm.email]]
    link = re.search(r"/accounts/password/reset/key/\S+", mail.outbox[0].body).group(0)
    assert link not in response.content.decode()  # the administrator never sees it
    assert AuditEvent.objects.filter(
        actor=clinic_admin, action=AuditEvent.Action.PASSWORD_RESET, object_type="admin_user",
        object_id=str(derm.pk)).exists()


def test_password_reset_action_cannot_reach_another_clinics_user(client, clinic_admin,
                                                                 other_derm):
    # given
    client.force_login(clinic_admin)
    # when
    client.post(reverse("admin:accounts_user_changelist"), {
        "action": "send_password_reset", "_selected_action": [other_derm.pk]})
    # then
    assert mail.outbox == []


def test_adding_a_clinician_invites_them_by_email(client, clinic_admin, clinic, other_clinic,
                                                  django_capture_on_commit_callbacks):
    # given
    client.force_login(clinic_admin)
    # when: a forged clinic field and password fields are ignored
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:accounts_user_add"), {
            "email": "New.Colleague@Example.test", "first_name": "Nia", "last_name": "Cole",
            "role": Role.STAFF, "clinic": other_clinic.pk, "password1": "Chosen-by-admin-9",
            "password2": "Chosen-by-admin-9", "is_superuser": "on"})
    # then
    assert response.status_code == 302
    user = User.objects.get(email="new.colleague@example.test")
    assert not user.has_usable_password()
    assert (user.is_staff, user.is_superuser) == (False, False)
    assert (user.membership.clinic, user.membership.role) == (clinic, Role.STAFF)
    assert [m.to for m in mail.outbox] == [["new.colleague@example.test"]]
    assert AuditEvent.objects.filter(actor=clinic_admin, action=AuditEvent.Action.CREATE,
                                     object_type="admin_user", object_id=str(user.pk)).exists()


def test_adding_an_address_in_use_in_another_clinic_answers_as_for_a_new_one(
        client, clinic_admin, other_derm, django_capture_on_commit_callbacks):
    # given: one new address and one that another clinic's dermatologist uses
    client.force_login(clinic_admin)

    def add(email: str):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("admin:accounts_user_add"), {
                "email": email, "first_name": "Nia", "last_name": "Cole",
                "role": Role.STAFF}, follow=True)

    # when
    new = add("brand.new@example.test")
    in_use = add(other_derm.email)
    # then: the same page and message; the owner is emailed to sign in, nothing changes
    def shown(response) -> tuple:
        return (response.redirect_chain[-1][0],
                [str(m).replace("brand.new@example.test", other_derm.email)
                 for m in response.context["messages"]])

    assert shown(new) == shown(in_use)
    assert "already" not in in_use.content.decode()
    assert other_derm.membership.clinic != clinic_admin.membership.clinic
    other_derm.refresh_from_db()
    assert other_derm.has_usable_password()
    assert "already has an account" in mail.outbox[-1].body
    assert mail.outbox[-1].to == [other_derm.email]


def test_the_invited_clinician_chooses_their_password_through_the_emailed_link(
        client, clinic_admin, django_capture_on_commit_callbacks):
    # given
    client.force_login(clinic_admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:accounts_user_add"), {
            "email": "nia@example.test", "first_name": "Nia", "last_name": "Cole",
            "role": Role.DERMATOLOGIST})
    link = re.search(r"/accounts/password/reset/key/\S+", mail.outbox[0].body).group(0)
    client.logout()
    # when
    form_page = client.get(link, follow=True)
    client.post(form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
                {"password1": "Her-own-choice-42", "password2": "Her-own-choice-42"})
    # then
    assert User.objects.get(email="nia@example.test").check_password("Her-own-choice-42")


# --- No way up ------------------------------------------------------------------------------


def test_clinic_admin_cannot_make_anyone_superuser_or_staff(client, clinic_admin, derm):
    # given
    group = Group.objects.create(name="Everything")
    client.force_login(clinic_admin)
    # when
    response = client.post(_change("user", derm.pk), {
        "first_name": "Renamed", "last_name": derm.last_name, "is_active": "on",
        "is_staff": "on", "is_superuser": "on", "groups": [group.pk],
        "user_permissions": [1, 2, 3], "email": "taken-over@example.test"})
    own = client.post(_change("user", clinic_admin.pk), {
        "first_name": "Me", "last_name": "Too", "is_superuser": "on"})
    # then
    assert (response.status_code, own.status_code) == (302, 302)
    derm.refresh_from_db()
    clinic_admin.refresh_from_db()
    assert derm.first_name == "Renamed"  # the form works: only its allowed fields changed
    assert (derm.is_staff, derm.is_superuser, derm.email) == (False, False, derm.email)
    assert "taken-over" not in derm.email
    assert not derm.groups.exists()
    assert not derm.user_permissions.exists()
    assert not clinic_admin.is_superuser
    assert clinic_admin.is_active


def test_clinic_admin_cannot_move_a_member_to_another_clinic(client, clinic_admin, derm,
                                                             clinic, other_clinic,
                                                             other_staff):
    # given
    client.force_login(clinic_admin)
    membership = derm.membership
    # when
    moved = client.post(_change("clinicmembership", membership.pk), {
        "role": Role.DERMATOLOGIST, "clinic": other_clinic.pk, "user": other_staff.pk})
    foreign = client.post(_change("clinicmembership", other_staff.membership.pk), {
        "role": Role.ADMIN, "clinic": clinic.pk, "user": other_staff.pk})
    added = client.post(reverse("admin:accounts_clinicmembership_add"), {
        "role": Role.ADMIN, "clinic": clinic.pk, "user": other_staff.pk})
    # then
    assert moved.status_code == 302
    assert (foreign.status_code, added.status_code) == (404, 403)
    assert ClinicMembership.objects.get(pk=membership.pk).clinic == clinic
    assert ClinicMembership.objects.get(user=derm).user == derm
    other_staff.membership.refresh_from_db()
    assert (other_staff.membership.clinic, other_staff.membership.role) == (other_clinic,
                                                                           Role.STAFF)


def test_making_a_member_clinic_administrator_opens_the_admin_site_to_them(client,
                                                                          clinic_admin, staff):
    # given
    client.force_login(clinic_admin)
    # when
    response = client.post(_change("clinicmembership", staff.membership.pk),
                           {"role": Role.ADMIN})
    # then
    assert response.status_code == 302
    staff.refresh_from_db()
    assert (staff.is_staff, staff.is_superuser, staff.membership.role) == (True, False,
                                                                           Role.ADMIN)


# --- Audit ------------------------------------------------------------------------------------


def test_an_admin_change_is_an_audit_event_without_the_values(client, clinic_admin, patient_a):
    # given
    client.force_login(clinic_admin)
    # when
    response = client.post(_change("patient", patient_a.pk),
                           _patient_form(patient_a, timezone="Asia/Kolkata"))
    # then
    assert response.status_code == 302
    event = AuditEvent.objects.get(actor=clinic_admin, action=AuditEvent.Action.CHANGE)
    assert (event.patient, event.object_type, event.object_id, event.allowed) == (
        patient_a, "admin_patient", str(patient_a.pk), True)


def test_changes_to_clinic_settings_are_audited(client, clinic_admin, clinic):
    # given
    client.force_login(clinic_admin)
    # when
    client.post(_change("clinic", clinic.pk), {
        "name": "Riverside", "timezone": "Europe/London", "currency": "GBP",
        "pulse_interval_days": 7, "reminder_follow_up_time": "09:00", "message_reply_days": 2,
        "caregiver_teen_age": 12, "caregiver_adult_age": 18})
    client.post(reverse("admin:flags_flagsettings_add"), {
        **{f.name: f.default for f in FlagSettings._meta.concrete_fields
           if f.name not in ("id", "clinic")}})
    client.post(reverse("admin:careplans_preference_add"), {
        "label": "No morning steps", "key": "no-morning", "conflict": "", "position": 5})
    # then
    clinic.refresh_from_db()
    assert clinic.name == "Riverside"
    assert FlagSettings.objects.get().clinic == clinic
    assert Preference.objects.get(key="no-morning").clinic == clinic
    assert sorted(AuditEvent.objects.filter(actor=clinic_admin).values_list(
        "action", "object_type")) == [("change", "admin_clinic"), ("create", "admin_flag_settings"),
                                      ("create", "admin_preference")]


# --- Every admin is one of the two kinds --------------------------------------------------------


def test_every_registered_admin_is_clinic_scoped_or_the_operators_alone():
    kinds = {model._meta.label: type(model_admin) for model, model_admin
             in admin.site._registry.items()
             if not isinstance(model_admin, ClinicScopedAdmin | SuperuserOnlyAdmin)}
    assert kinds == {}


def test_the_demo_administrator_is_a_clinic_administrator_not_a_superuser():
    from demo.seed import ADMIN_EMAIL, seed_core

    # when
    clinic, _derm, _staff = seed_core("!unusable")
    # then
    user = User.objects.get(email=ADMIN_EMAIL)
    assert (user.is_staff, user.is_superuser) == (True, False)
    assert (user.membership.clinic, user.membership.role) == (clinic, Role.ADMIN)
    assert not User.objects.filter(is_superuser=True).exists()


def test_the_admins_change_password_link_leads_to_the_portals_own_page(client, clinic_admin):
    # given
    client.force_login(clinic_admin)
    # when
    response = client.get(reverse("admin:password_change"))
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("account_change_password")
