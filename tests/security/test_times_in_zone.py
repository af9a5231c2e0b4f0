"""Every page shows times in the zone it names: the clinic's on clinic pages, the patient's own
on patient pages (core.viewer_timezone). Each test uses one instant whose date and hour differ
between UTC and the zone: 01:30 UTC on Saturday 5 December 2026 is 20:30 on Friday the 4th in
New York (the clinic) and 22:30 on the 4th in São Paulo (the patient)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.urls import reverse

from careplans.services import concern_raise
from flags.services import flag_escalate
from messaging.services import thread_start_from_clinic
from reminders.models import ReminderSettings
from tests.clinic.test_plan_editor import ITEM, edit_url, editor_post
from tests.factories import (
    AuditEventFactory,
    FlagFactory,
    PatientFactory,
    patient_on_a_plan,
    plan_for,
)

pytestmark = pytest.mark.django_db

LATE = datetime(2026, 12, 5, 1, 30, tzinfo=UTC)
UTC_DAY, LOCAL_DAY = "5 Dec 2026", "4 Dec 2026"


@pytest.fixture(autouse=True)
def at_late():
    with time_machine.travel(LATE, tick=False):
        yield


@pytest.fixture
def new_york_clinic(clinic):
    clinic.timezone = "America/New_York"
    clinic.save(update_fields=["timezone"])
    return clinic


@pytest.fixture
def patient(new_york_clinic, derm):
    return PatientFactory(dermatologist=derm, timezone="America/Sao_Paulo")


def page(client, user, url) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _concern(patient, revision):
    return concern_raise(patient=patient, revision=revision, item=revision.items.get(),
                         category="no_time", text="Mornings are rushed")


# --- Clinic pages: the clinic's zone ---------------------------------------------------------

def test_audit_log_times_are_the_clinics(client, staff, derm, patient):
    # given: a read of the record at 01:30 UTC
    AuditEventFactory(actor=derm, patient=patient, at=LATE)
    # when
    body = page(client, staff, reverse("clinic_audit_log"))
    # then
    assert "America/New_York" in body
    assert f"{LOCAL_DAY}, 20:30:00" in body
    assert "01:30" not in body


def test_patient_page_dates_are_the_clinics(client, derm, patient):
    # given: a plan saved, a flag opened and a concern raised at 01:30 UTC
    revision = plan_for(patient, author=derm)
    FlagFactory(patient=patient)
    _concern(patient, revision)
    # when
    body = page(client, derm, reverse("patient_detail", args=[patient.pk]))
    # then
    assert f"opened {LOCAL_DAY}" in body
    assert f"saved {LOCAL_DAY}" in body
    assert f"Raised {LOCAL_DAY}" in body
    assert UTC_DAY not in body


def test_plan_history_dates_are_the_clinics(client, derm, patient):
    plan_for(patient, author=derm)
    body = page(client, derm, reverse("plan_history", args=[patient.pk]))
    assert f"Revision 1 · {LOCAL_DAY}" in body
    assert UTC_DAY not in body


def test_escalations_on_my_patients_are_dated_in_the_clinics_zone(client, derm, staff, patient):
    flag_escalate(flag=FlagFactory(patient=patient), actor=staff, note="Please call", now=LATE)
    body = page(client, derm, reverse("my_patients"))
    assert f"Escalated {LOCAL_DAY}" in body
    assert UTC_DAY not in body


def test_flag_pages_are_in_the_clinics_zone(client, staff, patient):
    # given
    flag = FlagFactory(patient=patient)
    flag_escalate(flag=flag, actor=staff, note="Please call", now=LATE)
    # when
    queue = page(client, staff, reverse("flagged_patients"))
    detail = page(client, staff, reverse("flag_detail", args=[flag.pk]))
    # then
    assert f"Opened {LOCAL_DAY}" in queue
    assert f"recorded {LOCAL_DAY}, 20:30" in detail
    assert f"Escalated {LOCAL_DAY}, 20:30" in detail
    assert UTC_DAY not in queue + detail


def test_a_stale_plan_editor_names_the_other_save_in_clinic_time(client, derm, patient):
    # given: revision 2 saved by someone else at 01:30 UTC
    plan_for(patient, author=derm)
    plan_for(patient, author=derm, base_number=1, reason="Someone else's change")
    client.force_login(derm)
    # when
    response = client.post(edit_url(patient), editor_post(patient, [ITEM], base_number=1))
    # then
    assert "saved revision 2 at 20:30" in response.content.decode()


# --- Patient pages: the patient's own zone ---------------------------------------------------

def test_who_viewed_my_record_is_in_the_patients_zone(client, derm, patient):
    # given
    AuditEventFactory(actor=derm, patient=patient, at=LATE)
    # when
    body = page(client, patient.user, reverse("access_log"))
    # then
    assert "America/Sao_Paulo" in body
    assert f"{LOCAL_DAY}, 22:30" in body
    assert "01:30" not in body


def test_my_plan_and_its_history_are_dated_in_the_patients_zone(client, derm, patient):
    # given: revision 2 and a concern, both at 01:30 UTC
    plan_for(patient, author=derm)
    revision = plan_for(patient, author=derm, base_number=1, reason="Gentler start")
    _concern(patient, revision)
    # when
    plan = page(client, patient.user, reverse("my_plan"))
    history = page(client, patient.user, reverse("my_plan_history"))
    # then
    assert f"({LOCAL_DAY}): Gentler start" in plan
    assert f"Raised {LOCAL_DAY}" in plan
    assert f"Revision 2 · {LOCAL_DAY}" in history
    assert UTC_DAY not in plan + history


def test_clinic_messages_are_dated_in_the_patients_zone(client, staff, patient):
    thread = thread_start_from_clinic(patient=patient, by=staff, now=LATE,
                                      body="How are the mornings going?")
    listing = page(client, patient.user, reverse("clinic_messages"))
    conversation = page(client, patient.user, reverse("message_thread", args=[thread.pk]))
    for body in (listing, conversation):
        assert f"{LOCAL_DAY}, " in body
        assert UTC_DAY not in body


def test_next_reminder_is_shown_in_the_patients_zone(client, derm):
    # given: a São Paulo patient reminded at 22:30, seen at 09:00 there (12:00 UTC) on the 4th
    patient = patient_on_a_plan(derm, since=LATE.date() - timedelta(days=10),
                                timezone="America/Sao_Paulo")
    ReminderSettings.objects.create(patient=patient, local_time=time(22, 30))
    # when
    with time_machine.travel(LATE - timedelta(hours=13, minutes=30), tick=False):
        body = page(client, patient.user, reverse("reminder_settings"))
    # then: 22:30 on Friday the 4th there, which is 01:30 UTC on Saturday
    assert "Next reminder: Friday 4 December, 22:30 (America/Sao_Paulo time)." in body
