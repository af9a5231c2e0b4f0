"""The portal's language: the user's choice on the Account page, else the browser's."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import PASSWORD, DermatologistFactory, PatientFactory

pytestmark = pytest.mark.django_db


def html_lang(response) -> tuple[str, str]:
    match = re.search(r'<html lang="([^"]+)" dir="([^"]+)">', response.content.decode())
    assert match, "the page has no <html lang dir>"
    return match.group(1), match.group(2)


def test_the_account_page_offers_each_language_named_in_itself(client):
    # given
    patient = PatientFactory()
    client.force_login(patient.user)
    # when
    page = client.get(reverse("account_email")).content.decode()
    # then
    assert 'action="/account/language/"' in page
    for code, name in (("en", "English"), ("es", "Español"), ("de", "Deutsch")):
        assert f'<option value="{code}" lang="{code}">{name}</option>' in page


@pytest.mark.parametrize("factory", [PatientFactory, DermatologistFactory])
def test_the_language_chosen_in_account_is_used_on_the_next_page(client, factory):
    # given: a browser asking for English
    made = factory()
    user = getattr(made, "user", made)
    client.force_login(user)
    # when
    response = client.post(reverse("language_choose"), {"language": "es"},
                           HTTP_ACCEPT_LANGUAGE="en")
    # then
    assert response.status_code == 302
    assert response.url == reverse("account_email")
    user.refresh_from_db()
    assert user.language == "es"
    following = client.get(reverse("account_email"), HTTP_ACCEPT_LANGUAGE="en")
    assert html_lang(following) == ("es", "ltr")
    assert following["Content-Language"] == "es"
    page = following.content.decode()
    assert '<option value="es" lang="es" selected>Español</option>' in page
    assert '<h2 id="language-heading">Idioma</h2>' in page


def test_a_language_not_offered_is_refused_and_nothing_changes(client):
    # given
    patient = PatientFactory(user__language="de")
    client.force_login(patient.user)
    # when
    client.post(reverse("language_choose"), {"language": "xx"})
    # then
    patient.user.refresh_from_db()
    assert patient.user.language == "de"


def test_with_no_choice_the_browser_language_applies(client):
    # given: a patient who never chose
    patient = PatientFactory()
    client.force_login(patient.user)
    # when
    response = client.get(reverse("account_email"), HTTP_ACCEPT_LANGUAGE="es")
    # then
    assert html_lang(response) == ("es", "ltr")
    assert response["Content-Language"] == "es"
    assert '<h2 id="language-heading">Idioma</h2>' in response.content.decode()


def test_the_first_visit_follows_the_browser(client):
    # given: nobody signed in
    # when
    response = client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    # then
    assert html_lang(response) == ("de", "ltr")


def test_choosing_blank_follows_the_browser_again(client):
    # given
    patient = PatientFactory(user__language="de")
    client.force_login(patient.user)
    # when
    client.post(reverse("language_choose"), {"language": ""})
    response = client.get(reverse("today"), HTTP_ACCEPT_LANGUAGE="es")
    # then
    patient.user.refresh_from_db()
    assert patient.user.language == ""
    assert html_lang(response) == ("es", "ltr")


def test_a_browser_language_the_portal_lacks_falls_back_to_english(client):
    # when
    response = client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="ja")
    # then
    assert html_lang(response) == ("en", "ltr")


def test_signing_in_greets_the_user_in_their_language(client):
    # given: a patient who chose German, on an English browser
    patient = PatientFactory(user__language="de")
    # when
    response = client.post(reverse("account_login"), {
        "login": patient.user.email, "password": PASSWORD}, follow=True,
        HTTP_ACCEPT_LANGUAGE="en")
    # then: the very first message is German, as is the page
    shown = [str(message) for message in response.context["messages"]]
    assert shown == [f"Erfolgreich als {patient.user.display_name} angemeldet."]
    assert html_lang(response) == ("de", "ltr")
