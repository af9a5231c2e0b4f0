"""The whole patient check-in on a phone in Spanish and in German, axe clean at every step:
one tap for today, a back-filled day with a skipped step and its reason, then History."""

import re
from dataclasses import dataclass

import pytest

from tests.browser.conftest import assert_no_axe_violations, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@dataclass(frozen=True)
class Words:
    language: str
    did_everything: str
    saved_today: str
    missed_a_day: str
    skipped: str
    why_skipped: str
    save: str
    two_of_three: str
    three_of_three: str
    history: str


LANGUAGES = [
    Words("es", "Lo hice todo", "Guardado para hoy: todos los pasos hechos",
          "¿Se te pasó un día?", "Omitido", "¿Por qué no hiciste Adapalene 0.1% gel?",
          "Guardar registro", "2 de 3 pasos hechos", "3 de 3 pasos hechos", "Historial"),
    Words("de", "Ich habe alles gemacht", "Für heute gespeichert: alle Schritte erledigt",
          "Einen Tag verpasst?", "Ausgelassen", "Warum wurde Adapalene 0.1% gel ausgelassen?",
          "Eintrag speichern", "2 von 3 Schritten erledigt", "3 von 3 Schritten erledigt",
          "Verlauf"),
]


@pytest.mark.parametrize("words", LANGUAGES, ids=[w.language for w in LANGUAGES])
def test_the_whole_check_in_in_the_patients_language(
    live_server, page, patient_a, routine_for_browser, words
):
    # given: the patient chose the language on the Account page
    patient_a.user.language = words.language
    patient_a.user.save(update_fields=["language"])
    log_in(page, live_server, patient_a.user.email)
    page.goto(f"{live_server.url}/today/")
    assert page.locator("html").get_attribute("lang") == words.language
    assert_no_axe_violations(page)

    # when: one tap for today
    page.get_by_role("button", name=words.did_everything).click()
    page.get_by_text(words.saved_today).wait_for()
    assert_no_axe_violations(page)

    # and yesterday, step by step, with the retinoid skipped
    page.locator("p", has_text=words.missed_a_day).get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"\?date="))
    retinoid = page.get_by_role("group", name="Adapalene 0.1% gel")
    retinoid.get_by_label(words.skipped).check()
    page.get_by_label(words.why_skipped).select_option("side_effects")
    page.get_by_role("button", name=words.save).click()
    page.get_by_text(words.two_of_three).first.wait_for()
    assert_no_axe_violations(page)

    # then: History shows both days, in the same language
    page.get_by_role("link", name=words.history).click()
    recent = page.locator(".recent-list").inner_text()
    assert words.three_of_three in recent
    assert words.two_of_three in recent
    assert page.locator("html").get_attribute("lang") == words.language
    assert_no_axe_violations(page)


def test_choosing_a_language_on_the_account_page(live_server, page, patient_a):
    # given: an English browser
    log_in(page, live_server, patient_a.user.email)
    page.goto(f"{live_server.url}/accounts/email/")
    assert_no_axe_violations(page)
    # when
    page.get_by_label("The portal's language").select_option(label="Español")
    page.get_by_role("button", name="Save language").click()
    # then: the next page, and every page after it, in Spanish
    page.get_by_text("Idioma guardado.").wait_for()
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_label("Idioma del portal").input_value() == "es"
    assert_no_axe_violations(page)
    page.get_by_role("link", name="Hoy").click()
    assert page.locator("html").get_attribute("lang") == "es"
