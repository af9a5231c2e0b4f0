"""A template's steps are what the plan editor and ``plan_revise`` take: a plan revised from
them saves, in the template's order, and the fit check reads them."""

from datetime import timedelta
from decimal import Decimal

import pytest

from accounts.models import Patient
from careplans.forms import PlanItemFormSet
from careplans.models import Preference
from careplans.selectors import fit_report
from careplans.services import plan_revise, profile_update
from catalogue.selectors import (
    catalogue_item_draft,
    template_for,
    template_item_drafts,
    template_step_values,
)
from demo.seed.catalogue import TEMPLATES, seed_catalogue
from tests.factories import CatalogueItemFactory, RegimenTemplateFactory, TemplateStepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def acne_template(clinic):
    template = RegimenTemplateFactory(clinic=clinic, name="Acne starter")
    generic = CatalogueItemFactory(clinic=clinic, name="Adapalene 0.1% gel (generic)",
                                   monthly_cost=Decimal("9.50"), pregnancy_unsafe=True,
                                   instructions="Pea-sized amount")
    TemplateStepFactory(template=template, position=1, time_of_day="both",
                        catalogue_item=CatalogueItemFactory(
                            clinic=clinic, name="Gentle cleanser", kind="skincare",
                            monthly_cost=Decimal("6.50"), minutes=2))
    TemplateStepFactory(template=template, position=2, catalogue_item=generic,
                        ramp_every_n_days=3, ramp_days=28,
                        instructions="Every third night for four weeks, then nightly")
    TemplateStepFactory(template=template, position=3, time_of_day="morning",
                        frequency="weekdays", weekdays="03",
                        catalogue_item=CatalogueItemFactory(
                            clinic=clinic, name="Coal tar shampoo", contains_fragrance=True,
                            animal_derived=True))
    return template


def test_a_plan_revised_from_a_templates_steps_saves_them_in_order(acne_template, derm,
                                                                   patient_a, now):
    # given
    drafts = template_item_drafts(acne_template)
    # when
    revision = plan_revise(patient=patient_a, author=derm, base_number=0, items=drafts,
                           reason="Starting the acne regimen",
                           reviews_on=patient_a.local_date(now) + timedelta(weeks=12), now=now)
    # then
    items = list(revision.items.order_by("position"))
    assert [(i.position, i.name, i.time_of_day) for i in items] == [
        (1, "Gentle cleanser", "both"), (2, "Adapalene 0.1% gel (generic)", "evening"),
        (3, "Coal tar shampoo", "morning")]
    retinoid = items[1]
    assert (retinoid.ramp_every_n_days, retinoid.ramp_days) == (3, 28)
    assert retinoid.instructions == "Every third night for four weeks, then nightly"
    assert retinoid.pregnancy_unsafe
    assert (items[2].contains_fragrance, items[2].animal_derived) == (True, True)
    assert (items[2].frequency, items[2].weekdays) == ("weekdays", "03")
    assert revision.total_monthly_cost == Decimal("26.00")
    assert len({i.key for i in items}) == 3


def test_the_fit_check_reads_a_templates_steps(acne_template, derm, patient_a, now):
    # given
    profile_update(patient=patient_a, actor=derm,
                   data={"monthly_budget": Decimal("20.00"), "morning_minutes": 10,
                         "evening_minutes": 10},
                   preferences=Preference.objects.filter(key="pregnancy"))
    revision = plan_revise(patient=patient_a, author=derm, base_number=0,
                           items=template_item_drafts(acne_template), reason="From template",
                           reviews_on=patient_a.local_date(now) + timedelta(weeks=12), now=now)
    # when
    report = fit_report(patient_a, list(revision.items.all()))
    # then
    codes = {w.code for w in report.warnings}
    assert "budget" in codes
    assert any(code.startswith("pref:pregnancy") for code in codes)
    assert {w["code"] for w in revision.fit_warnings} == codes


