"""The demo shows reminders within minutes: seed_demo moves a few reminders to just after now."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from reminders import services
from reminders.models import ReminderSettings

pytestmark = pytest.mark.django_db


def test_seed_demo_makes_a_few_reminders_due_in_a_couple_of_minutes():
    # given
    out = StringIO()
    call_command("seed_demo", patients=6, days=0, stdout=out)
    soon = set(ReminderSettings.objects.values_list("patient_id", flat=True))
    # then: not yet due now, all due three minutes later, the demo patient among them
    assert 1 <= len(soon) <= 4
    assert soon.isdisjoint(pk for pk, _ in services.due_patients(timezone.now()))
    due_later = {pk for pk, _ in services.due_patients(timezone.now() + timedelta(minutes=3))}
    assert soon <= due_later
    assert ReminderSettings.objects.filter(patient__user__email="patient@demo.test").exists()
    assert "due in about 2 minutes" in out.getvalue()
