"""Session lifetime: 30 minutes idle for clinicians and staff, 60 for patients, 12 hours in all;
a new session key at login; signing out and changing the password end the user's other sessions."""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, totp_code
from tests.security.conftest import sign_in, signed_in_user_id

pytestmark = pytest.mark.django_db

LOGIN = reverse("account_login")


def _is_signed_out(response) -> bool:
    return response.status_code == 302 and response.url.startswith(LOGIN)


@pytest.mark.parametrize("who", ["derm", "staff"])
def test_clinician_session_ends_after_30_idle_minutes(client, clock, request, who):
    # given
    client.force_login(request.getfixturevalue(who))
    clock.advance(minutes=29)
    assert client.get(reverse("my_patients")).status_code == 200
    # when
    clock.advance(minutes=30, seconds=30)
    response = client.get(reverse("my_patients"))
    # then
    assert _is_signed_out(response)
    assert response.url == f"{LOGIN}?next={reverse('my_patients')}"
    assert signed_in_user_id(client) is None


def test_patient_session_lasts_60_idle_minutes(client, clock, patient_a):
    # given
    client.force_login(patient_a.user)
    clock.advance(minutes=45)
    assert client.get(reverse("today")).status_code == 200
    clock.advance(minutes=59)
    assert client.get(reverse("today")).status_code == 200
    # when
    clock.advance(minutes=60, seconds=30)
    response = client.get(reverse("today"))
    # then
    assert _is_signed_out(response)
    assert signed_in_user_id(client) is None


def test_session_ends_12_hours_after_sign_in_however_active(client, clock, derm):
    # given: a request every 25 minutes since signing in
    client.force_login(derm)
    for _ in range(28):  # 11 h 40 min
        clock.advance(minutes=25)
        assert client.get(reverse("my_patients")).status_code == 200
    clock.advance(minutes=19)
    assert client.get(reverse("my_patients")).status_code == 200  # 11 h 59 min
    # when
    clock.advance(minutes=2)
    response = client.get(reverse("my_patients"))
    # then
    assert _is_signed_out(response)


def test_an_expired_session_leaves_the_users_other_sessions_alone(clock, patient_a):
    # given: a laptop left idle and a phone in use
    laptop, phone = Client(), Client()
    laptop.force_login(patient_a.user)
    phone.force_login(patient_a.user)
    # when
    for _ in range(4):
        clock.advance(minutes=20)
        assert phone.get(reverse("today")).status_code == 200
    # then
    assert _is_signed_out(laptop.get(reverse("today")))
    assert phone.get(reverse("today")).status_code == 200


def test_htmx_request_of_an_expired_session_navigates_to_the_login_page(client, clock, derm):
    # given
    client.force_login(derm)
    clock.advance(minutes=31)
    # when
    response = client.get(reverse("my_patients"), headers={"HX-Request": "true"})
    # then
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(LOGIN)


def test_session_key_changes_at_login(client, patient_a):
    # given: an anonymous session
    session = client.session
    session["visited"] = True
    session.save()
    before = client.cookies["sessionid"].value
    # when
    sign_in(client, patient_a.user.email)
    # then
    after = client.cookies["sessionid"].value
    assert after != before
    assert signed_in_user_id(client) == str(patient_a.user.pk)
    assert not SessionStore().exists(before)


def test_session_key_changes_again_when_the_code_step_completes(client, derm):
    # given: the password step passed, the code step not yet
    client.post(LOGIN, {"login": derm.email, "password": PASSWORD})
    before = client.cookies["sessionid"].value
    # when
    sign_in_response = client.post(reverse("mfa_authenticate"), {"code": totp_code()})
    # then
    assert sign_in_response.status_code == 302
    assert client.cookies["sessionid"].value != before
    assert not SessionStore().exists(before)


def test_signing_out_ends_the_users_other_sessions(patient_a, patient_b):
    # given: the patient on a laptop and a phone, and another patient elsewhere
    laptop, phone, other = Client(), Client(), Client()
    for browser in (laptop, phone):
        browser.force_login(patient_a.user)
    other.force_login(patient_b.user)
    # when
    laptop.post(reverse("account_logout"))
    # then
    assert _is_signed_out(phone.get(reverse("today")))
    assert _is_signed_out(laptop.get(reverse("today")))
    assert other.get(reverse("today")).status_code == 200
    # and signing in again works
    sign_in(phone, patient_a.user.email)
    assert phone.get(reverse("today")).status_code == 200


def test_password_change_keeps_this_session_and_ends_the_others(patient_a):
    # given
    laptop, phone = Client(), Client()
    for browser in (laptop, phone):
        browser.force_login(patient_a.user)
    new_password = "a-new-long-passphrase-42"
    # when
    response = laptop.post(reverse("account_change_password"), {
        "oldpassword": PASSWORD, "password1": new_password, "password2": new_password,
    })
    # then
    assert response.status_code == 302
    assert laptop.get(reverse("today")).status_code == 200
    assert _is_signed_out(phone.get(reverse("today")))
