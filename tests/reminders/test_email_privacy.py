"""Email is not a secure channel: by default a reminder or follow-up names no medicine, no
condition and no goal. A clinic may opt in to step names (Clinic.reminder_step_names, in the
admin) and a patient to their goal (on their Reminders page)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from careplans.services import profile_update
from reminders import services
from reminders.models import ReminderSettings
from tests.factories import patient_on_a_plan

pytestmark = pytest.mark.django_db

# 21:00 UTC on Wednesday 25 Nov 2026 is past the default 20:00 reminder in London; the
# follow-up goes the next morning at the clinic's 09:00.
EVENING = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
NEXT_MORNING = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
MEDICINE = "Doxycycline 100 mg capsule"
GOAL = "Clear skin before the acne clinic review"


@pytest.fixture
def patient(derm):
    clinic = derm.membership.clinic
    clinic.reminder_follow_up = True
    clinic.save()
    patient = patient_on_a_plan(derm, since=EVENING.date() - timedelta(days=10), name=MEDICINE)
    profile_update(patient=patient, actor=derm, preferences=None,
                   data={"what_matters": GOAL, "monthly_budget": Decimal("30")})
    return patient


def sent_emails() -> list:
    """The evening reminder and the next morning's follow-up."""
    for now in (EVENING, NEXT_MORNING):
        for delivery_id in services.reminders_claim(now=now):
            assert services.reminder_send(delivery_id=delivery_id, now=now) == "sent"
    assert len(mail.outbox) == 2
    return mail.outbox


def test_by_default_no_email_names_a_step_or_quotes_the_goal(patient):
    # when
    emails = sent_emails()
    # then
    for email in emails:
        text = f"{email.subject}\n{email.body}"
        assert MEDICINE not in text
        assert "Doxycycline" not in text
        assert GOAL not in text
        assert "acne" not in text.lower()
        assert "skin" not in email.subject.lower()
    assert "1 step to log" in emails[0].body


def test_a_clinic_that_opts_in_gets_step_names(patient):
    # given
    patient.clinic.reminder_step_names = True
    patient.clinic.save()
    # when
    emails = sent_emails()
    # then
    assert all(f"  - {MEDICINE}\n" in email.body for email in emails)
    assert all(GOAL not in email.body for email in emails)


def test_a_patient_who_opts_in_gets_their_goal_quoted(patient):
    # given
    ReminderSettings.objects.create(patient=patient, include_goal=True)
    # when
    emails = sent_emails()
    # then
    assert all(f"“{GOAL}”" in email.body for email in emails)
    assert all(MEDICINE not in email.body for email in emails)


def test_the_reminders_page_explains_and_saves_the_goal_opt_in(client, patient):
    # given
    client.force_login(patient.user)
    page = client.get(reverse("reminder_settings")).content.decode()
    assert "Quote my goal in reminder emails" in page
    assert "Email is not private" in page
    assert not ReminderSettings.objects.filter(patient=patient, include_goal=True).exists()
    # when
    response = client.post(reverse("reminder_settings"), {
        "enabled": "on", "local_time": "20:00", "weekdays": list("0123456"),
        "channel": "email", "include_goal": "on"})
    # then
    assert response.status_code == 302
    assert ReminderSettings.objects.get(patient=patient).include_goal is True


def test_the_clinic_setting_is_off_by_default_and_explains_the_risk():
    # given
    from accounts.models import Clinic

    field = Clinic._meta.get_field("reminder_step_names")
    # then: off by default, with the risk spelled out where it is switched on
    assert field.default is False
    assert "not a secure channel" in field.help_text
