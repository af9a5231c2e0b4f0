"""The sweep shared across worker processes: the task publishes one chunk task per chunk (ids,
dates and the sweep's instant only), and the chunk tasks together do what the in-process sweep
does, each idempotent."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
import time_machine
from django.db import OperationalError, transaction

from flags import sweep, tasks
from flags.models import Flag, FlagEvent
from tests.factories import ClinicFactory, DermatologistFactory
from tests.flags.conftest import NOW, make_patient
from tests.flags.test_sweep import dropping, falling

pytestmark = pytest.mark.django_db

# At NOW, London's and Los Angeles' yesterday is 10 March, Auckland's 11 March.
ZONES = ["Europe/London", "Pacific/Auckland", "America/Los_Angeles"]


def cohort(derm, count: int) -> list:
    """Patients in three zones, most with findings."""
    patients = []
    for n in range(count):
        patient = make_patient(derm, zone=ZONES[n % 3])
        if n % 4 == 1:
            falling(patient)
        elif n % 4:
            dropping(patient, recent_done=n % 3)
        patients.append(patient)
    return patients


def published_chunks(monkeypatch, django_capture_on_commit_callbacks,
                     **task_kwargs) -> tuple[dict, list[tuple]]:
    """Run the sweep task as a worker runs it (not eagerly) and return its counts and the
    arguments of every chunk task it published once its transaction committed."""
    published: list[tuple] = []
    monkeypatch.setattr(tasks.flags_sweep_chunk, "apply_async",
                        lambda args, **options: published.append(tuple(args)))
    with time_machine.travel(NOW, tick=False), \
            django_capture_on_commit_callbacks(execute=True) as callbacks:
        counts = tasks.flags_sweep(**task_kwargs)
    assert len(callbacks) == 1  # published on commit, not before
    return counts, published


def flag_rows() -> list[tuple]:
    return list(Flag.objects.order_by("patient_id", "rule").values_list(
        "patient_id", "rule", "severity", "evidence", "evidence_at", "opened_at", "state"))


def in_process_flags(**kwargs) -> list[tuple]:
    """The flags the in-process sweep opens, rolled back afterwards."""
    with transaction.atomic():
        sweep.sweep(now=NOW, **kwargs)
        rows = flag_rows()
        transaction.set_rollback(True)
    return rows


def test_the_sweep_task_publishes_one_chunk_task_per_chunk_with_ids_only(
        derm, settings, monkeypatch, django_capture_on_commit_callbacks):
    # given: 10 patients in two local yesterdays, chunks of 2
    patients = cohort(derm, 10)
    settings.FLAGS_SWEEP_CHUNK_SIZE = 2
    clinic_id = derm.membership.clinic_id
    chunks = list(sweep.patient_chunks(clinic_id, now=NOW, chunk_size=2))
    # when
    counts, published = published_chunks(monkeypatch, django_capture_on_commit_callbacks,
                                         clinic_ids=[clinic_id])
    # then: one task per chunk, the same chunks as the in-process sweep, nothing applied yet
    assert len(published) == len(chunks) == 6  # 7 and 3 patients per date
    assert [(a[0], date.fromisoformat(a[1]), a[2], a[3]) for a in published] == [
        (c.clinic_id, c.as_of, min(c.patient_ids), max(c.patient_ids)) for c in chunks]
    assert {a[4] for a in published} == {NOW.isoformat()}  # one instant for the whole night
    assert counts == {"clinics": 1, "chunks": 6, "patients": 10, "skipped": 0}
    assert not Flag.objects.exists()
    # ids, ISO dates and the instant only: no name, email, zone or health data
    text = json.dumps(published)
    for patient in patients:
        assert patient.user.email not in text
        assert patient.timezone not in text
    assert all(type(a[0]) is type(a[2]) is type(a[3]) is int for a in published)
    assert all(datetime.fromisoformat(a[4]) == NOW for a in published)


def test_running_the_chunk_tasks_gives_the_same_flags_as_the_in_process_sweep(
        derm, settings, monkeypatch, django_capture_on_commit_callbacks):
    # given: patients in two clinics, small chunks
    cohort(derm, 9)
    cohort(DermatologistFactory(membership=ClinicFactory()), 5)
    settings.FLAGS_SWEEP_CHUNK_SIZE = 2
    expected = in_process_flags(chunk_size=2)
    clinics = sweep.clinics_with_patients()
    _, published = published_chunks(monkeypatch, django_capture_on_commit_callbacks,
                                     clinic_ids=clinics)
    monkeypatch.undo()
    # when: each chunk task runs (as a worker would, here eagerly), in reverse order
    results = [tasks.flags_sweep_chunk.apply(args=args).get() for args in reversed(published)]
    # then: the same flags, one opened event each
    assert len(expected) > 10
    assert flag_rows() == expected
    assert FlagEvent.objects.count() == len(expected)
    assert sum(r["patients"] for r in results) == 14
    assert sum(r["opened"] for r in results) == len(expected)


def test_a_chunk_task_run_twice_opens_nothing_new(
        derm, monkeypatch, django_capture_on_commit_callbacks):
    # given: one chunk's task has run
    cohort(derm, 4)
    _, published = published_chunks(monkeypatch, django_capture_on_commit_callbacks,
                                     clinic_ids=[derm.membership.clinic_id])
    monkeypatch.undo()
    first = [tasks.flags_sweep_chunk.apply(args=args).get() for args in published]
    flags, events = flag_rows(), FlagEvent.objects.count()
    # when: it runs again (a redelivered message, a retry, a second worker)
    again = [tasks.flags_sweep_chunk.apply(args=args).get() for args in published]
    # then
    assert sum(r["opened"] for r in first) == len(flags) > 0
    assert [(r["opened"], r["updated"]) for r in again] == [(0, 0)] * len(published)
    assert (flag_rows(), FlagEvent.objects.count()) == (flags, events)


def test_a_chunk_range_takes_only_its_own_patients(derm):
    # given: 18 patients; the range from the 7th to the 10th, on London's yesterday
    patients = cohort(derm, 18)
    first, last = patients[6].pk, patients[9].pk
    part = sweep.ChunkRange(derm.membership.clinic_id, date(2026, 3, 10), first, last)
    # when
    result = sweep.sweep_range(part, now=NOW)
    # then: the London and Los Angeles patients in the range (Auckland's is another date)
    assert result.patients == 3
    flagged = set(Flag.objects.values_list("patient_id", flat=True))
    assert flagged
    assert flagged <= {patients[6].pk, patients[8].pk, patients[9].pk}


def test_a_database_error_retries_the_chunk_and_nothing_else_does(derm, monkeypatch):
    # given: the chunk's database work fails
    args = (derm.membership.clinic_id, "2026-03-10", 1, 2, NOW.isoformat())
    retried = []
    monkeypatch.setattr(tasks.flags_sweep_chunk, "retry",
                        lambda exc, countdown: retried.append(countdown) or RuntimeError("retry"))

    def failing(error):
        def run(part, now):
            raise error
        return run

    # when / then: a database error is retried with backoff
    monkeypatch.setattr(tasks, "sweep_range", failing(OperationalError("server closed")))
    with pytest.raises(RuntimeError, match="retry"):
        tasks.flags_sweep_chunk.run(*args)
    assert retried == [30]
    # when / then: anything else is a bug: it fails the task, no retry
    monkeypatch.setattr(tasks, "sweep_range", failing(ValueError("bug")))
    with pytest.raises(ValueError, match="bug"):
        tasks.flags_sweep_chunk.run(*args)
    assert retried == [30]


def test_the_eager_task_sweeps_in_process(derm):
    # given
    cohort(derm, 4)
    expected = in_process_flags()
    # when: applied eagerly (a shell, the tests), as manage.py sweep_flags runs it
    with time_machine.travel(NOW, tick=False):
        counts = tasks.flags_sweep.apply(kwargs={"clinic_ids": [derm.membership.clinic_id]}).get()
    # then
    assert counts["opened"] == len(expected) > 0
    assert flag_rows() == expected
