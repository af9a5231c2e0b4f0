"""Emails go in the recipient's language, whatever language the sender's request was in."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail
from django.utils import translation

from accounts.services import patient_invite
from reminders.models import Delivery
from reminders.services import ClaimedReminder, reminder_message
from tests.factories import ClinicFactory, DermatologistFactory


def _reminder(kind: str, language: str) -> ClaimedReminder:
    return ClaimedReminder(
        pk=1, patient_id=1, local_date=date(2026, 12, 4), kind=kind, channel="email",
        timezone="Europe/Madrid", first_name="Lucía", email="lucia@example.test",
        clinician="Dra. Ruiz", goal="", name_steps=False, language=language,
    )


def test_a_daily_reminder_in_spanish():
    # when: the worker renders it (with English active)
    with translation.override("en"):
        message = reminder_message(_reminder(Delivery.Kind.DAILY, "es"), ["a", "b"],
                                   unsubscribe_token="t")
    # then
    assert message.subject == "Tu registro en Alliance Portal"
    assert message.body.startswith("Hola, Lucía:")
    assert "La rutina de hoy tiene 2 pasos por registrar." in message.body


def test_a_follow_up_in_german_names_the_day_in_german():
    # when
    message = reminder_message(_reminder(Delivery.Kind.FOLLOW_UP, "de"), ["a"],
                               unsubscribe_token="t")
    # then: 4 Dec 2026 is a Friday
    assert message.body.startswith("Guten Morgen Lucía,")
    assert "Gestern (Freitag, 4. Dezember)" in message.body


def test_no_language_chosen_gives_the_portals_default():
    # when
    with translation.override("de"):
        message = reminder_message(_reminder(Delivery.Kind.DAILY, ""), ["a"],
                                   unsubscribe_token="t")
    # then
    assert message.subject == "Your Alliance Portal check-in"


@pytest.mark.django_db
def test_an_invitation_is_not_in_the_inviters_language(django_capture_on_commit_callbacks):
    # given: a dermatologist using the portal in German
    clinic = ClinicFactory()
    derm = DermatologistFactory(membership=clinic, language="de")
    # when
    with translation.override("de"), django_capture_on_commit_callbacks(execute=True):
        patient_invite(invited_by=derm, clinic=clinic,
                       email="new@example.test", first_name="Ana", last_name="Gil",
                       timezone_name="Europe/Madrid")
    # then: the new patient has no language yet, so the portal's default
    assert mail.outbox[-1].subject == "Your Alliance Portal invitation"
    assert mail.outbox[-1].body.startswith("Hello Ana,")
