"""No cookie carries a name or an email address: messages such as "Successfully signed in as
<full name>" live in the session, and still show on the next page."""

from __future__ import annotations

import base64
import binascii
import zlib
from http.cookies import SimpleCookie
from urllib.parse import unquote

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import DermatologistFactory, PatientFactory, UserFactory, totp_code
from tests.security.conftest import code_step, password_step

pytestmark = pytest.mark.django_db

FIRST, LAST = "Philippa", "Featherstonehaugh"
EMAIL = "philippa.featherstonehaugh@example.test"


def readable_forms(value: str) -> list[str]:
    """A cookie value as anyone holding the browser could read it: as sent, URL-decoded, and
    each part of a Django-signed value base64-decoded (and inflated when compressed)."""
    text = unquote(value)
    forms = [value, text]
    for part in text.split(":"):
        payload = part.removeprefix(".")
        try:
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            if part.startswith("."):
                raw = zlib.decompress(raw)
        except (binascii.Error, ValueError, zlib.error):
            continue
        forms.append(raw.decode("utf-8", "replace"))
    return forms


def personal_data_in(cookies: SimpleCookie) -> dict[str, str]:
    found = {}
    for name, morsel in cookies.items():
        for form in [name, *readable_forms(morsel.value)]:
            for needle in (FIRST, LAST, EMAIL, EMAIL.split("@")[0]):
                if needle.lower() in form.lower():
                    found[name] = needle
    return found


@pytest.fixture
def patient_user(clinic, derm):
    user = UserFactory(first_name=FIRST, last_name=LAST, email=EMAIL)
    PatientFactory(user=user, dermatologist=derm, clinic=clinic)
    return user


@pytest.fixture
def enrolled_derm(clinic):
    return DermatologistFactory(membership=clinic, first_name=FIRST, last_name=LAST, email=EMAIL)


def _sign_in_patient(client: Client) -> list:
    return [password_step(client, EMAIL)]


def _sign_in_derm(client: Client) -> list:
    return [password_step(client, EMAIL), code_step(client, totp_code())]


@pytest.mark.parametrize(("who", "steps"), [("patient_user", _sign_in_patient),
                                            ("enrolled_derm", _sign_in_derm)])
def test_sign_in_sets_no_cookie_carrying_the_users_name_or_email(client, request, who, steps):
    # given
    request.getfixturevalue(who)
    # when: every step of the sign-in, then the page it leads to
    responses = steps(client)
    assert responses[-1].status_code == 302
    next_page = client.get(responses[-1].url, follow=True)
    # then: no Set-Cookie of any response, nor the browser's jar, holds the name or the email
    for response in [*responses, next_page]:
        assert personal_data_in(response.cookies) == {}
    assert personal_data_in(client.cookies) == {}
    # and the sign-in message is still shown, once, on the next page
    assert f"Successfully signed in as {FIRST} {LAST}." in next_page.content.decode()
    again = client.get(next_page.request["PATH_INFO"])
    assert "Successfully signed in" not in again.content.decode()


def test_the_sign_out_message_survives_the_session_being_ended(client, patient_user):
    # given: messages now live in the session, which signing out flushes
    client.force_login(patient_user)
    # when
    response = client.post(reverse("account_logout"), follow=True)
    # then
    assert "You have signed out." in response.content.decode()
    assert personal_data_in(client.cookies) == {}
