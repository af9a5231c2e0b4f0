"""Sign-ins, failed sign-ins, sign-outs and two-step verification changes are audited; a typed
address without an account is never stored."""

import pytest
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.receivers import unknown_login_id
from tests.factories import PASSWORD, DermatologistFactory, totp_code
from tests.security.conftest import code_step, password_step, sign_in

pytestmark = pytest.mark.django_db


def _events(**filters) -> list[tuple]:
    return list(
        AuditEvent.objects.filter(**filters).order_by("id")
        .values_list("actor_id", "action", "object_type", "object_id", "allowed", "patient_id")
    )


def test_sign_in_is_audited_with_its_methods(client, patient_a, derm):
    # when
    sign_in(client, patient_a.user.email)
    client.post(reverse("account_logout"))
    sign_in(client, derm.email, mfa=True)
    # then
    assert _events(action="login") == [
        (patient_a.user.pk, "login", "session", "password", True, None),
        (derm.pk, "login", "session", "mfa+password", True, None),
    ]


def test_wrong_password_is_audited_against_the_account(client, patient_a):
    # when
    password_step(client, patient_a.user.email, "not-the-password")
    # then
    assert _events() == [(patient_a.user.pk, "login_failed", "password", "", False, None)]


def test_unknown_address_is_audited_without_storing_it(client):
    # when
    for typed in ("Nobody@Example.test", "nobody@example.test"):
        password_step(client, typed, "not-the-password")
    # then
    events = AuditEvent.objects.filter(action="login_failed")
    assert events.count() == 2
    assert {(e.actor_id, e.object_id) for e in events} == {
        (None, unknown_login_id("nobody@example.test"))
    }
    for event in events.values():
        assert not any("nobody" in str(value).lower() for value in event.values())


def test_sign_out_and_session_expiry_are_audited(client, clock, patient_a):
    # given
    sign_in(client, patient_a.user.email)
    # when
    client.post(reverse("account_logout"))
    sign_in(client, patient_a.user.email)
    clock.advance(minutes=61)
    client.get(reverse("today"))
    # then
    assert _events(action="logout") == [
        (patient_a.user.pk, "logout", "session", "signed_out", True, None),
        (patient_a.user.pk, "logout", "session", "idle", True, None),
    ]


def test_wrong_code_is_audited(client, derm):
    # given
    password_step(client, derm.email)
    # when
    code_step(client, "123456" if totp_code() != "123456" else "654321")
    # then
    assert _events(action="login_failed") == [(derm.pk, "login_failed", "mfa", "totp", False,
                                                None)]


def test_two_step_verification_changes_are_audited(client, clinic,
                                                   django_capture_on_commit_callbacks):
    # given: a new dermatologist, signed in with the password, confirming it for the set-up
    derm = DermatologistFactory(membership=clinic, mfa=False)
    sign_in(client, derm.email)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    client.get(reverse("mfa_activate_totp"))
    # when: the app is added, recovery codes regenerated, then the app removed
    code = totp_code(client.session[SECRET_SESSION_KEY])
    for url, data in [("mfa_activate_totp", {"code": code}), ("mfa_generate_recovery_codes", {}),
                      ("mfa_deactivate_totp", {})]:
        with django_capture_on_commit_callbacks(execute=True):  # allauth signals after commit
            assert client.post(reverse(url), data).status_code == 302
    # then
    assert [(e[1], e[2]) for e in _events(action__startswith="mfa")] == [
        ("mfa_added", "totp"),
        ("mfa_added", "recovery_codes"),
        ("mfa_reset", "recovery_codes"),
        ("mfa_removed", "totp"),
        ("mfa_removed", "recovery_codes"),
    ]
    assert {e[0] for e in _events(action__startswith="mfa")} == {derm.pk}
