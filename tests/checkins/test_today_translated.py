"""The Today page in the patient's language: words, dates, form labels and choices."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_today_in_spanish_from_the_browser(client, patient_a, routine):
    # given: a patient who never chose a language, with a Spanish browser
    client.force_login(patient_a.user)
    # when
    body = client.get(reverse("today"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    # then: the portal's words, the date and the routines in Spanish (25 Nov 2026 is a Wednesday)
    assert '<html lang="es" dir="ltr">' in body
    assert "Lo hice todo" in body
    assert "miércoles 25 de noviembre" in body
    assert "Mañana" in body
    assert "Noche" in body
    assert "¿Cómo estás?" in body
    assert "I did everything" not in body


def test_today_in_german_when_chosen_in_account(client, patient_a, routine):
    # given
    patient_a.user.language = "de"
    patient_a.user.save(update_fields=["language"])
    client.force_login(patient_a.user)
    # when: the browser asks for English, the patient chose German
    body = client.get(reverse("today"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # then
    assert '<html lang="de" dir="ltr">' in body
    assert "Ich habe alles gemacht" in body
    assert "Mittwoch, 25. November" in body
    assert "Wie zufrieden sind Sie mit Ihrem Plan?" in body


def test_a_skipped_step_without_a_reason_is_explained_in_spanish(client, patient_a, routine):
    # given
    client.force_login(patient_a.user)
    cleanser = routine.items.get(name="Gentle cleanser")
    # when
    response = client.post(reverse("today"), {
        "local_date": patient_a.local_today().isoformat(),
        f"step_{cleanser.pk}_morning": "skipped", "side_effect": "none",
    }, HTTP_ACCEPT_LANGUAGE="es")
    # then
    assert "Cuéntanos por qué no hiciste Gentle cleanser." in response.content.decode()


def test_history_in_spanish(client, patient_a, routine):
    # given
    client.force_login(patient_a.user)
    client.post(reverse("today"), {"all_done": "1",
                                   "local_date": patient_a.local_today().isoformat()})
    # when
    body = client.get(reverse("checkin_history"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    # then: headings, the heatmap's day labels and summaries in Spanish
    assert "Registros, día a día" in body
    assert "mié 25 nov (hoy): 3 de 3 pasos" in body
    assert "Registrados 1 de" in body
    assert "Steps done" not in body
