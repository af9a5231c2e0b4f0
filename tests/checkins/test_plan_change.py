"""A plan revision saved the same day never resets the patient's saved answers: the answers
follow each step's stable key to the new revision's items (issue 12, point 3)."""

import re

import pytest
from django.urls import reverse

from checkins.adherence import item_adherence
from checkins.models import CheckIn, StepLog
from checkins.services import StepAnswer, Wellbeing, checkin_submit
from tests.checkins.conftest import steps_of
from tests.factories import item_draft, plan_for

pytestmark = pytest.mark.django_db

KEPT = ("Gentle cleanser", "Adapalene 0.1% gel")


def revise_today(patient, derm, revision, *, keep=KEPT, add=()):
    """The dermatologist saves a revision today through the real service: the kept steps
    (same keys, new instructions), then any added ones."""
    kept = [
        item_draft(key=item.key, name=item.name, kind=item.kind, time_of_day=item.time_of_day,
                   position=item.position, instructions="Then a moisturiser.")
        for item in revision.items.all() if item.name in keep
    ]
    return plan_for(patient, author=derm, base_number=revision.number, items=[*kept, *add],
                    reason="Adding a moisturiser step")


@pytest.fixture
def checked_in(patient_a, routine, now):
    """Today's check-in: the evening cleanser skipped for lack of time, a mild side effect put
    down to the retinoid."""
    cleanser, retinoid = steps_of(routine)
    return checkin_submit(
        patient=patient_a, local_date=patient_a.local_date(now),
        answers=[StepAnswer(cleanser.pk, "morning", True),
                 StepAnswer(cleanser.pk, "evening", False, "no_time"),
                 StepAnswer(retinoid.pk, "evening", True)],
        wellbeing=Wellbeing(satisfaction=4, itch=2, side_effect="mild",
                            side_effect_item_id=retinoid.pk, side_effect_text="Dry patches"),
        now=now,
    )


def form_as_shown(response) -> dict[str, str]:
    """What a browser posts when the patient presses "Save check-in" without changing anything:
    every pre-filled value of the form the page rendered."""
    form = response.context["form"]
    return {name: str(form[name].value()) for name in form.fields
            if form[name].value() not in (None, "")}


def answers(checkin) -> set[tuple[str, str, bool, str]]:
    return set(StepLog.objects.filter(checkin=checkin).values_list(
        "item__name", "slot", "done", "skip_reason"))


def checked(body: str, field: str, value: str) -> bool:
    return re.search(rf'name="{field}" value="{value}"[^>]*\bchecked\b', body) is not None


def test_today_shows_every_saved_answer_after_a_same_day_revision(client, patient_a, derm,
                                                                    routine, checked_in):
    # given: the dermatologist saves a revision after the patient checked in
    revision = revise_today(patient_a, derm, routine)
    cleanser, retinoid = steps_of(revision)
    client.force_login(patient_a.user)
    # when
    response = client.get(reverse("today"))
    # then: the new items carry the saved answers, the side effect its step
    body = response.content.decode()
    assert "Checked in: 2 of 3 steps done" in body
    assert checked(body, f"step_{cleanser.pk}_morning", "done")
    assert checked(body, f"step_{cleanser.pk}_evening", "skipped")
    assert not checked(body, f"step_{cleanser.pk}_evening", "done")
    assert re.search(r'<option value="no_time" selected>', body)
    assert checked(body, f"step_{retinoid.pk}_evening", "done")
    assert re.search(rf'<option value="{retinoid.pk}" selected>Adapalene', body)
    assert "Your plan changed" not in body  # same steps: nothing new, nothing gone


def test_saving_again_unchanged_after_the_revision_keeps_every_answer(client, patient_a, derm,
                                                                      routine, checked_in):
    # given
    before = answers(checked_in)
    log_ids = set(StepLog.objects.values_list("pk", flat=True))
    revision = revise_today(patient_a, derm, routine)
    client.force_login(patient_a.user)
    # when: the patient presses "Save check-in" on the page as shown
    response = client.post(reverse("today"), form_as_shown(client.get(reverse("today"))))
    # then: nothing they said changed; the day is now logged against the new revision
    assert response.status_code == 302
    checkin = CheckIn.objects.get()
    assert (checkin.steps_done, checkin.steps_due, checkin.revision) == (2, 3, revision)
    assert answers(checkin) == before
    assert set(StepLog.objects.values_list("pk", flat=True)) == log_ids  # not rewritten
    _cleanser, retinoid = steps_of(revision)
    assert checkin.side_effect_item.key == retinoid.key
    assert (checkin.side_effect, checkin.side_effect_text, checkin.satisfaction) == (
        "mild", "Dry patches", 4)


