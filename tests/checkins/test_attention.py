"""Attention requests (severe side effects) are never lost: handled once, swept if undelivered."""

from datetime import timedelta

import pytest

from careplans.selectors import steps_due_on
from checkins.models import AttentionRequest
from checkins.services import StepAnswer, Wellbeing, checkin_submit
from checkins.signals import attention_requested
from checkins.tasks import attention_dispatch, attention_sweep
from tests.checkins.conftest import steps_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def severe(patient_a, routine, now):
    cleanser, retinoid = steps_of(routine)
    answers = [StepAnswer(cleanser.pk, "morning", True), StepAnswer(cleanser.pk, "evening", True),
               StepAnswer(retinoid.pk, "evening", False, "side_effects")]
    checkin_submit(patient=patient_a, local_date=patient_a.local_date(now), answers=answers,
                   now=now,
                   wellbeing=Wellbeing(side_effect="severe", side_effect_item_id=retinoid.pk))
    return AttentionRequest.objects.get()


@pytest.fixture
def handler():
    handled = []

    def receiver(sender, request, **kwargs):
        handled.append(request.pk)
        return True

    attention_requested.connect(receiver)
    yield handled
    attention_requested.disconnect(receiver)


@pytest.fixture
def no_handlers():
    """Without the flags app's receiver: nobody takes the request on."""
    from flags.receivers import raise_flag_for_attention

    attention_requested.disconnect(dispatch_uid="flags.severe_side_effect")
    yield
    attention_requested.connect(raise_flag_for_attention, dispatch_uid="flags.severe_side_effect")


def test_without_a_handler_the_request_stays_pending(severe, no_handlers):
    attention_dispatch(severe.pk)
    severe.refresh_from_db()
    assert severe.processed_at is None


def test_a_handler_takes_it_once_even_if_dispatched_twice(severe, handler, now):
    attention_dispatch(severe.pk)
    attention_dispatch(severe.pk)
    severe.refresh_from_db()
    assert severe.processed_at == now  # the task's clock, held still by the fixture
    assert handler == [severe.pk]


def test_the_sweep_picks_up_requests_whose_task_never_arrived(severe, handler, now):
    AttentionRequest.objects.filter(pk=severe.pk).update(created_at=now - timedelta(minutes=5))
    attention_sweep()
    assert handler == [severe.pk]
    attention_sweep()
    assert handler == [severe.pk]


def test_resubmitting_the_same_day_does_not_duplicate_the_request(patient_a, routine, severe, now):
    _, steps = steps_due_on(patient_a, patient_a.local_date(now))
    checkin_submit(patient=patient_a, local_date=patient_a.local_date(now),
                   answers=[StepAnswer(s.item.pk, s.slot, True) for s in steps],
                   wellbeing=Wellbeing(side_effect="severe"), now=now)
    assert AttentionRequest.objects.count() == 1


def test_the_sweep_leaves_a_request_younger_than_a_minute_to_its_own_task(severe, now):
    # given: the request was made at ``now``
    from checkins.services import attention_pending_ids

    # when / then
    assert attention_pending_ids(now=now + timedelta(seconds=59)) == []
    assert attention_pending_ids(now=now + timedelta(minutes=1)) == [severe.pk]
