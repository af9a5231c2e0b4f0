"""The plan editor's rows (issue 17, point 3): order by position, never a typed number; routine
groups; the fit check naming incomplete rows; swap for the generic; adding from the catalogue;
concerns named by their item and the patient's own words. All plain POSTs (no JavaScript)."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from careplans.models import Concern, PlanRevision
from tests.clinic.test_plan_editor import ITEM, edit_url, editor_post
from tests.factories import CatalogueItemFactory, item_draft, plan_for

pytestmark = pytest.mark.django_db


def fit_url(patient):
    return reverse("plan_fit", kwargs={"patient_id": patient.pk})


def names_in_order(body: str) -> list[str]:
    return re.findall(r'name="items-\d+-name"[^>]*value="([^"]*)"', body)


def step(name, **extra):
    return {**ITEM, "name": name, **extra}


# --- Order by position -------------------------------------------------------------------------

def test_a_new_step_saves_without_any_order_typed(client, derm, patient_a):
    # given
    client.force_login(derm)
    assert "position" not in ITEM
    # when
    response = client.post(edit_url(patient_a), editor_post(patient_a, [step("Azelaic acid")]))
    # then
    assert response.status_code == 302
    assert PlanRevision.objects.get().items.get().position == 1


def test_the_editor_shows_no_order_field(client, derm, patient_a):
    plan_for(patient_a, author=derm)
    client.force_login(derm)
    body = client.get(edit_url(patient_a)).content.decode()
    assert "-position" not in body
    assert ">Order<" not in body


def test_move_up_swaps_rows_and_saves_nothing(client, derm, patient_a):
    # given: three evening steps
    client.force_login(derm)
    rows = [step("Cleanser"), step("Adapalene"), step("Moisturiser")]
    # when: "Move up" on the third row
    response = client.post(edit_url(patient_a), editor_post(patient_a, rows, action="",
                                                             move="2:up"))
    # then
    assert response.status_code == 200
    assert names_in_order(response.content.decode()) == ["Cleanser", "Moisturiser", "Adapalene"]
    assert not PlanRevision.objects.exists()


def test_saved_positions_follow_the_rows_after_a_move(client, derm, patient_a):
    # given: the rows as re-rendered after "Move down" on the first
    client.force_login(derm)
    rows = [step("Cleanser"), step("Adapalene")]
    moved = client.post(edit_url(patient_a), editor_post(patient_a, rows, action="",
                                                         move="0:down"))
    assert names_in_order(moved.content.decode()) == ["Adapalene", "Cleanser"]
    # when: saved in that order
    client.post(edit_url(patient_a), editor_post(patient_a, [rows[1], rows[0]]))
    # then
    items = PlanRevision.objects.get().items.order_by("position")
    assert [i.name for i in items] == ["Adapalene", "Cleanser"]


def test_moves_stay_within_a_routine_and_bad_values_change_nothing(client, derm, patient_a):
    client.force_login(derm)
    rows = [step("Sunscreen", time_of_day="morning"), step("Adapalene")]
    for move in ("1:up", "0:down", "7:up", "x:up", "0:sideways"):
        response = client.post(edit_url(patient_a), editor_post(patient_a, rows, action="",
                                                                move=move))
        assert response.status_code == 200
        assert names_in_order(response.content.decode()) == ["Sunscreen", "Adapalene"]
    assert not PlanRevision.objects.exists()


def test_rows_are_grouped_by_routine_and_saved_in_that_order(client, derm, patient_a):
    # given: an evening step typed before a morning one, and a monthly blood test
    client.force_login(derm)
    rows = [step("Adapalene"), step("Blood test", frequency="monthly", day_of_month="3",
                                    time_of_day="morning"),
            step("Sunscreen", time_of_day="morning")]
    # when
    body = client.post(edit_url(patient_a), editor_post(patient_a, rows, action="check")
                       ).content.decode()
    client.post(edit_url(patient_a), editor_post(patient_a, rows))
    # then: morning, evening, other
    assert names_in_order(body) == ["Sunscreen", "Adapalene", "Blood test"]
    assert body.index(">Morning<") < body.index(">Evening<") < body.index(">Other:")
    assert [i.name for i in PlanRevision.objects.get().items.order_by("position")] == [
        "Sunscreen", "Adapalene", "Blood test"]


def test_each_row_is_one_line_with_its_details_folded(client, derm, patient_a):
    plan_for(patient_a, author=derm)
    client.force_login(derm)
    body = client.get(edit_url(patient_a)).content.decode()
    assert "<strong>Adapalene 0.1% gel</strong> · Every evening · 2 min · £10.00" in body
    assert body.count("<details>") == 2  # the step, and the blank "New step" row, folded
    assert "<details open>" not in body


def test_a_blank_step_opens_when_asked_for_or_when_the_plan_is_empty(client, derm, patient_a):
    client.force_login(derm)
    empty = client.get(edit_url(patient_a)).content.decode()
    added = client.post(edit_url(patient_a), editor_post(patient_a, [step("Adapalene")],
                                                         action="add_row")).content.decode()
    assert empty.count("<details open>") == 1
    assert added.count("<details open>") == 1
    assert added.count("<details>") == 1


# --- The fit check, honest about incomplete rows -----------------------------------------------

def test_fit_check_names_a_row_without_a_name(client, derm, patient_a):
    # given: a complete step and one with only a cost typed
    client.force_login(derm)
    rows = [step("Adapalene"), step("", instructions="", monthly_cost="8.00")]
    # when
    partial = client.post(fit_url(patient_a), editor_post(patient_a, rows, action="check"),
                          HTTP_HX_REQUEST="true").content.decode()
    # then
    assert "Step 2 needs a name." in partial
    assert "1 step is not counted below until it is complete" in partial
    assert "£12.50 a month" in partial  # the complete step only, and says so


def test_a_half_filled_row_blocks_saving_with_its_reason(client, derm, patient_a):
    client.force_login(derm)
    rows = [step("Adapalene"), step("", instructions="", monthly_cost="8.00")]
    response = client.post(edit_url(patient_a), editor_post(patient_a, rows))
    assert "Step 2 needs a name." in response.content.decode()
    assert not PlanRevision.objects.exists()


def test_fit_check_names_a_named_row_with_a_missing_field(client, derm, patient_a):
    client.force_login(derm)
    rows = [step("Methotrexate blood test", frequency="monthly")]
    partial = client.post(fit_url(patient_a), editor_post(patient_a, rows, action="check"),
                          HTTP_HX_REQUEST="true").content.decode()
    assert "Step 1 (Methotrexate blood test) is not counted yet: check “Day of the month”." \
        in partial


# --- Swap for the generic ----------------------------------------------------------------------

@pytest.fixture
def branded(clinic):
    generic = CatalogueItemFactory(clinic=clinic, name="Adapalene 0.1% gel (generic)",
                                   monthly_cost=Decimal("4.00"))
    return CatalogueItemFactory(clinic=clinic, name="Adapalene 0.1% gel",
                                monthly_cost=Decimal("12.50"), generic_alternative=generic,
                                contains_fragrance=True)


def test_swap_for_the_generic_replaces_the_item_and_shows_the_saving(client, derm, patient_a,
                                                                    branded):
    # given: a step named as the branded catalogue item
    client.force_login(derm)
    rows = [step("Adapalene 0.1% gel", contains_fragrance="on")]
    body = client.post(edit_url(patient_a), editor_post(patient_a, rows, action="check")
                       ).content.decode()
    assert "Swap for the generic Adapalene 0.1% gel (generic) (saves £8.50 a month)" in body
    # when
    swapped = client.post(edit_url(patient_a), editor_post(patient_a, rows, action="",
                                                           swap="0")).content.decode()
    # then: the row is the generic, the fit check shows the new total and the saving
    assert names_in_order(swapped) == ["Adapalene 0.1% gel (generic)"]
    assert 'name="items-0-monthly_cost" value="4.00"' in swapped
    assert 'name="items-0-contains_fragrance"' in swapped
    assert 'name="items-0-contains_fragrance" id="id_items-0-contains_fragrance" checked' \
        not in swapped
    assert "£4.00 a month" in swapped
    assert "saves £8.50 a month" in swapped
    assert not PlanRevision.objects.exists()


def test_a_swapped_row_saves_as_the_generic(client, derm, patient_a, branded):
    client.force_login(derm)
    row = step("Adapalene 0.1% gel (generic)", monthly_cost="4.00",
               catalogue_item=str(branded.generic_alternative.pk))
    client.post(edit_url(patient_a), editor_post(patient_a, [row]))
    item = PlanRevision.objects.get().items.get()
    assert (item.name, item.monthly_cost) == ("Adapalene 0.1% gel (generic)", Decimal("4.00"))


def test_no_swap_offered_without_a_cheaper_generic_nor_for_another_clinics_item(
        client, derm, patient_a, other_clinic):
    # given: the same name in another clinic's catalogue, with a generic
    generic = CatalogueItemFactory(clinic=other_clinic, name="Cheap", monthly_cost=Decimal("1"))
    theirs = CatalogueItemFactory(clinic=other_clinic, name="Azelaic acid 15% gel",
                                  generic_alternative=generic)
    client.force_login(derm)
    rows = [step("Azelaic acid 15% gel", catalogue_item=str(theirs.pk))]
    # when
    body = client.post(edit_url(patient_a), editor_post(patient_a, rows, action="check")
                       ).content.decode()
    swapped = client.post(edit_url(patient_a), editor_post(patient_a, rows, action="",
                                                           swap="0")).content.decode()
    # then
    assert "Swap for the generic" not in body
    assert names_in_order(swapped) == ["Azelaic acid 15% gel"]


def test_patient_page_offers_the_swap_and_the_editor_opens_swapped(client, derm, patient_a,
                                                                   branded):
    # given: a plan with the branded gel
    revision = plan_for(patient_a, author=derm, items=[item_draft(
        name="Adapalene 0.1% gel", monthly_cost=Decimal("12.50"))])
    key = revision.items.get().key
    client.force_login(derm)
    # when
    page = client.get(reverse("patient_detail", kwargs={"patient_id": patient_a.pk}))
    editor = client.get(edit_url(patient_a) + f"?swap={key}").content.decode()
    # then
    assert f"?swap={key}" in page.content.decode()
    assert "Swap Adapalene 0.1% gel for the generic Adapalene 0.1% gel (generic) (saves " \
           "£8.50 a month)" in page.content.decode()
    assert names_in_order(editor) == ["Adapalene 0.1% gel (generic)"]
    assert f'value="{key}"' in editor  # the same step, so its history follows it
    assert "saves £8.50 a month" in editor
    assert "£4.00 a month" in editor


def test_a_tampered_swap_link_opens_the_plan_unchanged(client, derm, patient_a, branded):
    plan_for(patient_a, author=derm)
    client.force_login(derm)
    response = client.get(edit_url(patient_a) + "?swap=not-a-key")
    assert response.status_code == 200
    assert names_in_order(response.content.decode())[0] == "Adapalene 0.1% gel"


# --- Add from the catalogue --------------------------------------------------------------------

def test_search_then_add_a_catalogue_item_as_a_new_row(client, derm, patient_a, clinic):
    # given
    item = CatalogueItemFactory(clinic=clinic, name="Ceramide moisturiser",
                                time_of_day="morning", monthly_cost=Decimal("6.00"))
    client.force_login(derm)
    rows = [step("Adapalene")]
    # when: search
    found = client.post(edit_url(patient_a), editor_post(patient_a, rows, action="search",
                                                         catalogue_q="ceramide"))
    # then
    assert f'name="add_item" value="{item.pk}"' in found.content.decode()
    # when: add it
    added = client.post(edit_url(patient_a), editor_post(patient_a, rows, action="",
                                                         add_item=str(item.pk))).content.decode()
    # then: a new row with the item's defaults, listed in its routine; nothing saved
    assert names_in_order(added) == ["Ceramide moisturiser", "Adapalene"]
    assert 'name="items-1-monthly_cost" value="6.00"' in added
    assert f'name="items-1-catalogue_item" value="{item.pk}"' in added
    assert not PlanRevision.objects.exists()


def test_live_catalogue_suggestions(client, derm, patient_a, clinic):
    CatalogueItemFactory(clinic=clinic, name="Ceramide moisturiser")
    client.force_login(derm)
    partial = client.post(fit_url(patient_a), editor_post(
        patient_a, [step("Adapalene")], action="check", catalogue_q="CERAM"),
        HTTP_HX_REQUEST="true").content.decode()
    assert 'id="catalogue-results"' in partial
    assert "Add Ceramide moisturiser" in partial


def test_another_clinics_catalogue_item_cannot_be_added(client, derm, patient_a, other_clinic):
    theirs = CatalogueItemFactory(clinic=other_clinic, name="Theirs")
    client.force_login(derm)
    response = client.post(edit_url(patient_a), editor_post(
        patient_a, [step("Adapalene")], action="", add_item=str(theirs.pk)))
    assert response.status_code == 404
    assert not PlanRevision.objects.exists()


# --- Concerns named by their item and the patient's own words ---------------------------------

def test_concerns_are_labelled_by_item_and_the_patients_words(client, derm, patient_a):
    # given: two concerns of the same category about different steps
    revision = plan_for(patient_a, author=derm)
    key = revision.items.get().key
    for name, text in (("Adapalene 0.1% gel", "Stings after a minute"),
                       ("Benzoyl peroxide 5%", "")):
        concern = Concern.objects.create(patient=patient_a, item_key=key, item_name=name,
                                         raised_on_revision=revision, category="irritating",
                                         text=text)
        Concern.objects.filter(pk=concern.pk).update(
            created_at=datetime(2026, 11, 3, 12, tzinfo=UTC))
    client.force_login(derm)
    # when
    body = client.get(edit_url(patient_a)).content.decode()
    # then
    assert "Adapalene 0.1% gel: “Stings after a minute” (raised 3 Nov)" in body
    assert "Benzoyl peroxide 5%: “Irritating my skin” (raised 3 Nov)" in body
    assert "Concern " not in body


def test_moving_a_row_does_not_ask_for_the_reason_yet(client, derm, patient_a):
    client.force_login(derm)
    rows = [step("Cleanser"), step("Adapalene")]
    body = client.post(edit_url(patient_a), editor_post(patient_a, rows, action="", reason="",
                                                        move="1:up")).content.decode()
    saved = client.post(edit_url(patient_a), editor_post(patient_a, rows, reason=""))
    assert "This field is required" not in body
    assert "This field is required" in saved.content.decode()
