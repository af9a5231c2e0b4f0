"""Two-step verification: required for dermatologists, staff and clinic administrators, optional
for patients; the authenticator-app step and recovery codes work through the real login form."""

from datetime import UTC, datetime

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, TOTP
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.mfa_forms import CODE_JUST_USED
from tests.accounts.test_access import PATIENT_ID_URL_NAMES, patient_url
from tests.factories import (
    PASSWORD,
    ClinicAdminFactory,
    DermatologistFactory,
    StaffFactory,
    totp_code,
)
from tests.security.conftest import (
    code_step,
    form_errors,
    password_step,
    sign_in,
    signed_in_user_id,
)

pytestmark = pytest.mark.django_db

ACTIVATE = reverse("mfa_activate_totp")
CLINIC_PAGES = ["my_patients", "flagged_patients", "patient_invite"]


@pytest.fixture
def unenrolled_derm(clinic):
    return DermatologistFactory(membership=clinic, mfa=False)


@pytest.fixture
def unenrolled_staff(clinic):
    return StaffFactory(membership=clinic, mfa=False)


@pytest.fixture
def unenrolled_admin(clinic):
    return ClinicAdminFactory(membership=clinic, mfa=False)


def _clinic_urls(patient_id: int) -> list[str]:
    return [reverse(name) for name in CLINIC_PAGES] + [
        patient_url(name, patient_id) for name in PATIENT_ID_URL_NAMES
    ]


@pytest.mark.parametrize("who", ["unenrolled_derm", "unenrolled_staff"])
def test_clinician_without_authenticator_reaches_no_clinic_page(client, request, patient_a, who):
    # given
    client.force_login(request.getfixturevalue(who))
    # when
    responses = {url: client.get(url) for url in _clinic_urls(patient_a.pk)}
    # then
    assert {url: (r.status_code, r.get("Location")) for url, r in responses.items()} == {
        url: (302, ACTIVATE) for url in responses
    }


def test_clinic_administrator_without_authenticator_reaches_no_admin_page(client,
                                                                          unenrolled_admin):
    # given
    client.force_login(unenrolled_admin)
    # when
    responses = [client.get(reverse(name)) for name in ("admin:index", "admin:accounts_patient_"
                                                        "changelist")]
    # then
    assert [(r.status_code, r["Location"]) for r in responses] == [(302, ACTIVATE)] * 2


def test_clinician_without_authenticator_may_still_enrol_and_sign_out(client, unenrolled_derm):
    # given
    client.force_login(unenrolled_derm)
    # when
    index = client.get(reverse("mfa_index"))
    activate = client.get(ACTIVATE, follow=True)
    logout = client.post(reverse("account_logout"))
    # then
    assert index.status_code == 200
    assert activate.status_code == 200  # the set-up page, or the password check before it
    assert logout.status_code == 302
    assert signed_in_user_id(client) is None


def test_clinician_enrols_through_the_pages_and_then_reaches_the_clinic(client, unenrolled_derm):
    # given: signed in with the password only, sent to the set-up page, which (allauth) first
    # asks for the password again
    sign_in(client, unenrolled_derm.email)
    assert client.get(reverse("my_patients")).url == ACTIVATE
    reauthenticate = client.get(ACTIVATE).url
    assert reauthenticate.startswith(reverse("account_reauthenticate"))
    assert client.post(reauthenticate, {"password": PASSWORD}).url == ACTIVATE
    # when: the code from the app, generated from the secret the page showed
    assert client.get(ACTIVATE).status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    wrong = client.post(ACTIVATE, {"code": "000000" if totp_code(secret) != "000000" else "1"})
    enrolled_after_wrong = Authenticator.objects.filter(user=unenrolled_derm).exists()
    right = client.post(ACTIVATE, {"code": totp_code(secret)})
    # then
    assert wrong.status_code == 200
    assert not enrolled_after_wrong
    assert right.url == reverse("mfa_view_recovery_codes")
    assert client.get(right.url).status_code == 200
    assert client.get(reverse("my_patients")).status_code == 200


def test_enrolled_clinicians_reach_their_pages(client, derm, staff, patient_a):
    for clinician in (derm, staff):
        client.force_login(clinician)
        response = client.get(reverse("patient_detail", kwargs={"patient_id": patient_a.pk}))
        assert response.status_code == 200


