"""Adherence against hand-computed examples, incl. a plan revision mid-window and a ramp-up."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checkins.adherence import (
    item_adherence,
    rolling_adherence,
    window_adherence,
    window_adherence_by_patient,
)
from tests.checkins.test_charts import log_day
from tests.factories import backdated_revision, item_draft

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(patient_a, derm, now):
    """Revision 1 (20 days ago): cleanser AM+PM and a retinoid ramping alternate nights for 14
    days. Revision 2 (5 days ago) drops the cleanser's evening use to mornings only."""
    today = patient_a.local_date(now)
    first = backdated_revision(patient_a, author=derm, number=1,
                               effective_from=today - timedelta(days=20), items=[
        item_draft(name="Cleanser", kind="skincare", time_of_day="both"),
        item_draft(name="Retinoid", position=2, ramp_every_n_days=2, ramp_days=14),
    ])
    cleanser = first.items.get(name="Cleanser")
    retinoid = first.items.get(name="Retinoid")
    backdated_revision(patient_a, author=derm, number=2,
                       effective_from=today - timedelta(days=5), items=[
        item_draft(key=cleanser.key, name="Cleanser", kind="skincare", time_of_day="morning",
                   starts_on=today - timedelta(days=20)),
        item_draft(key=retinoid.key, name="Retinoid", position=2, ramp_every_n_days=2,
                   ramp_days=14, starts_on=today - timedelta(days=20)),
    ])
    return today


def test_window_counts_logged_days_only_across_a_revision_and_a_ramp(patient_a, history):
    today = history
    # day -7 is ramp day 13 (odd): no retinoid. Day -6 is day 14: ramp over, retinoid nightly.
    # day -6 (rev 1): cleanser x2 + retinoid = 3 due; retinoid skipped -> 2/3
    log_day(patient_a, today - timedelta(days=6), skipped={"Retinoid"})
    # day -8 (rev 1, ramp day 12, even -> retinoid due): 3 due, all done -> 3/3
    log_day(patient_a, today - timedelta(days=8))
    # day -9 (rev 1, ramp day 11, odd -> no retinoid): 2 due, all done -> 2/2
    log_day(patient_a, today - timedelta(days=9))
    # day -2 (rev 2): cleanser morning + retinoid = 2 due; cleanser skipped -> 1/2
    log_day(patient_a, today - timedelta(days=2), skipped={"Cleanser"})
    window = window_adherence(patient_a, today - timedelta(days=9), today)
    assert (window.steps_done, window.steps_due) == (2 + 3 + 2 + 1, 3 + 3 + 2 + 2)
    assert window.rate == pytest.approx(0.8)
    assert (window.logged_days, window.days, window.not_logged_days) == (4, 10, 6)


def test_no_check_ins_is_no_rate_not_zero(patient_a, history):
    window = window_adherence(patient_a, history - timedelta(days=6), history)
    assert window.rate is None
    assert window.not_logged_days == 7


def test_days_before_the_plan_are_not_counted_as_not_logged(patient_a, history):
    window = window_adherence(patient_a, history - timedelta(days=40), history)
    assert window.days == 21


def test_set_based_form_matches_per_patient_form(patient_a, patient_b, history, derm):
    log_day(patient_a, history - timedelta(days=3), skipped={"Cleanser"})
    log_day(patient_a, history - timedelta(days=4))
    start, end = history - timedelta(days=13), history
    with CaptureQueriesContext(connection) as queries:
        both = window_adherence_by_patient([patient_a.pk, patient_b.pk], start, end)
    assert len(queries) == 2
    assert both[patient_a.pk] == window_adherence(patient_a, start, end)
    assert both[patient_b.pk].logged_days == 0


def test_rolling_matches_the_window_definition_every_day(patient_a, history):
    for days_ago in (1, 2, 4, 9, 10, 15):
        log_day(patient_a, history - timedelta(days=days_ago),
                skipped={"Retinoid"} if days_ago % 2 else set())
    start = history - timedelta(days=18)
    rolling = rolling_adherence(patient_a, start, history)
    assert len(rolling) == 19
    for window in rolling:
        assert window == window_adherence(patient_a, window.start, window.end)


def test_item_adherence_names_the_most_skipped_step_and_reason(patient_a, history):
    log_day(patient_a, history - timedelta(days=8), skipped={"Retinoid"}, reason="side_effects")
    log_day(patient_a, history - timedelta(days=10), skipped={"Retinoid"}, reason="side_effects")
    log_day(patient_a, history - timedelta(days=2), skipped={"Retinoid"}, reason="forgot")
    worst, *_ = item_adherence(patient_a, history - timedelta(days=20), history)
    assert (worst.name, worst.due, worst.done, worst.top_skip_reason) == (
        "Retinoid", 3, 0, "side_effects"
    )


def test_history_page_query_count_does_not_grow_with_history(client, patient_a, history):
    client.force_login(patient_a.user)
    log_day(patient_a, history - timedelta(days=1))
    with CaptureQueriesContext(connection) as short:
        client.get(reverse("checkin_history"))
    for days_ago in range(2, 20):
        log_day(patient_a, history - timedelta(days=days_ago))
    with CaptureQueriesContext(connection) as long:
        client.get(reverse("checkin_history"))
    assert len(long) == len(short)
