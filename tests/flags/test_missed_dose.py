"""Missed injection: a dose whose window closed without being logged done is a finding of its
own, raised by the sweep set-based, with its own evidence rows and chart."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from checkins.models import StepLog
from checkins.services import checkin_submit
from flags import sweep
from flags.evidence_text import evidence_rows
from flags.models import Flag, Resolution, Rule, Severity
from flags.services import flag_resolve
from tests.flags.conftest import NOW, ago, on_injections, only

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def test_a_window_closed_without_the_dose_is_a_missed_injection(derm, evaluate):
    # given: due Wed 4 Mar, counted until Sat 7 Mar, never logged
    patient = on_injections(derm, dose_day=ago(6), window_days=3)
    # when
    finding = only(evaluate(), Rule.MISSED_DOSE, patient)
    # then
    assert finding is not None
    assert finding.severity == Severity.MEDIUM
    assert finding.evidence["title"] == "Missed injection"
    assert finding.evidence["summary"] == (
        "Adalimumab 40 mg injection due 4 Mar was not logged by 7 Mar, the last day it counted.")
    assert finding.evidence["windows"] == [{"label": "window of the 4 Mar dose",
                                            "start": "2026-03-04", "end": "2026-03-07",
                                            "signal": "steps"}]
    # the window closed at midnight in the patient's zone
    assert finding.evidence_at == datetime(2026, 3, 8, tzinfo=LONDON)


def test_a_late_dose_logged_inside_the_window_is_no_finding(derm, evaluate):
    # given: logged done on Fri 6 Mar, two days late, still inside the window
    patient = on_injections(derm, dose_day=ago(6), window_days=3)
    checkin_submit(patient=patient, local_date=ago(4), answers=None,
                   now=datetime.combine(ago(4), time(9), LONDON))
    # then
    assert StepLog.objects.get().taken_on == ago(4)
    assert only(evaluate(), Rule.MISSED_DOSE, patient) is None


def test_a_window_still_open_is_no_finding(derm, evaluate):
    # given: due Mon 9 Mar, counted until Thu 12 Mar (after yesterday)
    patient = on_injections(derm, dose_day=ago(1), window_days=3)
    assert only(evaluate(), Rule.MISSED_DOSE, patient) is None


def test_two_missed_doses_are_high(derm, evaluate):
    patient = on_injections(derm, dose_day=ago(13), window_days=1, every_n_weeks=1)
    finding = only(evaluate(), Rule.MISSED_DOSE, patient)
    assert finding.severity == Severity.HIGH
    assert finding.evidence["numbers"]["missed_count"] == 2
    assert "2 doses missed in the last 14 days" in finding.evidence["summary"]


def test_a_missed_monthly_blood_test_is_a_low_missed_dated_task(derm, evaluate):
    patient = on_injections(derm, dose_day=ago(70), window_days=2, kind="procedure",
                            frequency="monthly", day_of_month=ago(5).day, name="Blood test")
    finding = only(evaluate(), Rule.MISSED_DOSE, patient)
    assert (finding.severity, finding.evidence["title"]) == (Severity.LOW, "Missed dated task")
    assert evidence_rows(finding.evidence)[0] == (
        "Missed dated task", "Blood test: due Thu 5 Mar 2026; still counted until Sat 7 Mar "
        "2026; not logged done")


def test_the_sweep_opens_it_once_and_a_resolved_one_only_for_a_later_miss(derm, staff):
    # given
    patient = on_injections(derm, dose_day=ago(6), window_days=3)
    sweep.sweep(now=NOW)
    flag = Flag.objects.get(rule=Rule.MISSED_DOSE)
    # when: a second sweep; then resolved, swept again the next day
    sweep.sweep(now=NOW)
    flag_resolve(flag=flag, actor=staff, resolution=Resolution.SUPPORTED,
                 note="Rang: injected on the 8th.", now=NOW + timedelta(hours=1))
    sweep.sweep(now=NOW + timedelta(days=1))
    # then: the same missed dose does not open a new flag
    assert Flag.objects.filter(rule=Rule.MISSED_DOSE).count() == 1
    # when: the next dose (4 weeks on, Wed 1 Apr, counted until Sat 4) is missed too
    sweep.sweep(now=datetime(2026, 4, 5, 12, tzinfo=UTC))
    # then
    assert Flag.objects.filter(rule=Rule.MISSED_DOSE).count() == 2
    assert patient.pk == flag.patient_id


def test_the_query_count_does_not_grow_with_patients(derm):
    # given: one patient with a missed injection, swept
    on_injections(derm, dose_day=ago(6), window_days=3)
    with CaptureQueriesContext(connection) as one:
        sweep.evaluate(now=NOW)
    # when: five more
    for _ in range(5):
        on_injections(derm, dose_day=ago(6), window_days=3)
    with CaptureQueriesContext(connection) as six:
        findings = sweep.evaluate(now=NOW)
    # then
    assert len([f for f in findings if f.rule == Rule.MISSED_DOSE]) == 6
    assert len(six.captured_queries) == len(one.captured_queries)


@pytest.mark.parametrize(("swept_at", "missed"), [
    (datetime(2027, 3, 29, 12, tzinfo=UTC), False),  # yesterday Sun 28 (the change): open
    (datetime(2027, 3, 29, 22, 30, tzinfo=UTC), False),  # 23:30 BST Mon: still open
    (datetime(2027, 3, 29, 23, 30, tzinfo=UTC), True),  # 00:30 BST Tue: Mon 29 has passed
    (datetime(2027, 3, 30, 12, tzinfo=UTC), True),
])
def test_a_clock_change_inside_the_window_shifts_no_day(derm, swept_at, missed):
    # given: due Sat 27 March 2027, counted until Mon 29 (London springs forward on the 28th)
    patient = on_injections(derm, dose_day=date(2027, 3, 27), window_days=2)
    # when
    finding = only(sweep.evaluate(now=swept_at), Rule.MISSED_DOSE, patient)
    # then
    assert (finding is not None) == missed
    if finding is not None:
        assert finding.evidence["numbers"]["doses"][0]["last_day"] == "2027-03-29"
        assert finding.evidence_at == datetime(2027, 3, 29, 23, 0, tzinfo=UTC)  # 00:00 BST
