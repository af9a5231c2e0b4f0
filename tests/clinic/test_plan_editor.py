"""The dermatologist's plan editor, end to end through HTTP."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from careplans.models import MAX_PLAN_ITEMS, PlanRevision
from careplans.services import profile_update
from tests.factories import item_draft, plan_for

pytestmark = pytest.mark.django_db

ITEM = {  # no "position": a step's place is its row, never a typed number
    "key": "", "kind": "topical", "name": "Azelaic acid 15% gel",
    "instructions": "Thin layer", "time_of_day": "evening", "frequency": "daily",
    "every_n_days": "", "ramp_every_n_days": "", "ramp_days": "", "minutes": "2",
    "monthly_cost": "12.50",
}


def editor_post(patient, items, *, action="save", base_number=0, reason="Starting treatment",
                **extra):
    data = {
        "items-TOTAL_FORMS": str(len(items)), "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0", "items-MAX_NUM_FORMS": "1000",
        "base_number": str(base_number), "reason": reason, "action": action,
        "reviews_on": (patient.local_today() + timedelta(weeks=12)).isoformat(),
    }
    for index, item in enumerate(items):
        data.update({f"items-{index}-{k}": v for k, v in item.items()})
    data.update(extra)
    return data


def edit_url(patient):
    return reverse("plan_edit", kwargs={"patient_id": patient.pk})


def test_dermatologist_creates_a_plan(client, derm, patient_a):
    # given
    client.force_login(derm)
    assert client.get(edit_url(patient_a)).status_code == 200
    # when
    response = client.post(edit_url(patient_a), editor_post(patient_a, [ITEM]))
    # then
    assert response.status_code == 302
    revision = PlanRevision.objects.get(plan__patient=patient_a)
    assert revision.reason == "Starting treatment"
    assert revision.items.get().monthly_cost == Decimal("12.50")


def test_editor_preloads_the_current_revision(client, derm, patient_a):
    plan_for(patient_a, author=derm)
    client.force_login(derm)
    body = client.get(edit_url(patient_a)).content.decode()
    assert 'value="Adapalene 0.1% gel"' in body
    assert 'name="base_number" value="1"' in body


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"monthly_cost": "-3"}, "greater than or equal to 0"),
        ({"monthly_cost": "99999999"}, "Ensure"),
        ({"minutes": "500"}, "less than or equal to 120"),
        ({"name": ""}, "required"),
        ({"kind": "voodoo"}, "Select a valid choice"),
        ({"frequency": "weekdays"}, "Choose at least one day"),
        ({"ramp_days": "200", "ramp_every_n_days": "2"}, "longer than the plan"),
        ({"ramp_days": "14"}, "needs both"),
    ],
)
def test_bad_item_input_saves_nothing(client, derm, patient_a, change, message):
    client.force_login(derm)
    response = client.post(edit_url(patient_a), editor_post(patient_a, [{**ITEM, **change}]))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not PlanRevision.objects.exists()


def test_missing_reason_saves_nothing(client, derm, patient_a):
    client.force_login(derm)
    response = client.post(edit_url(patient_a), editor_post(patient_a, [ITEM], reason=""))
    assert "This field is required" in response.content.decode()
    assert not PlanRevision.objects.exists()


def test_plan_without_items_is_refused(client, derm, patient_a):
    client.force_login(derm)
    blank = {**ITEM, "name": "", "instructions": "", "monthly_cost": "0"}
    response = client.post(edit_url(patient_a), editor_post(patient_a, [blank]))
    assert "at least one item" in response.content.decode()
    assert not PlanRevision.objects.exists()


def test_review_date_in_the_past_is_refused(client, derm, patient_a):
    client.force_login(derm)
    data = editor_post(patient_a, [ITEM])
    data["reviews_on"] = (patient_a.local_today() - timedelta(days=1)).isoformat()
    response = client.post(edit_url(patient_a), data)
    assert "review must be after today" in response.content.decode()
    assert not PlanRevision.objects.exists()


def test_stale_editor_is_refused_with_a_clear_message(client, derm, patient_a):
    # given: revision 1 exists; someone else saved revision 2 meanwhile
    plan_for(patient_a, author=derm)
    plan_for(patient_a, author=derm, base_number=1, reason="Someone else's change")
    client.force_login(derm)
    # when
    response = client.post(edit_url(patient_a), editor_post(patient_a, [ITEM], base_number=1))
    # then
    assert response.status_code == 200
    assert "saved revision 2" in response.content.decode()
    assert PlanRevision.objects.filter(plan__patient=patient_a).count() == 2


def test_over_budget_warning_is_shown_live_and_accepted_with_a_note(client, derm, patient_a):
    # given
    profile_update(patient=patient_a, actor=derm, data={"monthly_budget": Decimal("10")},
                   preferences=None)
    client.force_login(derm)
    fit_url = reverse("plan_fit", kwargs={"patient_id": patient_a.pk})
    # when: the htmx fit check sees the draft
    partial = client.post(fit_url, editor_post(patient_a, [ITEM], action="check"),
                          HTTP_HX_REQUEST="true")
    # then
    assert partial.status_code == 200
    assert "£2.50 over budget" in partial.content.decode()
    assert "<html" not in partial.content.decode()
    # when: saved with the warning accepted but no note
    no_note = client.post(edit_url(patient_a), editor_post(
        patient_a, [ITEM], **{"accept:budget": "on", "note:budget": ""}))
    assert "Write a note for the patient" in no_note.content.decode()
    assert not PlanRevision.objects.exists()
    # when: accepted with a note
    client.post(edit_url(patient_a), editor_post(
        patient_a, [ITEM], **{"accept:budget": "on", "note:budget": "Only for 8 weeks"}))
    revision = PlanRevision.objects.get()
    assert revision.accepted_warnings[0]["note"] == "Only for 8 weeks"


def test_no_js_add_row_keeps_what_was_typed(client, derm, patient_a):
    client.force_login(derm)
    response = client.post(edit_url(patient_a), editor_post(patient_a, [ITEM], action="add_row"))
    body = response.content.decode()
    assert 'value="Azelaic acid 15% gel"' in body
    assert 'name="items-1-name"' in body
    assert 'name="items-1-minutes" value="2"' in body  # the new row's defaults, not blanks
    assert 'name="items-1-monthly_cost" value="0"' in body
    assert not PlanRevision.objects.exists()


@pytest.mark.parametrize("who", ["staff", "other_derm", "patient"])
def test_only_clinic_dermatologists_can_revise(client, derm, staff, other_derm, patient_a, who):
    # given
    actor = {"staff": staff, "other_derm": other_derm, "patient": patient_a.user}[who]
    client.force_login(actor)
    # when
    get = client.get(edit_url(patient_a))
    post = client.post(edit_url(patient_a), editor_post(patient_a, [ITEM]))
    fit = client.post(reverse("plan_fit", kwargs={"patient_id": patient_a.pk}),
                      editor_post(patient_a, [ITEM]))
    # then
    assert (get.status_code, post.status_code, fit.status_code) == (404, 404, 404)
    assert not PlanRevision.objects.exists()
    if who != "patient":
        assert AuditEvent.objects.filter(actor=actor, allowed=False).exists()


def test_staff_sees_the_plan_read_only(client, derm, staff, patient_a):
    plan_for(patient_a, author=derm)
    client.force_login(staff)
    body = client.get(reverse("patient_detail", kwargs={"patient_id": patient_a.pk})).content
    assert b"Adapalene 0.1% gel" in body
    assert edit_url(patient_a).encode() not in body


def test_extra_fields_in_the_post_are_ignored(client, derm, patient_a, patient_b):
    client.force_login(derm)
    data = editor_post(patient_a, [ITEM])
    data.update(patient=str(patient_b.pk), author=str(patient_b.user.pk))
    client.post(edit_url(patient_a), data)
    revision = PlanRevision.objects.get()
    assert revision.plan.patient == patient_a
    assert revision.author == derm


def test_patient_page_shows_check_in_charts_and_notes_to_clinicians(client, derm, staff,
                                                                    patient_a):
    from checkins.models import CheckIn

    revision = plan_for(patient_a, author=derm)
    CheckIn.objects.create(patient=patient_a, local_date=patient_a.local_today(),
                           revision=revision, steps_due=1, steps_done=1, note="Ran out Friday")
    for clinician in (derm, staff):
        client.force_login(clinician)
        body = client.get(reverse("patient_detail", kwargs={"patient_id": patient_a.pk}))
        assert "Check-ins, day by day" in body.content.decode()
        assert "Ran out Friday" in body.content.decode()


# --- At most MAX_PLAN_ITEMS items (issue 13, point 5) ----------------------------------------

TOO_MANY = "A plan holds at most 40 items"


def test_a_plan_of_more_items_than_a_plan_holds_is_refused(client, derm, patient_a):
    # given
    assert MAX_PLAN_ITEMS == 40
    client.force_login(derm)
    items = [{**ITEM, "name": f"Step {n}", "position": str(n)}
             for n in range(1, MAX_PLAN_ITEMS + 2)]
    # when
    response = client.post(edit_url(patient_a), editor_post(patient_a, items))
    # then
    assert response.status_code == 200
    assert TOO_MANY in response.content.decode()
    assert not PlanRevision.objects.exists()


def test_a_huge_form_count_builds_no_more_rows_than_a_plan_holds(client, derm, patient_a):
    # given: one real item, and a management form claiming 100,000
    client.force_login(derm)
    data = editor_post(patient_a, [ITEM], **{"items-TOTAL_FORMS": "100000"})
    # when
    response = client.post(edit_url(patient_a), data)
    # then: refused with the message, and the page holds at most a plan's rows (was 1,041)
    assert response.status_code == 200
    assert not PlanRevision.objects.exists()
    body = response.content.decode()
    assert TOO_MANY in body
    assert f'name="items-{MAX_PLAN_ITEMS}-name"' not in body
    assert body.count('class="item-form step-row') <= MAX_PLAN_ITEMS
    assert len(response.content) < 500_000  # 40 rows, each with its folded details: ~400 KB


def test_add_another_item_stops_at_the_most_a_plan_holds(client, derm, patient_a):
    # given: a full editor
    client.force_login(derm)
    items = [{**ITEM, "name": f"Step {n}", "position": str(n)}
             for n in range(1, MAX_PLAN_ITEMS + 1)]
    # when
    response = client.post(edit_url(patient_a), editor_post(patient_a, items, action="add_row"))
    # then: no row beyond the cap, no "add" button, a note instead, and nothing refused
    body = response.content.decode()
    assert f'name="items-{MAX_PLAN_ITEMS - 1}-name"' in body
    assert f'name="items-{MAX_PLAN_ITEMS}-name"' not in body
    assert 'value="add_row"' not in body
    assert "A plan holds at most 40 items: remove one to add another." in body
    assert not PlanRevision.objects.exists()


def test_the_service_refuses_more_items_than_a_plan_holds(derm, patient_a, now):
    # when / then
    with pytest.raises(ValueError, match="at most 40 items"):
        plan_for(patient_a, author=derm, now=now,
                 items=[item_draft(name=f"Step {n}") for n in range(MAX_PLAN_ITEMS + 1)])
    assert not PlanRevision.objects.exists()
