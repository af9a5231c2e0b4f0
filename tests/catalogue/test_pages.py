"""The catalogue and template pages: who may change what, search, retire/restore, another
clinic's ids, and editing a template's steps with plain POSTs."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from catalogue.models import CatalogueItem, RegimenTemplate, TemplateStep
from tests.factories import (
    CatalogueItemFactory,
    ClinicAdminFactory,
    RegimenTemplateFactory,
    TemplateStepFactory,
)

pytestmark = pytest.mark.django_db

NEW_ITEM = {
    "name": "Azelaic acid 15% gel", "kind": "topical", "instructions": "Thin layer",
    "time_of_day": "morning", "frequency": "daily", "every_n_days": "", "minutes": "1",
    "monthly_cost": "17.50", "generic_alternative": "",
}


def test_a_dermatologist_adds_and_edits_an_item(client, derm, clinic):
    # given
    client.force_login(derm)
    # when
    response = client.post(reverse("catalogue_item_add"), NEW_ITEM)
    item = CatalogueItem.objects.get(clinic=clinic)
    edited = client.post(reverse("catalogue_item_edit", args=[item.pk]),
                         {**NEW_ITEM, "monthly_cost": "15.00", "pregnancy_unsafe": "on"})
    # then
    assert response.status_code == edited.status_code == 302
    item.refresh_from_db()
    assert (item.monthly_cost, item.pregnancy_unsafe) == (Decimal("15.00"), True)
    assert AuditEvent.objects.filter(actor=derm, object_type="catalogue_item",
                                     object_id=str(item.pk)).count() == 2


def test_a_clinic_administrator_may_change_the_catalogue(client, clinic):
    client.force_login(ClinicAdminFactory(membership=clinic))
    assert client.post(reverse("catalogue_item_add"), NEW_ITEM).status_code == 302
    assert CatalogueItem.objects.filter(clinic=clinic).count() == 1


def test_a_duplicate_name_is_refused_with_a_message(client, derm, clinic):
    CatalogueItemFactory(clinic=clinic, name="azelaic ACID 15% gel")
    client.force_login(derm)
    response = client.post(reverse("catalogue_item_add"), NEW_ITEM)
    assert response.status_code == 200
    assert "already has an item of that name" in response.content.decode()
    assert CatalogueItem.objects.filter(clinic=clinic).count() == 1


def test_staff_read_the_catalogue_but_cannot_change_it(client, staff, clinic):
    # given
    item = CatalogueItemFactory(clinic=clinic, name="Hydrocortisone 1% cream")
    template = RegimenTemplateFactory(clinic=clinic)
    client.force_login(staff)
    # when
    listing = client.get(reverse("catalogue_list"))
    statuses = [
        client.get(reverse("catalogue_item_add")).status_code,
        client.post(reverse("catalogue_item_add"), NEW_ITEM).status_code,
        client.post(reverse("catalogue_item_edit", args=[item.pk]),
                    {**NEW_ITEM, "name": "Changed"}).status_code,
        client.post(reverse("catalogue_item_retire", args=[item.pk])).status_code,
        client.post(reverse("catalogue_import")).status_code,
        client.post(reverse("template_step_add", args=[template.pk]),
                    {"catalogue_item": item.pk}).status_code,
    ]
    # then
    assert listing.status_code == 200
    body = listing.content.decode()
    assert "Hydrocortisone 1% cream" in body
    assert reverse("catalogue_item_edit", args=[item.pk]) not in body
    assert "Add an item" not in body
    assert set(statuses) == {404}
    item.refresh_from_db()
    assert (item.name, item.active) == ("Hydrocortisone 1% cream", True)
    assert CatalogueItem.objects.count() == 1
    assert not template.steps.exists()


def test_another_clinics_ids_are_not_found_and_nothing_changes(client, derm, other_derm):
    # given
    theirs = CatalogueItemFactory(clinic=other_derm.membership.clinic, name="Theirs")
    step = TemplateStepFactory(template=RegimenTemplateFactory(clinic=theirs.clinic),
                               catalogue_item=theirs)
    client.force_login(derm)
    # when
    statuses = [
        client.get(reverse("catalogue_item_edit", args=[theirs.pk])).status_code,
        client.post(reverse("catalogue_item_edit", args=[theirs.pk]), NEW_ITEM).status_code,
        client.post(reverse("catalogue_item_retire", args=[theirs.pk])).status_code,
        client.get(reverse("template_detail", args=[step.template_id])).status_code,
        client.post(reverse("template_step_change", args=[step.template_id, step.pk]),
                    {"action": "take_out"}).status_code,
    ]
    # then
    assert set(statuses) == {404}
    theirs.refresh_from_db()
    assert (theirs.name, theirs.active) == ("Theirs", True)
    assert TemplateStep.objects.filter(pk=step.pk).exists()


def test_a_step_cannot_be_added_from_another_clinics_catalogue(client, derm, clinic,
                                                                other_clinic):
    template = RegimenTemplateFactory(clinic=clinic)
    theirs = CatalogueItemFactory(clinic=other_clinic)
    client.force_login(derm)
    response = client.post(reverse("template_step_add", args=[template.pk]),
                           {"catalogue_item": theirs.pk})
    assert response.status_code == 400
    assert not template.steps.exists()


def test_search_by_name_and_type_and_retired_items_on_request(client, derm, clinic,
                                                             other_clinic):
    # given
    CatalogueItemFactory(clinic=clinic, name="Adapalene 0.1% gel", kind="topical")
    CatalogueItemFactory(clinic=clinic, name="Adapalene wash", kind="skincare")
    CatalogueItemFactory(clinic=clinic, name="Old adapalene cream", kind="topical",
                         active=False)
    CatalogueItemFactory(clinic=clinic, name="Doxycycline 100 mg", kind="oral")
    CatalogueItemFactory(clinic=other_clinic, name="Adapalene of another clinic")
    client.force_login(derm)

    def names(**params):
        response = client.get(reverse("catalogue_list"), params)
        return [item.name for item in response.context["items"]]

    # then
    assert names(q="ADAPALENE") == ["Adapalene 0.1% gel", "Adapalene wash"]
    assert names(q="adapalene", kind="topical") == ["Adapalene 0.1% gel"]
    assert names(q="adapalene", kind="topical", retired="on") == [
        "Adapalene 0.1% gel", "Old adapalene cream"]
    assert names(kind="oral") == ["Doxycycline 100 mg"]
    assert names(kind="not-a-kind", q="\x00dox") == ["Doxycycline 100 mg"]


def test_retire_and_restore(client, derm, clinic):
    # given
    item = CatalogueItemFactory(clinic=clinic)
    client.force_login(derm)
    # when
    client.post(reverse("catalogue_item_retire", args=[item.pk]))
    item.refresh_from_db()
    retired = item.active
    client.post(reverse("catalogue_item_restore", args=[item.pk]))
    item.refresh_from_db()
    # then
    assert (retired, item.active) == (False, True)
    assert client.get(reverse("catalogue_item_retire", args=[item.pk])).status_code == 405


def test_a_template_page_shows_routines_cost_and_minutes(client, staff, clinic):
    # given
    template = RegimenTemplateFactory(clinic=clinic, name="Acne starter")
    TemplateStepFactory(template=template, time_of_day="morning", catalogue_item=(
        CatalogueItemFactory(clinic=clinic, name="Benzoyl peroxide 5% gel", minutes=1,
                             monthly_cost=Decimal("7.50"))))
    TemplateStepFactory(template=template, time_of_day="evening", ramp_every_n_days=3,
                        ramp_days=28, catalogue_item=CatalogueItemFactory(
                            clinic=clinic, name="Adapalene 0.1% gel", minutes=1,
                            monthly_cost=Decimal("9.50")))
    client.force_login(staff)
    # when
    response = client.get(reverse("template_detail", args=[template.pk]))
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert "£17.00" in body
    assert "Every 3 days for the first 28 days, then every evening" in body
    assert "Move up" not in body  # staff read only


def test_a_dermatologist_builds_a_template_with_plain_posts(client, derm, clinic):
    # given
    first = CatalogueItemFactory(clinic=clinic, name="Cleanser", time_of_day="both")
    second = CatalogueItemFactory(clinic=clinic, name="Retinoid", frequency="every_n_days",
                                  every_n_days=2)
    client.force_login(derm)
    created = client.post(reverse("template_add"), {"name": "Acne starter",
                                                    "description": "Mild acne",
                                                    "active": "on"})
    template = RegimenTemplate.objects.get(clinic=clinic)
    add = reverse("template_step_add", args=[template.pk])
    # when
    client.post(add, {"catalogue_item": first.pk})
    client.post(add, {"catalogue_item": second.pk, "ramp_days": "28",
                      "ramp_every_n_days": "3", "instructions": "Every third night first"})
    step = template.steps.get(catalogue_item=second)
    client.post(reverse("template_step_change", args=[template.pk, step.pk]), {"action": "up"})
    # then
    assert created.status_code == 302
    steps = list(template.steps.order_by("position"))
    assert [(s.position, s.catalogue_item.name) for s in steps] == [
        (1, "Retinoid"), (2, "Cleanser")]
    assert (steps[0].frequency, steps[0].every_n_days, steps[0].ramp_days) == (
        "every_n_days", 2, 28)
    assert steps[1].time_of_day == "both"  # the item's usual time
    # when
    client.post(reverse("template_step_change", args=[template.pk, steps[0].pk]),
                {"action": "take_out"})
    # then
    assert [(s.position, s.catalogue_item.name) for s in template.steps.all()] == [
        (1, "Cleanser")]


def test_a_half_given_ramp_up_is_refused_on_the_template_page(client, derm, clinic):
    template = RegimenTemplateFactory(clinic=clinic)
    item = CatalogueItemFactory(clinic=clinic)
    client.force_login(derm)
    response = client.post(reverse("template_step_add", args=[template.pk]),
                           {"catalogue_item": item.pk, "ramp_days": "28"})
    assert response.status_code == 400
    assert "A ramp-up needs both" in response.content.decode()
    assert not template.steps.exists()
