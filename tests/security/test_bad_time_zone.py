"""One clinic's bad time zone stops nothing for anyone else (issue 13, point 3).

``Clinic.timezone`` is validated like ``Patient.timezone`` (one validator, accounts/timezones.py);
a row saved before that (written here through a queryset update, which skips validation) shows
the clinic's pages in UTC with a note; and every periodic task that loops over clinics, time
zones or requests logs the one that fails (ids and the error's class only) and goes on."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import Clinic, Patient
from checkins import services as checkin_services
from checkins.tasks import attention_sweep
from flags.models import Flag, FlagSettings
from flags.tasks import flags_sweep
from reminders import services as reminder_services
from tests.factories import FlagFactory, PatientFactory, UserFactory, backdated_revision, item_draft
from tests.flags.conftest import NOW, make_patient
from tests.flags.test_sweep import dropping

pytestmark = pytest.mark.django_db

MARS = "Mars/Olympus_Mons"
NOTE = "times are shown in UTC"


def corrupt(model, pk: int) -> None:
    """A zone saved before the field was validated (or by hand in the database)."""
    model.objects.filter(pk=pk).update(timezone=MARS)


def problems(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING
            and r.name.split(".")[0] in ("core", "flags", "reminders", "checkins")]


def assert_no_patient_data(records, *patients: Patient) -> None:
    text = " ".join(r.getMessage() for r in records)
    for patient in patients:
        for detail in (patient.user.email, patient.user.first_name, patient.user.last_name):
            assert detail not in text
    assert MARS not in text  # an administrator's free text is not echoed either


# --- The validator ------------------------------------------------------------------------------

def test_a_clinic_zone_that_is_not_a_zone_is_refused(clinic):
    # given
    clinic.timezone = MARS
    # when / then
    with pytest.raises(ValidationError) as refused:
        clinic.full_clean()
    assert "timezone" in refused.value.message_dict
    clinic.timezone = "Europe/Oslo"
    clinic.full_clean()


def test_the_admin_form_refuses_a_clinic_zone_that_is_not_a_zone(clinic):
    # given: the clinic's admin form, filled in as it stands but for the zone
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    form_class = admin.site._registry[Clinic].get_form(request, clinic)
    unbound = form_class(instance=clinic)
    data = {name: unbound[name].value() for name in unbound.fields
            if unbound[name].value() is not None}
    # when
    refused = form_class({**data, "timezone": MARS}, instance=clinic)
    accepted = form_class({**data, "timezone": "Asia/Kolkata"}, instance=clinic)
    # then
    assert not refused.is_valid()
    assert "not a known IANA timezone" in str(refused.errors["timezone"])
    assert accepted.is_valid(), accepted.errors


# --- The periodic tasks -------------------------------------------------------------------------

@time_machine.travel(NOW, tick=False)
def test_the_sweep_goes_on_past_a_clinic_whose_zone_is_not_a_zone(caplog, derm, other_derm):
    # given: two clinics due at 12:00 UTC, one with a corrupted zone
    bad, good = derm.membership.clinic, other_derm.membership.clinic
    for clinic in (bad, good):
        FlagSettings.objects.create(clinic=clinic, sweep_hour=NOW.hour)
    in_bad, in_good = make_patient(derm), make_patient(other_derm)
    dropping(in_bad)
    dropping(in_good)
    corrupt(Clinic, bad.pk)
    # when
    with caplog.at_level(logging.INFO):
        counts = flags_sweep.apply().get()
    # then: both swept (the bad clinic's hour read in UTC), one line naming the clinic
    assert counts["clinics"] == 2
    assert Flag.objects.filter(patient=in_good).exists()
    assert Flag.objects.filter(patient=in_bad).exists()
    (line,) = problems(caplog)
    assert f"clinic {bad.pk} " in line.getMessage()
    assert_no_patient_data([line], in_bad, in_good)


def test_a_clinic_whose_sweep_fails_is_logged_and_the_others_are_swept(
        caplog, monkeypatch, derm, other_derm):
    # given: the first clinic's sweep fails, whatever the reason
    bad, good = derm.membership.clinic, other_derm.membership.clinic
    in_bad, in_good = make_patient(derm), make_patient(other_derm)
    dropping(in_bad)
    dropping(in_good)
    real = FlagSettings.for_clinic

    def failing(clinic_id):
        if clinic_id == bad.pk:
            raise RuntimeError(f"something about {in_bad.user.email}")
        return real(clinic_id)

    monkeypatch.setattr(FlagSettings, "for_clinic", failing)
    # when
    with caplog.at_level(logging.INFO), time_machine.travel(NOW, tick=False):
        counts = flags_sweep.apply(kwargs={"clinic_ids": [bad.pk, good.pk]}).get()
    # then
    assert counts["skipped"] == 1
    assert not Flag.objects.filter(patient=in_bad).exists()
    assert Flag.objects.filter(patient=in_good).exists()
    (line,) = problems(caplog)
    assert line.getMessage() == f"flags sweep: clinic {bad.pk} skipped (RuntimeError)"
    assert (line.levelno, line.exc_info) == (logging.ERROR, None)
    assert_no_patient_data([line], in_bad, in_good)


@time_machine.travel(NOW, tick=False)
def test_a_patient_zone_that_is_not_a_zone_leaves_out_only_those_patients(caplog, derm):
    # given: two patients of one clinic, one of them with a corrupted zone
    lost, kept = make_patient(derm), make_patient(derm)
    dropping(lost)
    dropping(kept)
    corrupt(Patient, lost.pk)
    # when
    with caplog.at_level(logging.INFO):
        flags_sweep.apply(kwargs={"clinic_ids": [derm.membership.clinic_id]}).get()
    # then
    assert Flag.objects.filter(patient=kept).exists()
    assert not Flag.objects.filter(patient=lost).exists()
    (line,) = problems(caplog)
    assert line.getMessage() == (f"flags sweep: clinic {derm.membership.clinic_id}'s patients "
                                 "in one time zone skipped (ZoneInfoNotFoundError)")
    assert_no_patient_data([line], lost, kept)


def test_reminders_go_to_every_other_time_zone(caplog, derm, now):
    # given: two patients with a plan, due at 21:00 London time; one zone corrupted
    evening = now.replace(hour=21)
    patients = [PatientFactory(dermatologist=derm, timezone=zone)
                for zone in ("Europe/London", "Europe/Dublin")]
    for patient in patients:
        backdated_revision(patient, author=derm, number=1,
                           effective_from=evening.date() - timedelta(days=10),
                           items=[item_draft(time_of_day="evening")])
    corrupt(Patient, patients[1].pk)
    # when
    with caplog.at_level(logging.INFO):
        due = reminder_services.due_patients(evening)
        reminder_services.follow_ups_due(evening)
    # then
    assert [pk for pk, _ in due] == [patients[0].pk]
    (line,) = problems(caplog)  # follow-ups are off in this clinic: one zone loop met MARS
    assert line.getMessage() == (
        "reminders dispatch: patients in one time zone skipped (ZoneInfoNotFoundError)")
    assert_no_patient_data([line], *patients)


def test_the_attention_sweep_goes_on_past_a_request_that_fails(caplog, monkeypatch):
    # given: three pending requests, the second of which fails
    offered = []

    def dispatch(*, request_id, now):
        offered.append(request_id)
        if request_id == 2:
            raise ValueError("boom")
        return True

    monkeypatch.setattr(checkin_services, "attention_pending_ids", lambda now: [1, 2, 3])
    monkeypatch.setattr(checkin_services, "attention_dispatch_one", dispatch)
    # when
    with caplog.at_level(logging.INFO):
        attention_sweep()
    # then
    assert offered == [1, 2, 3]
    (line,) = problems(caplog)
    assert line.getMessage() == "attention sweep: attention request 2 skipped (ValueError)"


# --- The pages ----------------------------------------------------------------------------------

def test_a_clinics_pages_show_utc_with_a_note_when_its_zone_is_not_a_zone(client, derm,
                                                                          patient_a):
    # given
    flag = FlagFactory(patient=patient_a)
    corrupt(Clinic, derm.membership.clinic_id)
    client.force_login(derm)
    pages = {
        "patient list": reverse("my_patients"),
        "patient page": reverse("patient_detail", kwargs={"patient_id": patient_a.pk}),
        "flag queue": reverse("flagged_patients"),
        "flag page": reverse("flag_detail", kwargs={"flag_id": flag.pk}),
        "audit log": reverse("clinic_audit_log") + "?date_from=2026-01-01&date_to=2026-12-31",
        "invite": reverse("patient_invite"),
    }
    # when
    responses = {name: client.get(url) for name, url in pages.items()}
    # then
    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(pages, 200)
    for response in responses.values():
        assert NOTE in response.content.decode()
    assert "Times are the clinic's (UTC)" in responses["audit log"].content.decode()


def test_no_note_while_the_clinic_zone_is_a_zone(client, derm):
    client.force_login(derm)
    assert NOTE not in client.get(reverse("my_patients")).content.decode()