def test_patient_needs_no_authenticator_and_is_offered_one(client, patient_a):
    # given
    client.force_login(patient_a.user)
    # when
    today = client.get(reverse("today"))
    index = client.get(reverse("mfa_index"))
    # then
    assert today.status_code == 200
    assert f'href="{reverse("mfa_index")}"' in today.content.decode()
    assert "Two-step verification" in today.content.decode()
    assert index.status_code == 200


def test_the_mfa_rule_costs_a_patient_no_query(settings, patient_a):
    # given: two browsers, one with the rule and one without
    def queries_for_today(middleware: list[str]) -> int:
        settings.MIDDLEWARE = middleware
        client = Client()
        client.force_login(patient_a.user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("today")).status_code == 200
        return len(queries.captured_queries)

    with_rule = list(settings.MIDDLEWARE)
    without_rule = [m for m in with_rule if not m.endswith("MFARequiredMiddleware")]
    assert without_rule != with_rule
    # when / then
    assert queries_for_today(with_rule) == queries_for_today(without_rule)


def test_login_asks_for_the_code_and_refuses_a_wrong_one(client, derm):
    # given
    first = password_step(client, derm.email)
    assert first.url == reverse("mfa_authenticate")
    assert signed_in_user_id(client) is None
    # when
    wrong = code_step(client, "123456" if totp_code() != "123456" else "654321")
    # then
    assert wrong.status_code == 200
    assert form_errors(wrong) == ["Incorrect code."]
    assert signed_in_user_id(client) is None
    # and the right code signs in
    right = code_step(client, totp_code())
    assert right.status_code == 302
    assert signed_in_user_id(client) == str(derm.pk)


# Ten seconds into a 30-second code period: the code stays the same for the whole test.
MID_CODE_PERIOD = datetime(2026, 6, 1, 9, 0, 10, tzinfo=UTC)


@time_machine.travel(MID_CODE_PERIOD, tick=False)
def test_a_code_used_again_inside_its_window_says_to_wait_for_the_next_one(client, derm):
    # given: signed in with the app's current code, then signed out
    sign_in(client, derm.email, mfa=True)
    client.post(reverse("account_logout"))
    password_step(client, derm.email)
    # when: the same code, still on the app's screen
    again = code_step(client, totp_code())
    wrong = code_step(client, "123456" if totp_code() != "123456" else "654321")
    # then
    assert again.status_code == 200
    assert form_errors(again) == [CODE_JUST_USED]
    assert CODE_JUST_USED in again.content.decode()
    assert signed_in_user_id(client) is None
    assert form_errors(wrong) == ["Incorrect code."]


@time_machine.travel(MID_CODE_PERIOD, tick=False)
def test_another_accounts_used_code_is_just_incorrect(client, derm, clinic):
    # given: a colleague with another secret used their code
    colleague = DermatologistFactory(membership=clinic, mfa=False)
    TOTP.activate(colleague, "KRSXG5CTMVRXEZLU")
    sign_in(client, colleague.email)
    code_step(client, totp_code("KRSXG5CTMVRXEZLU"))
    client.post(reverse("account_logout"))
    # when: that code is typed for the dermatologist
    password_step(client, derm.email)
    response = code_step(client, totp_code("KRSXG5CTMVRXEZLU"))
    # then
    assert form_errors(response) == ["Incorrect code."]


def test_recovery_code_signs_in_once(client, derm):
    # given
    codes = RecoveryCodes.activate(derm).get_unused_codes()
    # when: signing in with a recovery code instead of the app
    password_step(client, derm.email)
    first = code_step(client, codes[0])
    # then
    assert first.status_code == 302
    assert signed_in_user_id(client) == str(derm.pk)
    # and the same code does not work a second time
    client.post(reverse("account_logout"))
    password_step(client, derm.email)
    again = code_step(client, codes[0])
    assert again.status_code == 200
    assert form_errors(again) == ["Incorrect code."]
    assert signed_in_user_id(client) is None


def test_demo_clinicians_are_enrolled_with_the_published_secret(now):
    # given
    from demo.seed import ADMIN_EMAIL, DEMO_TOTP_SECRET, seed_demo

    # when
    seed_demo(patients=0, days=0, now=now)
    # then
    for email in ("derm@demo.test", "staff@demo.test", ADMIN_EMAIL):
        totp = Authenticator.objects.get(user__email=email, type="totp").wrap()
        assert isinstance(totp, TOTP)
        assert totp.validate_code(totp_code(DEMO_TOTP_SECRET)), email
    assert DEMO_TOTP_SECRET == "JBSWY3DPEHPK3PXP"
