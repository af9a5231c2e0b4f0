"""The catalogue's own rules: names unique per clinic in any capitals, alternatives in the same
clinic, items kept once a template uses them."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from catalogue.models import CatalogueItem, TemplateStep
from tests.factories import CatalogueItemFactory, TemplateStepFactory

pytestmark = pytest.mark.django_db


def test_a_name_is_unique_in_a_clinic_whatever_its_capitals(clinic):
    # given
    CatalogueItemFactory(clinic=clinic, name="Adapalene 0.1% gel")
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        CatalogueItemFactory(clinic=clinic, name="ADAPALENE 0.1% GEL")
    duplicate = CatalogueItem(clinic=clinic, name="adapalene 0.1% gel", kind="topical")
    with pytest.raises(ValidationError) as refused:
        duplicate.full_clean()
    assert "name" in refused.value.message_dict


def test_another_clinic_may_use_the_same_name(clinic, other_clinic):
    # given
    CatalogueItemFactory(clinic=clinic, name="Adapalene 0.1% gel")
    # when
    CatalogueItemFactory(clinic=other_clinic, name="Adapalene 0.1% gel")
    # then
    assert CatalogueItem.objects.filter(name="Adapalene 0.1% gel").count() == 2


def test_a_generic_alternative_is_of_the_same_clinic_and_not_the_item_itself(clinic,
                                                                             other_clinic):
    # given
    item = CatalogueItemFactory(clinic=clinic)
    item.generic_alternative = CatalogueItemFactory(clinic=other_clinic)
    # when / then
    with pytest.raises(ValidationError) as refused:
        item.full_clean()
    assert "generic_alternative" in refused.value.message_dict
    item.generic_alternative = item
    with pytest.raises(ValidationError):
        item.full_clean()


def test_the_generic_saving_is_the_difference_in_monthly_cost(clinic):
    # given
    generic = CatalogueItemFactory(clinic=clinic, monthly_cost=Decimal("9.50"))
    original = CatalogueItemFactory(clinic=clinic, monthly_cost=Decimal("18.00"),
                                    generic_alternative=generic)
    # then
    assert original.generic_saving == Decimal("8.50")
    assert generic.generic_saving is None


@pytest.mark.parametrize(("frequency", "weekdays", "every_n_days", "field"), [
    ("weekdays", "", None, "weekdays"),
    ("every_n_days", "", None, "every_n_days"),
    ("daily", "9", None, "weekdays"),
])
def test_a_schedule_needs_its_details(clinic, frequency, weekdays, every_n_days, field):
    item = CatalogueItem(clinic=clinic, name="X", kind="topical", frequency=frequency,
                         weekdays=weekdays, every_n_days=every_n_days)
    with pytest.raises(ValidationError) as refused:
        item.full_clean()
    assert field in refused.value.message_dict


def test_a_ramp_up_needs_its_length_and_how_often():
    step = TemplateStepFactory(ramp_days=28, ramp_every_n_days=None)
    with pytest.raises(ValidationError) as refused:
        step.full_clean()
    assert "ramp_days" in refused.value.message_dict


def test_an_item_a_template_uses_cannot_be_deleted():
    # given
    step = TemplateStepFactory()
    # when / then
    with pytest.raises(ProtectedError):
        step.catalogue_item.delete()
    assert TemplateStep.objects.filter(pk=step.pk).exists()
