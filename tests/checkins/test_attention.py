"""Attention requests (severe side effects) are never lost: handled once, swept if undelivered."""

from datetime import timedelta

import pytest
from django.utils import timezone

from careplans.selectors import steps_due_on
from checkins.models import AttentionRequest
from checkins.services import StepAnswer, Wellbeing, checkin_submit
from checkins.signals import attention_requested
from checkins.tasks import attention_dispatch, attention_sweep
from tests.checkins.conftest import steps_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def severe(patient_a, routine):
    cleanser, retinoid = steps_of(routine)
    answers = [StepAnswer(cleanser.pk, "morning", True), StepAnswer(cleanser.pk, "evening", True),
               StepAnswer(retinoid.pk, "evening", False, "side_effects")]
    checkin_submit(patient=patient_a, local_date=patient_a.local_today(), answers=answers,
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


def test_a_handler_takes_it_once_even_if_dispatched_twice(severe, handler):
    attention_dispatch(severe.pk)
    attention_dispatch(severe.pk)
    severe.refresh_from_db()
    assert severe.processed_at is not None
    assert handler == [severe.pk]


def test_the_sweep_picks_up_requests_whose_task_never_arrived(severe, handler):
    AttentionRequest.objects.filter(pk=severe.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    attention_sweep()
    assert handler == [severe.pk]
    attention_sweep()
    assert handler == [severe.pk]


def test_resubmitting_the_same_day_does_not_duplicate_the_request(patient_a, routine, severe):
    _, steps = steps_due_on(patient_a, patient_a.local_today())
    checkin_submit(patient=patient_a, local_date=patient_a.local_today(),
                   answers=[StepAnswer(s.item.pk, s.slot, True) for s in steps],
                   wellbeing=Wellbeing(side_effect="severe"))
    assert AttentionRequest.objects.count() == 1