def test_the_steps_fill_the_editors_rows_and_come_back_as_the_same_drafts(acne_template):
    # given: the values as the editor's formset ``initial``, posted back unchanged
    values = template_step_values(acne_template)
    data = {"items-TOTAL_FORMS": str(len(values)), "items-INITIAL_FORMS": "0",
            "items-MIN_NUM_FORMS": "0", "items-MAX_NUM_FORMS": "1000"}
    for index, row in enumerate(values):
        for field, value in row.items():
            if isinstance(value, bool):
                if value:
                    data[f"items-{index}-{field}"] = "on"
            elif isinstance(value, list):
                data[f"items-{index}-{field}"] = value
            else:
                data[f"items-{index}-{field}"] = "" if value is None else str(value)
    # when
    unbound = PlanItemFormSet(prefix="items", initial=values)
    formset = PlanItemFormSet(_querydict(data), prefix="items")
    # then
    assert len(unbound.forms) == len(values) + 1  # the rows, then the blank "add" row
    assert formset.is_valid(), formset.errors
    # (the editor saves its steps in routine order, morning then evening, which is where the
    # template's and the editor's positions may differ: tests/clinic/test_plan_editor_rows.py)
    posted = [d.__dict__ | {"key": None, "position": 0} for d in formset.drafts()]
    expected = [d.__dict__ | {"position": 0} for d in template_item_drafts(acne_template)]
    assert sorted(posted, key=lambda d: d["name"]) == sorted(expected, key=lambda d: d["name"])


def _querydict(data):
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for key, value in data.items():
        if isinstance(value, list):
            query.setlist(key, value)
        else:
            query[key] = value
    return query


def test_a_catalogue_item_alone_is_one_step_on_its_usual_schedule(clinic):
    item = CatalogueItemFactory(clinic=clinic, frequency="every_n_days", every_n_days=14,
                                kind="injection", weekdays="")
    draft = catalogue_item_draft(item, position=4)
    assert (draft.position, draft.kind, draft.every_n_days, draft.ramp_days) == (
        4, "injection", 14, None)


def test_each_demo_template_becomes_a_saved_plan(clinic, derm, now, django_assert_max_num_queries):
    # given
    seed_catalogue(clinic)
    templates = {t.name: t for t in clinic.regimen_templates.all()}
    # when
    saved = {}
    for name in TEMPLATES:
        patient = Patient.objects.get(pk=_patient(derm).pk)
        template = template_for(derm, templates[name].pk)
        with django_assert_max_num_queries(3):
            drafts = template_item_drafts(template)
        revision = plan_revise(patient=patient, author=derm, base_number=0, items=drafts,
                               reason=f"Starting {name}",
                               reviews_on=patient.local_date(now) + timedelta(weeks=12),
                               now=now)
        saved[name] = revision.items.count()
    # then
    assert saved == {name: len(steps) for name, (_d, steps) in TEMPLATES.items()}


def _patient(derm):
    from tests.factories import PatientFactory

    return PatientFactory(dermatologist=derm)


def test_a_dermatologist_starts_a_patients_plan_from_a_template(client, acne_template, derm,
                                                                patient_a):
    # given
    from django.urls import reverse

    client.force_login(derm)
    detail = client.get(reverse("patient_detail", args=[patient_a.pk])).content.decode()
    start = f"{reverse('plan_edit', args=[patient_a.pk])}?template={acne_template.pk}"
    # when
    editor = client.get(start)
    # then
    assert f'href="{start}"' in detail
    body = editor.content.decode()
    assert "Started from the template “Acne starter”" in body
    assert 'value="Adapalene 0.1% gel (generic)"' in body
    assert editor.context["editor"].fit.total_monthly_cost == Decimal("26.00")


def test_another_clinics_template_does_not_start_a_plan(client, derm, patient_a, other_clinic):
    from django.urls import reverse

    theirs = RegimenTemplateFactory(clinic=other_clinic)
    client.force_login(derm)
    url = reverse("plan_edit", args=[patient_a.pk])
    assert client.get(f"{url}?template={theirs.pk}").status_code == 404
    assert client.get(f"{url}?template=x1").status_code == 404
