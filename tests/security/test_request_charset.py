"""A form POST whose body declares a charset other than UTF-8 is a 400, never a 500 (issue 13,
point 4). Django refuses such a body, and its own 400 handler used to read it again and fail."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def form_post(client: Client, url: str, fields: dict[str, str], charset: str):
    return client.post(url, urlencode(fields),
                       content_type=f"application/x-www-form-urlencoded; charset={charset}")


@pytest.mark.parametrize("charset", ["latin-1", "ISO-8859-1", "utf8", "utf-16"])
def test_a_form_post_in_another_charset_is_a_400_without_an_error_log(caplog, patient_a,
                                                                      charset):
    # given: a real browser session with its CSRF token, on the sign-in form
    client = Client(enforce_csrf_checks=True)
    token = TOKEN.search(client.get(reverse("account_login")).content.decode()).group(1)
    fields = {"csrfmiddlewaretoken": token, "login": patient_a.user.email, "password": PASSWORD}
    # when
    with caplog.at_level(logging.INFO):
        signed_in = form_post(client, reverse("account_login"), fields, charset)
        tokenless = form_post(client, reverse("account_login"), {"login": "x"}, charset)
    # then
    assert (signed_in.status_code, tokenless.status_code) == (400, 400)
    assert b"Request not understood" in signed_in.content
    assert "_auth_user_id" not in client.session
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_signed_in_csrf_protected_post_in_latin_1_is_a_400(caplog, patient_a):
    # given
    client = Client(enforce_csrf_checks=True)
    client.force_login(patient_a.user)
    token = TOKEN.search(client.get(reverse("my_profile")).content.decode()).group(1)
    # when
    with caplog.at_level(logging.INFO):
        response = form_post(client, reverse("my_profile"),
                             {"csrfmiddlewaretoken": token, "goal": "x"}, "latin-1")
    # then
    assert response.status_code == 400
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8"])
def test_a_utf_8_form_post_is_read_as_before(client, patient_a, charset):
    # given
    client.force_login(patient_a.user)
    # when
    response = form_post(client, reverse("account_login"),
                         {"login": patient_a.user.email, "password": PASSWORD}, charset)
    # then
    assert response.status_code != 400