def test_a_re_save_after_the_revision_rewrites_only_the_changed_answer(patient_a, derm, routine,
                                                                       checked_in, now):
    # given
    revision = revise_today(patient_a, derm, routine)
    cleanser, retinoid = steps_of(revision)
    cleanser_logs = set(StepLog.objects.filter(slot="morning").values_list("pk", "item_id"))
    # when: the retinoid was skipped after all
    checkin = checkin_submit(
        patient=patient_a, local_date=patient_a.local_date(now),
        answers=[StepAnswer(cleanser.pk, "morning", True),
                 StepAnswer(cleanser.pk, "evening", False, "no_time"),
                 StepAnswer(retinoid.pk, "evening", False, "side_effects")],
        now=now,
    )
    # then
    assert (checkin.steps_done, checkin.steps_due) == (1, 3)
    assert set(StepLog.objects.filter(slot="morning").values_list("pk", "item_id")) == (
        cleanser_logs)
    assert StepLog.objects.get(item_key=retinoid.key).item_id == retinoid.pk
    assert StepLog.objects.get(item_key=cleanser.key, slot="evening").skip_reason == "no_time"


def test_a_step_added_the_same_day_is_new_and_unanswered(client, patient_a, derm, routine,
                                                          checked_in):
    # given: the revision adds a morning moisturiser
    revision = revise_today(patient_a, derm, routine, add=[
        item_draft(name="Moisturiser", kind="skincare", time_of_day="morning", position=3)])
    moisturiser = revision.items.get(name="Moisturiser")
    client.force_login(patient_a.user)
    # when
    page = client.get(reverse("today"))
    # then: marked new, neither Done nor Skipped ticked; the saved answers are as they were
    body = page.content.decode()
    field = f"step_{moisturiser.pk}_morning"
    assert not checked(body, field, "done")
    assert not checked(body, field, "skipped")
    assert "New in your plan: Moisturiser (morning)" in body
    assert "New in your plan since you checked in: not answered yet." in body
    assert "Checked in: 2 of 3 steps done" in body
    # and saving without answering it asks for it and changes nothing
    before = answers(checked_in)
    refused = client.post(reverse("today"), form_as_shown(page))
    assert refused.status_code == 200
    assert "This field is required" in refused.content.decode()
    assert answers(CheckIn.objects.get()) == before
    # and answering it saves it beside the kept answers
    client.post(reverse("today"), {**form_as_shown(page), field: "done"})
    checkin = CheckIn.objects.get()
    assert (checkin.steps_done, checkin.steps_due) == (3, 4)
    assert answers(checkin) == {*before, ("Moisturiser", "morning", True, "")}


def test_a_step_removed_the_same_day_keeps_its_answer_and_side_effect(client, patient_a, derm,
                                                                      routine, checked_in, now):
    # given: the revision takes the retinoid (the side effect's step) out
    _cleanser, old_retinoid = steps_of(routine)
    revise_today(patient_a, derm, routine, keep=("Gentle cleanser",))
    client.force_login(patient_a.user)
    # when
    page = client.get(reverse("today"))
    # then: no longer a step on Today; its answer and the side effect are still shown
    body = page.content.decode()
    assert f"step_{old_retinoid.pk}_evening" not in body
    assert "Adapalene 0.1% gel (evening) is no longer in your plan" in body
    assert "Your answer stays in your history: done." in body
    assert re.search(
        rf"<option value=\"{old_retinoid.pk}\" selected>Adapalene 0.1% gel \(removed\)<", body)
    assert "Checked in: 2 of 3 steps done" in body
    # and saving again keeps the answer, its count and the side effect's step
    before = answers(checked_in)
    assert client.post(reverse("today"), form_as_shown(page)).status_code == 302
    checkin = CheckIn.objects.get()
    assert answers(checkin) == before
    assert (checkin.steps_done, checkin.steps_due) == (2, 3)
    assert checkin.side_effect_item_id == old_retinoid.pk
    today = patient_a.local_date(now)
    per_step = {row.name: (row.done, row.due) for row in item_adherence(patient_a, today, today)}
    assert per_step == {"Gentle cleanser": (1, 2), "Adapalene 0.1% gel": (1, 1)}


def test_one_tap_after_a_removal_marks_todays_steps_and_keeps_the_removed_answer(
    patient_a, derm, routine, checked_in, now
):
    # given: the revision takes the skipped-in-the-evening cleanser out
    revise_today(patient_a, derm, routine, keep=("Adapalene 0.1% gel",))
    # when: "I did everything"
    checkin = checkin_submit(patient=patient_a, local_date=patient_a.local_date(now), answers=None,
                             now=now)
    # then: the retinoid done; both cleanser answers kept as they were
    assert answers(checkin) == {("Gentle cleanser", "morning", True, ""),
                                ("Gentle cleanser", "evening", False, "no_time"),
                                ("Adapalene 0.1% gel", "evening", True, "")}
    assert (checkin.steps_done, checkin.steps_due) == (2, 3)
    checkin.refresh_from_db()
    assert (checkin.steps_done, checkin.steps_due, checkin.side_effect) == (2, 3, "mild")
