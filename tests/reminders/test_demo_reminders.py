"""The demo shows reminders within minutes: seed_demo moves a few reminders to just after now."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from reminders import services
from reminders.models import ReminderSettings

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("started", [
    datetime(2027, 3, 10, 6, 0, tzinfo=UTC),
    # 23:58 in Sydney (UTC+11): its patients' midnight falls within the couple of minutes
    datetime(2026, 12, 7, 12, 58, tzinfo=UTC),
])
def test_seed_demo_makes_a_few_reminders_due_in_a_couple_of_minutes(started):
    # given: the clock at a fixed instant, running on through the seeding
    out = StringIO()
    with time_machine.travel(started, tick=True):
        call_command("seed_demo", patients=6, days=0, stdout=out)
        _then_due_in_a_couple_of_minutes(out)


def _then_due_in_a_couple_of_minutes(out: StringIO) -> None:
    soon = set(ReminderSettings.objects.values_list("patient_id", flat=True))
    # then: not yet due now, all due three minutes later, the demo patient among them
    assert 1 <= len(soon) <= 4
    assert soon.isdisjoint(pk for pk, _ in services.due_patients(timezone.now()))
    due_later = {pk for pk, _ in services.due_patients(timezone.now() + timedelta(minutes=3))}
    assert soon <= due_later
    assert ReminderSettings.objects.filter(patient__user__email="patient@demo.test").exists()
    assert "due in about 2 minutes" in out.getvalue()
