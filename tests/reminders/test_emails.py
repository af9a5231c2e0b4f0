"""Plain-text emails read as written: no HTML escaping, and the patient's goal quoted once,
with its own punctuation and none added after it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail

from accounts.services import patient_invite
from reminders.models import Delivery
from reminders.services import ClaimedReminder, reminder_message
from tests.factories import ClinicFactory, DermatologistFactory

NAME = "Siobhán O'Brien"
CLINICIAN = 'Dr "Tom & Jerry\'s" Clinic'
GOAL = 'Calm skin for my sister\'s wedding & "no fuss" in June.'
STEPS = ["Tom & Jerry's cream", 'Sunscreen "SPF 50"']


def escapes_in(body: str) -> list[str]:
    return [entity for entity in ("&#x27;", "&#39;", "&amp;", "&quot;", "&lt;", "&gt;")
            if entity in body]


def _reminder(kind: str) -> ClaimedReminder:
    return ClaimedReminder(
        pk=1, patient_id=1, local_date=date(2026, 12, 4), kind=kind, channel="email",
        timezone="Europe/London", first_name=NAME, email="siobhan@example.test",
        clinician=CLINICIAN, goal=GOAL, name_steps=True,
    )


@pytest.mark.parametrize("kind", [Delivery.Kind.DAILY, Delivery.Kind.FOLLOW_UP])
def test_reminder_emails_are_not_html_escaped(kind):
    # when
    body = reminder_message(_reminder(kind), STEPS, unsubscribe_token="t").body
    # then
    assert NAME in body
    assert CLINICIAN in body
    assert all(f"  - {step}\n" in body for step in STEPS)
    assert escapes_in(body) == []


@pytest.mark.parametrize("kind", [Delivery.Kind.DAILY, Delivery.Kind.FOLLOW_UP])
@pytest.mark.parametrize("goal", [GOAL, "Clear skin by June!", "Less itching?", "Calm skin"])
def test_the_goal_is_quoted_once_without_doubled_punctuation(kind, goal):
    # given
    reminder = ClaimedReminder(**{**_reminder(kind).__dict__, "goal": goal})
    # when
    body = reminder_message(reminder, STEPS, unsubscribe_token="t").body
    # then: the goal on a line of its own, ending as the patient wrote it
    assert f"\n“{goal}”\n" in body


@pytest.mark.django_db
def test_the_invitation_is_not_html_escaped(django_capture_on_commit_callbacks):
    # given
    clinic = ClinicFactory(name="Tom & Jerry's Skin Clinic")
    derm = DermatologistFactory(membership=clinic, first_name="Aoife", last_name="O'Neill")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        patient_invite(invited_by=derm, clinic=clinic, email="siobhan@example.test",
                       first_name="Siobhán", last_name="O'Brien", timezone_name="Europe/Dublin")
    # then
    (email,) = mail.outbox
    assert "Hello Siobhán," in email.body
    assert f"{derm.display_name} at Tom & Jerry's Skin Clinic" in email.body
    assert escapes_in(email.body) == []


def test_every_plain_text_email_template_turns_escaping_off():
    # A text email rendered with HTML autoescaping shows "O&#x27;Brien" to the patient.
    root = Path(settings.BASE_DIR) / "templates"
    texts = sorted(root.glob("**/email/*.txt"))
    assert texts
    for path in texts:
        assert path.read_text().startswith("{% autoescape off %}"), path
