"""The demo's catalogue: idempotent, realistic, and right about pregnancy."""

from decimal import Decimal

import pytest

from catalogue.models import CatalogueItem, RegimenTemplate, TemplateStep
from demo.seed.catalogue import seed_catalogue
from tests.factories import ClinicFactory

pytestmark = pytest.mark.django_db


def test_seeding_twice_adds_nothing_the_second_time(clinic):
    first = seed_catalogue(clinic)
    again = seed_catalogue(clinic)
    assert 30 <= first["catalogue_items"] <= 45
    assert first["regimen_templates"] == 4
    assert again == {"catalogue_items": 0, "regimen_templates": 0, "template_steps": 0}
    assert CatalogueItem.objects.filter(clinic=clinic).count() == first["catalogue_items"]


def test_retinoids_and_teratogenic_tablets_are_not_for_pregnancy(clinic):
    seed_catalogue(clinic)
    unsafe = set(CatalogueItem.objects.filter(clinic=clinic, pregnancy_unsafe=True)
                 .values_list("name", flat=True))
    for word in ("Adapalene", "Tretinoin", "Isotretinoin", "Methotrexate", "Doxycycline"):
        assert any(name.startswith(word) for name in unsafe), word
    safe = CatalogueItem.objects.filter(clinic=clinic, pregnancy_unsafe=False)
    assert safe.filter(name__startswith="Emollient").exists()
    assert not safe.filter(name__icontains="tretinoin").exists()


def test_every_generic_is_cheaper_and_every_template_ramps_sensibly(clinic):
    seed_catalogue(clinic)
    with_generic = CatalogueItem.objects.filter(clinic=clinic, generic_alternative__isnull=False)
    assert with_generic.count() >= 8
    assert all(i.generic_saving > 0 for i in with_generic)
    assert set(RegimenTemplate.objects.filter(clinic=clinic).values_list("name", flat=True)) == {
        "Acne starter", "Atopic dermatitis maintenance", "Psoriasis topical", "Rosacea"}
    retinoid = TemplateStep.objects.get(template__name="Acne starter",
                                        catalogue_item__name__startswith="Adapalene")
    assert (retinoid.ramp_every_n_days, retinoid.ramp_days, retinoid.frequency) == (3, 28,
                                                                                    "daily")
    for step in TemplateStep.objects.filter(template__clinic=clinic):
        step.full_clean()


def test_prices_follow_the_clinics_currency():
    clinic = ClinicFactory(currency="EUR")
    seed_catalogue(clinic)
    cleanser = CatalogueItem.objects.get(clinic=clinic, name="Gentle foaming cleanser")
    assert cleanser.monthly_cost == Decimal("7.60")  # 6.50 GBP


def test_the_demo_has_dated_schedules_and_a_course(clinic):
    # when
    seed_catalogue(clinic)
    # then: every item and step passes the same validation as the forms
    for obj in [*CatalogueItem.objects.filter(clinic=clinic),
                *TemplateStep.objects.filter(template__clinic=clinic)]:
        obj.full_clean()
    items = {i.name: i for i in CatalogueItem.objects.filter(clinic=clinic)}
    dupilumab = items["Dupilumab 300 mg pre-filled pen"]
    assert (dupilumab.frequency, dupilumab.every_n_weeks, dupilumab.window_days) == (
        "every_n_weeks", 2, 3)
    blood = items["Liver function blood test"]
    assert (blood.frequency, blood.day_of_month, blood.window_days) == ("monthly", 1, 5)
    course = TemplateStep.objects.get(template__clinic=clinic, template__name="Rosacea",
                                      catalogue_item__name__startswith="Doxycycline 40 mg")
    assert course.course_weeks == 12
