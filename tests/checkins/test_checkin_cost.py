"""The check-in write stays cheap (it is the busiest POST) without changing what it decides."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from careplans.selectors import steps_due_on
from checkins.models import CheckIn, StepLog
from checkins.selectors import schedule_on, schedules_on
from checkins.services import StepAnswer, checkin_submit
from tests.checkins.conftest import steps_of
from tests.factories import backdated_revision, item_draft, plan_for

pytestmark = pytest.mark.django_db

TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")


def statements(captured: CaptureQueriesContext) -> list[str]:
    """Data statements only: whether atomic() shows up as BEGIN or SAVEPOINT depends on the
    test's own transaction, not on the code under test."""
    return [q["sql"] for q in captured.captured_queries
            if not q["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL)]


def test_schedule_matches_careplans_choice_of_revision(patient_a, derm, now):
    # given: two revisions on one day (the later number governs), a ramp-up, an every-2-days step
    today = patient_a.local_date(now)
    backdated_revision(patient_a, author=derm, number=1, effective_from=today - timedelta(days=9),
                       items=[item_draft(name="Old gel")])
    backdated_revision(patient_a, author=derm, number=2, effective_from=today - timedelta(days=5),
                       items=[item_draft(name="Cleanser", time_of_day="both", position=1)])
    backdated_revision(patient_a, author=derm, number=3, effective_from=today - timedelta(days=5),
                       items=[item_draft(name="Cleanser", time_of_day="both", position=1),
                              item_draft(name="Retinoid", position=2, ramp_every_n_days=3,
                                         ramp_days=14),
                              item_draft(name="Mask", position=3, frequency="every_n_days",
                                         every_n_days=2)])
    # then: on every day around them, both selectors pick the same revision and the same steps
    for days_ago in range(12):
        on = today - timedelta(days=days_ago)
        revision, expected = steps_due_on(patient_a, on)
        revision_id, steps = schedule_on(patient_a, on)
        assert revision_id == (revision.pk if revision else None), on
        assert [(s.item.pk, s.slot) for s in steps] == [(s.item.pk, s.slot) for s in expected]


def test_new_check_in_costs_five_statements_and_a_repeat_four(patient_a, routine, now):
    today = patient_a.local_date(now)
    with CaptureQueriesContext(connection) as first:
        checkin_submit(patient=patient_a, local_date=today, answers=None, now=now)
    with CaptureQueriesContext(connection) as again:
        checkin_submit(patient=patient_a, local_date=today, answers=None, now=now)
    # revision, items, upsert, read logs (+ insert logs the first time); no joins for ordering
    assert len(statements(first)) == 5
    assert len(statements(again)) == 4
    assert not any("accounts_user" in sql for sql in statements(first) + statements(again))
    assert StepLog.objects.filter(done=True).count() == 3
    cleanser, retinoid = steps_of(routine)
    assert set(StepLog.objects.values_list("item_id", "item_key")) == {
        (cleanser.pk, cleanser.key), (retinoid.pk, retinoid.key)
    }


def test_schedules_for_many_patients_match_one_by_one(patient_a, patient_b, routine, derm, now):
    backdated_revision(patient_b, author=derm, number=1,
                       effective_from=patient_b.local_date(now) - timedelta(days=2),
                       items=[item_draft(name="Sunscreen", time_of_day="morning")])
    days = [(p.pk, p.local_date(now) - timedelta(days=n)) for p in (patient_a, patient_b)
            for n in range(4)]
    together = schedules_on(days)
    for patient_id, on in days:
        patient = patient_a if patient_id == patient_a.pk else patient_b
        assert together[(patient_id, on)] == schedule_on(patient, on)
    assert together[(patient_b.pk, patient_b.local_date(now) - timedelta(days=3))] == (None, [])
    _, steps = together[(patient_b.pk, patient_b.local_date(now))]
    assert [(s.item.name, s.slot) for s in steps] == [("Sunscreen", "morning")]


def test_changed_answers_replace_the_logs(patient_a, routine, now):
    today = patient_a.local_date(now)
    checkin_submit(patient=patient_a, local_date=today, answers=None, now=now)
    cleanser, retinoid = steps_of(routine)
    checkin_submit(patient=patient_a, local_date=today, answers=[
        StepAnswer(cleanser.pk, "morning", True), StepAnswer(cleanser.pk, "evening", True),
        StepAnswer(retinoid.pk, "evening", False, "forgot"),
    ], now=now)
    assert CheckIn.objects.get().steps_done == 2
    assert sorted(StepLog.objects.values_list("done", "skip_reason")) == [
        (False, "forgot"), (True, ""), (True, "")
    ]


def test_one_tap_post_redirects_without_rendering_a_page(client, patient_a, routine, now):
    client.force_login(patient_a.user)
    response = client.post(reverse("today"), {"all_done": "1",
                                              "local_date": patient_a.local_date(now).isoformat()})
    assert response.status_code == 302
    assert response.templates == []


def test_a_re_save_after_a_same_day_revision_costs_what_a_repeat_costs(patient_a, derm, routine,
                                                                       now):
    # given: checked in, then a revision today that keeps one step and drops the other
    today = patient_a.local_date(now)
    checkin_submit(patient=patient_a, local_date=today, answers=None, now=now)
    cleanser, _retinoid = steps_of(routine)
    plan_for(patient_a, author=derm, base_number=1, items=[item_draft(
        key=cleanser.key, name=cleanser.name, time_of_day="both", kind="skincare")])
    # when: "I did everything" again
    with CaptureQueriesContext(connection) as again:
        checkin_submit(patient=patient_a, local_date=today, answers=None, now=now)
    # then: revision, items, upsert, read logs; nothing rewritten (the answers are the same),
    # and one update that counts the dropped step's kept answer into the day
    assert len(statements(again)) == 5
    assert (CheckIn.objects.get().steps_done, CheckIn.objects.get().steps_due) == (3, 3)
