"""A check-in sent with an idempotency key (the phone's offline queue): a replay saves nothing
again; keys are per patient; a malformed key is refused with nothing saved."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from checkins.models import CheckIn, StepLog, SubmissionKey
from checkins.services import (
    BAD_SUBMISSION_KEY,
    StepAnswer,
    Wellbeing,
    checkin_submit,
    submission_key_parse,
)
from tests.checkins.conftest import steps_of
from tests.checkins.test_today_page import full_form
from tests.factories import backdated_revision, item_draft

pytestmark = pytest.mark.django_db


def answers(revision, *, retinoid_done: bool):
    cleanser, retinoid = steps_of(revision)
    return [StepAnswer(cleanser.pk, "morning", True), StepAnswer(cleanser.pk, "evening", True),
            StepAnswer(retinoid.pk, "evening", retinoid_done,
                       "" if retinoid_done else "side_effects")]


def test_the_same_key_twice_saves_one_check_in_with_the_same_answers(patient_a, routine, now):
    # given
    key = uuid.uuid4()
    today = patient_a.local_date(now)
    first = checkin_submit(patient=patient_a, local_date=today,
                           answers=answers(routine, retinoid_done=False),
                           wellbeing=Wellbeing(satisfaction=4, itch=2), now=now,
                           submission_key=key)
    # when: the queue sends it again
    again = checkin_submit(patient=patient_a, local_date=today,
                           answers=answers(routine, retinoid_done=False),
                           wellbeing=Wellbeing(satisfaction=4, itch=2), now=now,
                           submission_key=key)
    # then
    assert again.pk == first.pk
    checkin = CheckIn.objects.get()
    assert (checkin.steps_done, checkin.steps_due, checkin.satisfaction, checkin.itch) == (
        2, 3, 4, 2)
    assert StepLog.objects.filter(checkin=checkin).count() == 3
    assert SubmissionKey.objects.get().checkin == checkin


def test_a_replayed_key_does_not_overwrite_a_later_change(patient_a, routine, now):
    # given: queued offline with the retinoid skipped, sent, then changed online
    key = uuid.uuid4()
    today = patient_a.local_date(now)
    checkin_submit(patient=patient_a, local_date=today,
                   answers=answers(routine, retinoid_done=False), now=now, submission_key=key)
    checkin_submit(patient=patient_a, local_date=today,
                   answers=answers(routine, retinoid_done=True), now=now)
    # when: the old queued copy arrives again
    checkin_submit(patient=patient_a, local_date=today,
                   answers=answers(routine, retinoid_done=False), now=now, submission_key=key)
    # then
    assert CheckIn.objects.get().steps_done == 3


def test_another_patients_same_key_is_independent(patient_a, patient_b, derm, routine, now):
    # given
    plan_b = backdated_revision(
        patient_b, author=derm, number=1, effective_from=routine.effective_from,
        items=[item_draft(name="Gentle cleanser", kind="skincare", time_of_day="both",
                          position=1),
               item_draft(name="Adapalene 0.1% gel", position=2)],
    )
    key = uuid.uuid4()
    checkin_submit(patient=patient_a, local_date=patient_a.local_date(now),
                   answers=answers(routine, retinoid_done=True), now=now, submission_key=key)
    # when
    checkin_b = checkin_submit(patient=patient_b, local_date=patient_b.local_date(now),
                               answers=answers(plan_b, retinoid_done=False), now=now,
                               submission_key=key)
    # then
    assert checkin_b.patient == patient_b
    assert CheckIn.objects.count() == 2
    assert CheckIn.objects.get(patient=patient_b).steps_done == 2
    assert SubmissionKey.objects.filter(key=key).count() == 2


@pytest.mark.parametrize("raw", ["not-a-key", "1234", "{}", "' OR 1=1 --"])
def test_a_malformed_key_is_refused(raw):
    with pytest.raises(ValidationError) as refused:
        submission_key_parse(raw)
    assert refused.value.messages == [BAD_SUBMISSION_KEY]


def test_no_key_is_none_and_a_uuid_is_read():
    key = uuid.uuid4()
    assert submission_key_parse("") is None
    assert submission_key_parse(None) is None
    assert submission_key_parse(str(key)) == key


def test_the_page_replays_a_key_once(client, patient_a, routine):
    # given
    client.force_login(patient_a.user)
    form = full_form(patient_a, routine, idempotency_key=str(uuid.uuid4()))
    # when
    first = client.post(reverse("today"), form)
    second = client.post(reverse("today"), {**form, "satisfaction": "1"})
    # then: both answered as saved; the replay changed nothing
    assert (first.status_code, second.status_code) == (302, 302)
    assert CheckIn.objects.get().satisfaction == 4


@pytest.mark.parametrize("extra", [{}, {"all_done": "1"}])
def test_the_page_refuses_a_malformed_key_and_saves_nothing(client, patient_a, routine, extra):
    # given
    client.force_login(patient_a.user)
    # when
    response = client.post(reverse("today"),
                           {**full_form(patient_a, routine), **extra, "idempotency_key": "x1"})
    # then
    assert response.status_code == 400
    assert BAD_SUBMISSION_KEY.split("(")[0].strip() in response.content.decode()
    assert not CheckIn.objects.exists()
    assert not SubmissionKey.objects.exists()
