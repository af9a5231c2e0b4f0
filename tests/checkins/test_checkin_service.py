"""Submitting check-ins: one per local day, validation, pulse, severe side effects."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from checkins.models import AlliancePulse, AttentionRequest, CheckIn, StepLog
from checkins.services import StepAnswer, Wellbeing, checkin_submit, pulse_due
from tests.checkins.conftest import steps_of

pytestmark = pytest.mark.django_db


def all_done(revision):
    cleanser, retinoid = steps_of(revision)
    return [StepAnswer(cleanser.pk, "morning", True), StepAnswer(cleanser.pk, "evening", True),
            StepAnswer(retinoid.pk, "evening", True)]


def test_one_tap_check_in_records_every_step_done(patient_a, routine, now):
    checkin = checkin_submit(patient=patient_a, local_date=patient_a.local_date(now),
                             answers=all_done(routine), now=now)
    assert (checkin.steps_due, checkin.steps_done) == (3, 3)
    assert checkin.revision == routine
    assert StepLog.objects.filter(checkin=checkin, done=True).count() == 3


def test_submitting_again_the_same_day_updates_the_one_row(patient_a, routine, now):
    # given
    today = patient_a.local_date(now)
    checkin_submit(patient=patient_a, local_date=today, answers=all_done(routine), now=now)
    _cleanser, retinoid = steps_of(routine)
    # when: the retinoid was skipped after all
    answers = [*all_done(routine)[:2], StepAnswer(retinoid.pk, "evening", False, "side_effects")]
    checkin_submit(patient=patient_a, local_date=today, answers=answers,
                   wellbeing=Wellbeing(satisfaction=3, itch=6), now=now)
    # then
    checkin = CheckIn.objects.get()
    assert (checkin.steps_done, checkin.satisfaction, checkin.itch) == (2, 3, 6)
    assert StepLog.objects.filter(checkin=checkin).count() == 3
    assert StepLog.objects.get(done=False).skip_reason == "side_effects"


def test_one_tap_keeps_wellbeing_already_recorded(patient_a, routine, now):
    today = patient_a.local_date(now)
    checkin_submit(patient=patient_a, local_date=today, answers=all_done(routine),
                   wellbeing=Wellbeing(satisfaction=4, note="Feeling better"), now=now)
    checkin_submit(patient=patient_a, local_date=today, answers=all_done(routine), now=now)
    assert CheckIn.objects.get().note == "Feeling better"


@pytest.mark.parametrize(("days", "ok"), [(0, True), (3, True), (4, False), (-1, False)])
def test_backfill_window_is_today_and_three_days_back(patient_a, routine, days, ok, now):
    local_date = patient_a.local_date(now) - timedelta(days=days)
    if ok:
        checkin_submit(patient=patient_a, local_date=local_date, answers=all_done(routine), now=now)
        assert CheckIn.objects.filter(local_date=local_date).exists()
    else:
        with pytest.raises(ValidationError):
            checkin_submit(patient=patient_a, local_date=local_date, answers=all_done(routine),
                           now=now)
        assert not CheckIn.objects.exists()


def test_local_date_follows_the_patients_timezone(patient_a, routine, now):
    # given: midday UTC on 25 Nov is already 26 Nov in Auckland (UTC+13)
    patient_a.timezone = "Pacific/Auckland"
    patient_a.save(update_fields=["timezone"])
    # when: the patient checks in for their today, the server's tomorrow
    checkin = checkin_submit(patient=patient_a, local_date=date(2026, 11, 26),
                             answers=all_done(routine), now=now)
    # then
    assert now.date() == date(2026, 11, 25)
    assert checkin.local_date == patient_a.local_date(now) == date(2026, 11, 26)


def test_a_step_not_due_cannot_be_marked(patient_a, routine, now):
    _cleanser, retinoid = steps_of(routine)
    answers = [*all_done(routine), StepAnswer(retinoid.pk, "morning", True)]
    with pytest.raises(ValidationError, match="only those"):
        checkin_submit(patient=patient_a, local_date=patient_a.local_date(now), answers=answers,
                       now=now)
    assert not CheckIn.objects.exists()


def test_a_step_from_another_patients_plan_is_refused(patient_a, patient_b, derm, routine, now):
    from tests.factories import plan_for

    foreign = plan_for(patient_b, author=derm).items.get()
    answers = [*all_done(routine)[:2], StepAnswer(foreign.pk, "evening", True)]
    with pytest.raises(ValidationError):
        checkin_submit(patient=patient_a, local_date=patient_a.local_date(now), answers=answers,
                       now=now)
    assert not CheckIn.objects.exists()


def test_pulse_is_stored_per_item_and_as_a_total_and_asked_every_28_days(patient_a, routine, now):
    today = patient_a.local_date(now)
    assert pulse_due(patient_a, today - timedelta(days=3))
    checkin_submit(patient=patient_a, local_date=today - timedelta(days=3),
                   answers=all_done(routine), now=now,
                   pulse={"heard": 9, "shared_goals": 8, "fits_life": 6, "safe_to_raise": 10})
    pulse = AlliancePulse.objects.get()
    assert (pulse.heard, pulse.total) == (9, 33)
    assert not pulse_due(patient_a, today)
    assert patient_a.clinic.pulse_interval_days == 28  # the default
    assert not pulse_due(patient_a, today - timedelta(days=3) + timedelta(days=27))
    assert pulse_due(patient_a, today - timedelta(days=3) + timedelta(days=28))


def test_severe_side_effect_is_recorded_for_attention_and_dispatched_after_commit(
    patient_a, routine, django_capture_on_commit_callbacks, monkeypatch, now
):
    # given
    sent = []
    from checkins import tasks

    monkeypatch.setattr(tasks.attention_dispatch, "delay", lambda pk: sent.append(pk))
    _cleanser, retinoid = steps_of(routine)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        checkin = checkin_submit(
            patient=patient_a, local_date=patient_a.local_date(now), answers=all_done(routine),
            wellbeing=Wellbeing(side_effect="severe", side_effect_item_id=retinoid.pk,
                                side_effect_text="Blistering"),
            now=now,
        )
    # then
    request = AttentionRequest.objects.get()
    assert (request.checkin, request.kind, request.processed_at) == (
        checkin, "severe_side_effect", None
    )
    assert sent == [request.pk]


def test_broker_outage_never_fails_or_loses_a_check_in(
    patient_a, routine, django_capture_on_commit_callbacks, monkeypatch, now
):
    # given: publishing raises, as kombu does when Redis is down
    from kombu.exceptions import OperationalError

    from checkins import tasks

    def broker_down(pk):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.attention_dispatch, "delay", broker_down)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        checkin_submit(patient=patient_a, local_date=patient_a.local_date(now), now=now,
                       answers=all_done(routine), wellbeing=Wellbeing(side_effect="severe"))
    # then: saved, and the pending request waits for the sweep
    assert CheckIn.objects.count() == 1
    assert AttentionRequest.objects.filter(processed_at__isnull=True).count() == 1


def test_side_effect_item_must_be_due_that_day(patient_a, patient_b, derm, routine, now):
    from tests.factories import plan_for

    foreign = plan_for(patient_b, author=derm).items.get()
    with pytest.raises(ValidationError):
        checkin_submit(patient=patient_a, local_date=patient_a.local_date(now), now=now,
                       answers=all_done(routine),
                       wellbeing=Wellbeing(side_effect="mild", side_effect_item_id=foreign.pk))
    assert not CheckIn.objects.exists()


def test_the_save_is_dated_by_the_instant_given_not_the_clock(patient_a, routine, now):
    # given: the clock held at ``now``; the submission made three hours later
    later = now + timedelta(hours=3)
    today = patient_a.local_date(now)
    # when: a first save at ``now``, then the same day again, with a severe side effect
    checkin_submit(patient=patient_a, local_date=today, answers=all_done(routine), now=now)
    checkin_submit(patient=patient_a, local_date=today, answers=all_done(routine), now=later,
                   wellbeing=Wellbeing(side_effect="severe"))
    # then: created when first saved, updated (the flags' newest data) at the re-save
    checkin = CheckIn.objects.get()
    assert (checkin.created_at, checkin.updated_at) == (now, later)
    assert AttentionRequest.objects.get().created_at == later
