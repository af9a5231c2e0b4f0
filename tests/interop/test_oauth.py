"""OAuth 2.0 for the FHIR API: a clinic's system client (client credentials, system/ scopes
within what it was registered with), a patient's app (authorization code + PKCE S256, patient/
scopes, allowed on the consent page by the patient themself), expiry and revocation."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, Grant

from accounts.models import AuditEvent, ClinicMembership
from interop.models import ClinicClient
from interop.services import RegistrationError, clinic_client_register, clinic_client_revoke
from tests.factories import CaregiverLinkFactory, ClinicAdminFactory
from tests.interop.oauth import (
    REDIRECT_URI,
    Pkce,
    authorize_params,
    authorize_url,
    basic_auth,
    client_credentials,
    code_from,
    fhir_get,
    patient_app,
    patient_app_token,
    patient_app_token_response,
    system_client,
    system_token,
)

pytestmark = pytest.mark.django_db


# --- A clinic's system client -------------------------------------------------------------------


def test_a_system_client_gets_a_token_with_its_secret_and_reads_its_clinic(client, clinic,
                                                                           patient_a):
    # given
    registered = system_client(clinic)
    # when
    token = system_token(client, registered, scope="system/*.rs")
    response = fhir_get(client, f"Patient/{patient_a.pk}", token)
    # then
    assert response.status_code == 200
    assert response.json()["id"] == str(patient_a.pk)


def test_the_secret_is_kept_only_as_a_hash(clinic):
    # given
    registered = system_client(clinic)
    # when
    stored = Application.objects.get(client_id=registered.client_id).client_secret
    # then
    assert registered.client_secret not in stored
    assert check_password(registered.client_secret, stored)


def test_a_wrong_secret_gets_no_token(client, clinic):
    # given
    registered = system_client(clinic)
    # when
    response = client_credentials(client, registered, secret="not-the-secret")
    # then
    assert response.status_code == 401
    assert not AccessToken.objects.exists()


def test_without_a_scope_a_system_client_is_granted_what_it_was_registered_with(client, clinic):
    # given
    registered = system_client(clinic, scopes="system/Patient.rs")
    # when
    response = client_credentials(client, registered)
    # then
    assert response.status_code == 200
    assert response.json()["scope"] == "system/Patient.rs"


@pytest.mark.parametrize("scope", ["system/*.rs", "patient/*.rs", "system/*.cruds",
                                   "user/*.rs", "openid"])
def test_a_system_client_is_granted_no_scope_beyond_its_registration(client, clinic, scope):
    # given: registered for Patient reads only
    registered = system_client(clinic, scopes="system/Patient.rs")
    # when
    response = client_credentials(client, registered, scope=scope)
    # then
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert not AccessToken.objects.exists()


def test_a_narrower_scope_than_the_registration_is_granted(client, clinic):
    # given
    registered = system_client(clinic, scopes="system/*.rs")
    # when
    response = client_credentials(client, registered, scope="system/Patient.r")
    # then
    assert response.status_code == 200
    assert response.json()["scope"] == "system/Patient.r"


def test_registration_refuses_scopes_that_are_not_system_reads(clinic):
    # when / then
    for scopes in ("patient/*.rs", "system/*.cruds", "system/*.rs openid", ""):
        with pytest.raises(RegistrationError):
            clinic_client_register(clinic=clinic, name="Bridge", scopes=scopes,
                                   registered_by=None)
    assert not ClinicClient.objects.exists()


def test_a_system_clients_own_account_can_never_sign_in_or_be_mailed(clinic):
    # given
    registered = system_client(clinic, name="Epic bridge")
    user = registered.client.service_user
    # then
    assert not user.has_usable_password()
    assert not user.is_active
    assert not user.has_mailbox
    assert not ClinicMembership.objects.filter(user=user).exists()
    assert authenticate(email=user.email, password="") is None
    assert user.display_name == "Epic bridge"


def test_the_registration_command_prints_the_id_and_a_working_secret(client, clinic, patient_a):
    # given
    out = StringIO()
    # when
    call_command("fhir_client_register", "--clinic", str(clinic.pk), "--name", "Epic bridge",
                 "--scopes", "system/*.rs", stdout=out, stderr=StringIO())
    # then
    lines = dict(line.split("=", 1) for line in out.getvalue().split())
    response = client.post(reverse("oauth2_provider:token"), {"grant_type": "client_credentials"},
                           HTTP_AUTHORIZATION=basic_auth(lines["client_id"],
                                                         lines["client_secret"]))
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert fhir_get(client, f"Patient/{patient_a.pk}", token).status_code == 200
    assert ClinicClient.objects.get().clinic == clinic


# --- Expiry and revocation ------------------------------------------------------------------------


def test_an_expired_token_gets_401(client, clinic, patient_a):
    # given
    registered = system_client(clinic)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        token = system_token(client, registered)
        assert fhir_get(client, f"Patient/{patient_a.pk}", token).status_code == 200
    # when: an hour and a second later
    with time_machine.travel(start + timedelta(seconds=3601), tick=False):
        response = fhir_get(client, f"Patient/{patient_a.pk}", token)
    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_token_revoked_at_the_revoke_endpoint_gets_401(client, clinic, patient_a):
    # given
    registered = system_client(clinic)
    token = system_token(client, registered)
    # when
    revoked = client.post(reverse("oauth2_provider:revoke-token"), {"token": token},
                          HTTP_AUTHORIZATION=basic_auth(registered.client_id,
                                                        registered.client_secret))
    response = fhir_get(client, f"Patient/{patient_a.pk}", token)
    # then
    assert revoked.status_code == 200
    assert response.status_code == 401


def test_a_revoked_clinic_client_loses_its_tokens_and_gets_no_new_one(client, clinic, patient_a,
                                                                      now):
    # given
    registered = system_client(clinic)
    token = system_token(client, registered)
    # when
    clinic_client_revoke(client=registered.client, revoked_by=None, now=now)
    # then
    assert fhir_get(client, f"Patient/{patient_a.pk}", token).status_code == 401
    assert not AccessToken.objects.filter(application__client_id=registered.client_id).exists()
    assert client_credentials(client, registered).status_code == 401
    assert ClinicClient.objects.get().revoked_at == now


def test_a_revoked_client_with_a_token_left_behind_still_gets_401(client, clinic, patient_a, now):
    # given: a token that escaped the deletion (a race with the revocation)
    registered = system_client(clinic)
    token = system_token(client, registered)
    ClinicClient.objects.filter(pk=registered.client.pk).update(revoked_at=now)
    # when
    response = fhir_get(client, f"Patient/{patient_a.pk}", token)
    # then
    assert response.status_code == 401


def test_no_token_or_a_made_up_one_gets_401(client, patient_a):
    # when
    missing = fhir_get(client, f"Patient/{patient_a.pk}", None)
    made_up = fhir_get(client, f"Patient/{patient_a.pk}", "made-up")
    # then
    assert missing.status_code == made_up.status_code == 401
    assert "Bearer" in missing["WWW-Authenticate"]


# --- A patient's app: authorization code + PKCE ---------------------------------------------------


def test_a_patient_allows_an_app_and_it_reads_their_record(client, patient_a):
    # given
    app = patient_app()
    # when
    answer = patient_app_token_response(client, patient_a.user, app)
    response = fhir_get(client, f"Patient/{patient_a.pk}", answer["access_token"])
    # then
    assert response.status_code == 200
    assert answer["patient"] == str(patient_a.pk)  # SMART standalone launch context
    assert set(answer["scope"].split()) == {"patient/*.rs", "launch/patient"}


def test_the_consent_page_says_which_app_asks_for_what(client, patient_a):
    # given
    app = patient_app(name="My Skin Diary")
    client.force_login(patient_a.user)
    # when
    page = client.get(authorize_url(authorize_params(app, Pkce.new())))
    # then
    text = page.content.decode()
    assert page.status_code == 200
    assert "Let My Skin Diary read your record?" in text
    assert "Read your name and details" in text
    assert 'name="allow"' in text
    assert "Deny" in text
    assert "Who viewed my record" in text


def test_deny_sends_the_app_away_without_a_code(client, patient_a):
    # given
    app = patient_app()
    params = authorize_params(app, Pkce.new())
    client.force_login(patient_a.user)
    # when
    response = client.post(authorize_url(params), params)
    # then
    assert response.status_code == 302
    assert response.url.startswith(REDIRECT_URI)
    assert "error=access_denied" in response.url
    assert not Grant.objects.exists()


def test_without_pkce_no_code_is_issued(client, patient_a):
    # given
    app = patient_app()
    params = authorize_params(app, None)
    client.force_login(patient_a.user)
    # when
    response = client.get(authorize_url(params))
    # then
    assert response.status_code == 302
    assert "error=invalid_request" in response.url
    assert not Grant.objects.exists()


def test_the_plain_pkce_method_is_refused(client, patient_a):
    # given
    app = patient_app()
    pkce = Pkce.new()
    params = authorize_params(app, pkce, method="plain") | {"code_challenge": pkce.verifier}
    client.force_login(patient_a.user)
    # when
    response = client.get(authorize_url(params))
    # then
    assert response.status_code == 302
    assert "error=" in response.url
    assert not Grant.objects.exists()


def test_a_code_is_refused_with_the_wrong_verifier(client, patient_a):
    # given
    app = patient_app()
    pkce = Pkce.new()
    params = authorize_params(app, pkce)
    client.force_login(patient_a.user)
    code = code_from(client.post(authorize_url(params), params | {"allow": "on"}))
    # when
    response = client.post(reverse("oauth2_provider:token"), {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "client_id": app.client_id, "code_verifier": Pkce.new().verifier})
    # then
    assert response.status_code == 400
    assert not AccessToken.objects.exists()


def test_a_patient_app_may_not_ask_for_system_scopes(client, patient_a):
    # given
    app = patient_app()
    params = authorize_params(app, Pkce.new(), scope="system/*.rs")
    client.force_login(patient_a.user)
    # when
    response = client.get(authorize_url(params))
    # then
    assert response.status_code == 302
    assert "error=invalid_scope" in response.url


def test_a_system_client_cannot_use_the_authorization_code_flow(client, clinic, patient_a):
    # given
    registered = system_client(clinic)
    params = {"response_type": "code", "client_id": registered.client_id,
              "redirect_uri": REDIRECT_URI, "scope": "system/*.rs", "state": "xyz",
              "code_challenge": Pkce.new().challenge, "code_challenge_method": "S256"}
    client.force_login(patient_a.user)
    # when
    response = client.get(authorize_url(params))
    # then: no redirect URI is registered for it, so the page says no (never a redirect)
    assert response.status_code == 400
    assert "This app cannot connect" in response.content.decode()
    assert not Grant.objects.exists()


def test_an_anonymous_visitor_is_sent_to_sign_in_first(client):
    # given
    app = patient_app()
    # when
    response = client.get(authorize_url(authorize_params(app, Pkce.new())))
    # then
    assert response.status_code == 302
    assert reverse("account_login") in response.url


@pytest.mark.parametrize("who", ["derm", "staff", "clinic_admin", "caregiver"])
def test_only_a_patient_for_themself_may_allow_an_app(client, who, derm, staff, clinic,
                                                      patient_a):
    # given
    people = {"derm": derm, "staff": staff,
              "clinic_admin": ClinicAdminFactory(membership=clinic),
              "caregiver": CaregiverLinkFactory(patient=patient_a).caregiver}
    app = patient_app()
    params = authorize_params(app, Pkce.new())
    client.force_login(people[who])
    # when
    page = client.get(authorize_url(params))
    posted = client.post(authorize_url(params), params | {"allow": "on"})
    # then
    assert page.status_code == posted.status_code == 403
    assert "Only the patient can connect an app" in page.content.decode()
    assert not Grant.objects.exists()
    assert not AccessToken.objects.exists()


def test_the_patient_app_token_is_refused_after_an_hour(client, patient_a):
    # given
    app = patient_app()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        token = patient_app_token(client, patient_a.user, app)
    # when
    with time_machine.travel(start + timedelta(hours=1, seconds=1), tick=False):
        response = fhir_get(client, f"Patient/{patient_a.pk}", token)
    # then
    assert response.status_code == 401


def test_registering_a_client_is_audited(clinic):
    # given
    admin_user = ClinicAdminFactory(membership=clinic)
    # when
    registered = clinic_client_register(clinic=clinic, name="Epic bridge", scopes="system/*.rs",
                                        registered_by=admin_user)
    # then
    event = AuditEvent.objects.get(object_type="clinic_client")
    assert event.actor == admin_user
    assert event.object_id == str(registered.client.pk)
    assert event.clinic_id == clinic.pk


# --- The admin site: a clinic administrator registers and revokes their clinic's clients ---------


def test_a_clinic_admin_registers_a_client_and_sees_the_secret_only_once(client, clinic,
                                                                         patient_a):
    # given
    admin_user = ClinicAdminFactory(membership=clinic)
    client.force_login(admin_user)
    # when
    added = client.post(reverse("admin:interop_clinicclient_add"),
                        {"name": "Epic bridge", "allowed_scopes": "system/*.rs"})
    # then: the page after adding shows a secret that works
    registered = ClinicClient.objects.get()
    page = added.content.decode()
    secret = page.split("Client secret</dt><dd><code>")[1].split("</code>")[0]
    assert added.status_code == 200
    assert registered.clinic == clinic
    assert registered.registered_by == admin_user
    assert registered.application.client_id in page
    token_answer = client.post(reverse("oauth2_provider:token"),
                               {"grant_type": "client_credentials"},
                               HTTP_AUTHORIZATION=basic_auth(registered.application.client_id,
                                                             secret))
    assert token_answer.status_code == 200
    # and never again: not on its page, not in the list
    for url in (reverse("admin:interop_clinicclient_change", args=[registered.pk]),
                reverse("admin:interop_clinicclient_changelist")):
        shown = client.get(url)
        assert shown.status_code == 200
        assert secret not in shown.content.decode()


def test_a_clinic_admin_revokes_a_client_from_the_list(client, clinic, patient_a):
    # given
    admin_user = ClinicAdminFactory(membership=clinic)
    registered = system_client(clinic)
    token = system_token(client, registered)
    client.force_login(admin_user)
    # when
    response = client.post(reverse("admin:interop_clinicclient_changelist"),
                           {"action": "revoke", "_selected_action": [registered.client.pk]})
    # then
    assert response.status_code == 302
    assert ClinicClient.objects.get().revoked_at is not None
    client.logout()
    assert fhir_get(client, f"Patient/{patient_a.pk}", token).status_code == 401
    assert AuditEvent.objects.filter(object_type="clinic_client_revoked",
                                     actor=admin_user).exists()


def test_a_clinic_admin_cannot_register_a_client_with_write_scopes(client, clinic):
    # given
    client.force_login(ClinicAdminFactory(membership=clinic))
    # when
    response = client.post(reverse("admin:interop_clinicclient_add"),
                           {"name": "Writer", "allowed_scopes": "system/*.cruds"})
    # then
    assert response.status_code == 200
    assert "Not a system read scope" in response.content.decode()
    assert not ClinicClient.objects.exists()


def test_a_patient_app_stops_when_the_patients_account_is_deactivated(client, patient_a):
    # given
    token = patient_app_token(client, patient_a.user, patient_app())
    # when
    patient_a.user.is_active = False
    patient_a.user.save(update_fields=["is_active"])
    response = fhir_get(client, f"Patient/{patient_a.pk}", token)
    # then
    assert response.status_code == 401


def test_the_consent_page_lets_its_form_go_back_to_the_app_only(client, patient_a):
    # given
    app = patient_app()
    client.force_login(patient_a.user)
    # when
    page = client.get(authorize_url(authorize_params(app, Pkce.new())))
    home = client.get(reverse("today"))
    # then: the way back to the app is open on this page (CSP form-action), and nowhere else
    assert "form-action 'self' https://app.example" in page["Content-Security-Policy"]
    assert "app.example" not in home["Content-Security-Policy"]
