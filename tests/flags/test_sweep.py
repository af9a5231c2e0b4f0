"""The sweep applied: idempotent, updates open flags, reopens only on newer data, queries
that do not grow with patients, chunks, the hourly task and the command."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flags import sweep
from flags.models import Flag, FlagEvent, FlagSettings, Resolution, Rule, State
from flags.services import flag_resolve
from flags.tasks import flags_sweep
from tests.factories import ClinicFactory, DermatologistFactory
from tests.flags.conftest import NOW, ago, answer, log, log_days, make_patient, steady

pytestmark = pytest.mark.django_db


def usual_partnership(patient) -> None:
    """Weekly partnership answers around 8 in the reference weeks."""
    for n, value in zip(range(59, 14, -7), [8, 9, 8, 8, 9, 8, 8], strict=True):
        answer(patient, ago(n), value)


def dropping(patient, *, recent_done: int = 3) -> None:
    """About 90 % for eight weeks, then ``recent_done``/10 over 5 recent days, ratings falling,
    a low partnership answer: adherence, satisfaction, partnership and at risk."""
    steady(patient, range(6, 60), satisfaction=4)
    usual_partnership(patient)
    log_days(patient, range(1, 6), done=recent_done, due=10, satisfaction=2)
    answer(patient, ago(3), 2)


def test_a_second_sweep_opens_nothing_and_writes_no_history(derm):
    # given: a swept patient with four findings
    dropping(make_patient(derm))
    first = sweep.sweep(now=NOW)
    flags, events = Flag.objects.count(), FlagEvent.objects.count()
    # when
    second = sweep.sweep(now=NOW)
    # then
    assert (first.opened, first.findings) == (4, 4)
    assert first.per_rule == {Rule.ADHERENCE_DROP: 1, Rule.SATISFACTION_DROP: 1,
                              Rule.ALLIANCE_DROP: 1, Rule.ALLIANCE_AT_RISK: 1}
    assert (second.opened, second.updated, second.findings) == (0, 0, 4)
    assert (Flag.objects.count(), FlagEvent.objects.count()) == (flags, events) == (4, 4)


def test_new_evidence_updates_the_open_flag_and_keeps_the_change(derm):
    # given: an open adherence flag
    patient = make_patient(derm)
    dropping(patient)
    sweep.sweep(now=NOW)
    flag = Flag.objects.get(rule=Rule.ADHERENCE_DROP)
    # when: yesterday is logged too, at 0 %
    newest = log(patient, ago(0), done=0, due=10)
    result = sweep.sweep(now=NOW)
    # then
    flag.refresh_from_db()
    assert (result.updated, result.opened) == (2, 0)  # the adherence and at-risk flags
    assert flag.state == State.NEW
    assert newest.pk in flag.evidence["checkin_ids"]
    assert flag.evidence["numbers"]["run_steps"] == [15, 60]  # 15 of 50 steps, now of 60
    assert flag.evidence_at == newest.updated_at
    assert list(flag.events.values_list("kind", flat=True)) == [FlagEvent.Kind.OPENED,
                                                                FlagEvent.Kind.EVIDENCE]


def test_a_resolved_flag_reopens_only_on_newer_data(derm, staff):
    # given: an adherence flag on check-ins saved before the sweep, resolved an hour after it
    with time_machine.travel(NOW - timedelta(hours=1), tick=False):
        patient = make_patient(derm)
        dropping(patient)
    sweep.sweep(now=NOW)
    flag_resolve(flag=Flag.objects.get(rule=Rule.ADHERENCE_DROP), actor=staff,
                 resolution=Resolution.SUPPORTED, now=NOW + timedelta(hours=1))
    # when: swept again on the same data
    again = sweep.sweep(now=NOW + timedelta(hours=2))
    # then: nothing new
    assert again.opened == 0
    assert Flag.objects.filter(rule=Rule.ADHERENCE_DROP).count() == 1
    # when: the fall goes on for three days after the review day
    with time_machine.travel(NOW + timedelta(days=4), tick=False):
        for n in range(1, 5):
            log(patient, ago(-n), done=2, due=10)
    later = sweep.sweep(now=NOW + timedelta(days=4, hours=4))
    # then: a new flag on that new evidence, the resolved one untouched
    adherence = Flag.objects.filter(rule=Rule.ADHERENCE_DROP).order_by("pk")
    assert later.opened >= 1
    assert [flag.state for flag in adherence] == [State.RESOLVED, State.NEW]
    assert min(adherence[1].evidence["checkin_ids"]) > max(adherence[0].evidence["checkin_ids"])


def test_other_clinics_are_not_swept(derm):
    # given: patients in two clinics
    dropping(make_patient(derm))
    elsewhere = DermatologistFactory(membership=ClinicFactory())
    dropping(make_patient(elsewhere))
    # when
    result = sweep.sweep(now=NOW, clinic_ids=[derm.membership.clinic_id])
    # then
    assert result.patients == 1
    assert set(Flag.objects.values_list("clinic_id", flat=True)) == {derm.membership.clinic_id}


def falling(patient) -> None:
    """Adherence steady, ratings 4 -> 2 and a low partnership answer: two findings
    (satisfaction, partnership)."""
    steady(patient, range(3, 60), satisfaction=4)
    usual_partnership(patient)
    steady(patient, range(0, 3), satisfaction=2)
    answer(patient, ago(2), 2)


def sweep_queries(derm, patients: int) -> int:
    clinic_id = derm.membership.clinic_id
    for _ in range(patients):
        falling(make_patient(derm, zone="Pacific/Auckland"))
    # a second local date; no ratings, so ratings are also read over the whole history
    log_days(make_patient(derm, zone="America/Los_Angeles"), [5])
    with CaptureQueriesContext(connection) as queries:
        result = sweep.sweep(now=NOW, clinic_ids=[clinic_id])
    assert result.opened == 2 * patients
    return len(queries)


def test_the_sweep_query_count_does_not_grow_with_patients(derm, other_derm):
    # given / when: 3 patients in one clinic, 30 in another, the same histories
    few = sweep_queries(derm, 3)
    many = sweep_queries(other_derm, 30)
    # then (on SQLite, Django splits an INSERT of more than 999 parameters, ~70 flags)
    assert few == many


TRANSACTION = re.compile(r"(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT)\b")


def test_evaluating_a_chunk_takes_a_fixed_number_of_queries(derm):
    # given: patients with every kind of finding, in one chunk
    for _ in range(5):
        dropping(make_patient(derm))
    chunk = next(sweep.patient_chunks(derm.membership.clinic_id, now=NOW, chunk_size=100))
    # when
    with CaptureQueriesContext(connection) as queries:
        findings = sweep.evaluate_chunk(chunk, settings=FlagSettings.for_clinic(
            derm.membership.clinic_id))
    # then: the clinic's settings (read by the test's own call), the members' check-ins,
    # their resolved flags, when the check-ins behind the findings were saved, and which
    # members have a dated step (none here: missed doses read nothing more), on either database
    reads = [q for q in queries.captured_queries if not TRANSACTION.match(q["sql"])]
    assert len(findings) == 20
    assert len(reads) == 5


def test_chunks_give_the_same_findings_as_one_pass(derm):
    # given: 9 patients, some with findings
    for n in range(9):
        patient = make_patient(derm, zone=["Europe/London", "Pacific/Auckland"][n % 2])
        if n % 3:
            dropping(patient, recent_done=n % 4)
    # when
    in_chunks = sweep.evaluate(now=NOW, chunk_size=4)
    at_once = sweep.evaluate(now=NOW)
    # then
    assert in_chunks == at_once
    assert {f.rule for f in at_once} >= {Rule.ADHERENCE_DROP}
    assert sweep.sweep(now=NOW, chunk_size=4).chunks == 3


# --- When it runs --------------------------------------------------------------------------


@pytest.mark.parametrize(("utc", "zone", "hour", "due"), [
    ((2026, 1, 15, 2, 5), "Europe/London", 2, True),
    ((2026, 1, 15, 3, 5), "Europe/London", 2, False),
    ((2026, 7, 15, 1, 5), "Europe/London", 2, True),  # 02:05 BST
    # New York springs forward at 02:00 on 8 Mar 2026: there is no 02:xx; 03:05 takes it
    ((2026, 3, 8, 6, 5), "America/New_York", 2, False),  # 01:05 EST
    ((2026, 3, 8, 7, 5), "America/New_York", 2, True),  # 03:05 EDT
    ((2026, 3, 9, 7, 5), "America/New_York", 2, False),  # 03:05 EDT, a normal day
    # and falls back on 1 Nov 2026: 01:xx happens twice (both run: idempotent), 02:xx once
    ((2026, 11, 1, 5, 5), "America/New_York", 1, True),
    ((2026, 11, 1, 6, 5), "America/New_York", 1, True),
    ((2026, 11, 1, 7, 5), "America/New_York", 2, True),
    ((2026, 1, 15, 20, 35), "Asia/Kolkata", 2, True),  # 02:05 IST (+05:30)
])
def test_sweep_hour_in_the_clinic_timezone(utc, zone, hour, due):
    assert sweep.sweep_hour_now(datetime(*utc, tzinfo=UTC), ZoneInfo(zone), hour) is due


@time_machine.travel(NOW, tick=False)
def test_the_task_sweeps_the_clinics_whose_sweep_hour_it_is(derm, other_derm):
    # given: two clinics with one patient each; one sweeps at 02 London time, the other at 04
    dropping(make_patient(derm))
    dropping(make_patient(other_derm))
    FlagSettings.objects.create(clinic=other_derm.membership.clinic, sweep_hour=4)
    for member in (derm, other_derm):
        member.membership.clinic.timezone = "Europe/London"
        member.membership.clinic.save()
    # when
    due = sweep.clinics_due(datetime(2026, 1, 15, 2, 5, tzinfo=UTC))
    counts = flags_sweep.apply(kwargs={"clinic_ids": due}).get()
    # then
    assert due == [derm.membership.clinic_id]
    assert counts["clinics"] == 1
    assert counts["opened"] >= 1
    assert set(counts) == {"clinics", "patients", "findings", "opened", "updated", "skipped"}


def test_the_task_with_no_clinic_due_does_nothing(derm, monkeypatch):
    # given
    monkeypatch.setattr("flags.tasks.clinics_due", lambda now: [])
    # when / then
    assert flags_sweep.apply().get() == {"clinics": 0}


def test_beat_runs_the_sweep_every_hour():
    entry = settings.CELERY_BEAT_SCHEDULE["flags-sweep"]
    assert entry["task"] == flags_sweep.name == "flags.tasks.flags_sweep"
    assert entry["schedule"].minute == {5}
    assert len(entry["schedule"].hour) == 24


@time_machine.travel(NOW, tick=False)
def test_the_command_prints_counts_only(derm):
    # given: a fall in adherence alone (the command sweeps at the clock's now: NOW)
    patient = make_patient(derm)
    steady(patient, range(5, 60))
    log_days(patient, range(5), done=1, due=10)
    out = StringIO()
    # when
    call_command("sweep_flags", "--clinic", str(derm.membership.clinic_id), stdout=out)
    # then
    assert re.fullmatch(
        r"Swept 1 patients in 1 chunks \([\d.]+ s\)\. Findings: 1 \(adherence_drop: 1\)\. "
        r"Flags opened: 1, updated: 0\.\n", out.getvalue())


def test_the_command_refuses_an_unknown_clinic():
    with pytest.raises(CommandError):
        call_command("sweep_flags", "--clinic", "999999")
