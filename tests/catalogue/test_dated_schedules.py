"""Catalogue items and template steps carry the dated schedules (every few weeks, monthly, once,
with a late window) and a course's length, relative to the plan's start; a plan made from them
has them in real dates."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from careplans.describe import when_text
from careplans.schedule import is_due
from careplans.services import plan_revise
from catalogue import csv_io
from catalogue.models import CatalogueItem, TemplateStep
from catalogue.selectors import catalogue_item_draft, template_item_drafts, template_step_values
from tests.clinic.test_plan_editor import ITEM, edit_url, editor_post
from tests.factories import (
    CatalogueItemFactory,
    RegimenTemplateFactory,
    TemplateStepFactory,
    plan_for,
)

pytestmark = pytest.mark.django_db

START = date(2026, 12, 7)  # a Monday


# --- Validation per kind -------------------------------------------------------------------

@pytest.mark.parametrize(("values", "field"), [
    ({"frequency": "every_n_weeks"}, "every_n_weeks"),
    ({"frequency": "monthly"}, "day_of_month"),
    ({"frequency": "every_n_weeks", "every_n_weeks": 2, "window_days": 14}, "window_days"),
    ({"frequency": "monthly", "day_of_month": 1, "window_days": 28}, "window_days"),
])
def test_a_dated_schedule_needs_its_details_and_a_window_shorter_than_the_gap(
        clinic, values, field):
    # given
    item = CatalogueItem(clinic=clinic, name="X", kind="injection", **values)
    # when
    with pytest.raises(ValidationError) as refused:
        item.full_clean()
    # then
    assert field in refused.value.message_dict


@pytest.mark.parametrize("values", [
    {"frequency": "every_n_weeks", "every_n_weeks": 2, "window_days": 13},
    {"frequency": "monthly", "day_of_month": 31, "window_days": 27, "course_weeks": 26},
    {"frequency": "once", "window_days": 3},
    {"frequency": "daily", "course_weeks": 12},
])
def test_each_kind_with_its_details_is_accepted(clinic, values):
    item = CatalogueItem(clinic=clinic, name="X", kind="oral", **values)
    item.full_clean()


def test_fields_a_kind_does_not_use_are_cleared(clinic):
    # given: a daily step with leftovers of another kind typed in
    step = TemplateStepFactory.build(
        template=RegimenTemplateFactory(clinic=clinic),
        catalogue_item=CatalogueItemFactory(clinic=clinic), frequency="daily",
        every_n_weeks=2, day_of_month=5, window_days=3, first_dose_after_days=7, course_weeks=4)
    # when
    step.full_clean()
    # then: only the course is kept
    assert (step.every_n_weeks, step.day_of_month, step.window_days,
            step.first_dose_after_days, step.course_weeks) == (None, None, None, 0, 4)


def test_a_once_step_has_no_course_and_a_ramp_up_is_not_for_injections(clinic):
    step = TemplateStep(template=RegimenTemplateFactory(clinic=clinic), position=1,
                        catalogue_item=CatalogueItemFactory(clinic=clinic),
                        time_of_day="morning", frequency="every_n_weeks", every_n_weeks=2,
                        ramp_days=14, ramp_every_n_days=2)
    with pytest.raises(ValidationError) as refused:
        step.full_clean()
    assert "ramp_days" in refused.value.message_dict


def test_the_wording_is_relative_to_the_plans_start(clinic):
    # given
    injection = TemplateStepFactory.build(
        catalogue_item=CatalogueItemFactory(clinic=clinic), time_of_day="morning",
        frequency="every_n_weeks", every_n_weeks=2, window_days=3, course_weeks=12)
    blood_test = TemplateStepFactory.build(
        catalogue_item=CatalogueItemFactory(clinic=clinic), time_of_day="morning",
        frequency="once", first_dose_after_days=28)
    course = CatalogueItemFactory.build(time_of_day="morning", frequency="daily",
                                        course_weeks=12)
    # then
    assert when_text(injection) == ("Every 2 weeks from the plan's first day, morning; a late "
                                    "one still counts for 3 days, for 12 weeks")
    assert when_text(blood_test) == "Once, 28 days after the plan starts, morning"
    assert when_text(course) == "Every morning, for 12 weeks"


# --- Template to plan ----------------------------------------------------------------------

@pytest.fixture
def rosacea(clinic):
    template = RegimenTemplateFactory(clinic=clinic, name="Rosacea")
    TemplateStepFactory(template=template, position=1, time_of_day="morning",
                        catalogue_item=CatalogueItemFactory(
                            clinic=clinic, name="Doxycycline 40 mg", kind="oral",
                            monthly_cost=Decimal("14.00")),
                        course_weeks=12)
    TemplateStepFactory(template=template, position=2, time_of_day="morning",
                        catalogue_item=CatalogueItemFactory(
                            clinic=clinic, name="Dupilumab pen", kind="injection"),
                        frequency="every_n_weeks", every_n_weeks=2, window_days=3,
                        first_dose_after_days=14)
    TemplateStepFactory(template=template, position=3, time_of_day="morning",
                        catalogue_item=CatalogueItemFactory(
                            clinic=clinic, name="Liver function blood test",
                            kind="procedure"),
                        frequency="monthly", day_of_month=1, window_days=5, course_weeks=26)
    return template


def test_template_drafts_carry_real_dates_from_the_plans_start(rosacea):
    # when
    doxy, dupi, blood = template_item_drafts(rosacea, starts_on=START)
    # then
    assert (doxy.starts_on, doxy.ends_on) == (None, START + timedelta(weeks=12, days=-1))
    assert (dupi.starts_on, dupi.every_n_weeks, dupi.window_days, dupi.ends_on) == (
        date(2026, 12, 21), 2, 3, None)
    assert (blood.starts_on, blood.day_of_month, blood.window_days, blood.ends_on) == (
        START, 1, 5, START + timedelta(weeks=26, days=-1))
    # and the editor's rows have the same dates
    assert [row["starts_on"] for row in template_step_values(rosacea, starts_on=START)] == [
        None, date(2026, 12, 21), START]


def test_a_plan_from_the_template_is_due_on_the_right_days(rosacea, derm, patient_a, now):
    # given
    today = patient_a.local_date(now)
    drafts = template_item_drafts(rosacea, starts_on=today)
    # when
    revision = plan_revise(patient=patient_a, author=derm, base_number=0, items=drafts,
                           reason="Rosacea regimen", reviews_on=today + timedelta(weeks=12),
                           now=now)
    # then
    doxy, dupi, blood = revision.items.order_by("position")
    last_day = today + timedelta(days=83)
    assert doxy.ends_on == last_day
    assert is_due(doxy, last_day)
    assert not is_due(doxy, last_day + timedelta(days=1))
    assert not is_due(dupi, today)
    first = today + timedelta(days=14)
    assert is_due(dupi, first)
    assert is_due(dupi, first + timedelta(days=3))
    assert not is_due(dupi, first + timedelta(days=4))
    assert is_due(dupi, first + timedelta(weeks=2))
    assert (blood.day_of_month, blood.window_days) == (1, 5)


def test_a_catalogue_items_course_counts_from_the_given_start(clinic):
    item = CatalogueItemFactory(clinic=clinic, kind="injection", frequency="every_n_weeks",
                                every_n_weeks=2, window_days=3)
    draft = catalogue_item_draft(item, starts_on=START)
    assert (draft.starts_on, draft.every_n_weeks, draft.window_days) == (START, 2, 3)


def test_the_editor_opens_a_template_with_dates_from_the_new_plans_start(
        client, derm, patient_a, rosacea, now):
    # given
    client.force_login(derm)
    today = patient_a.local_date(now)
    # when
    body = client.get(edit_url(patient_a) + f"?template={rosacea.pk}").content.decode()
    # then
    assert f'value="{(today + timedelta(days=14)).isoformat()}"' in body
    assert f'value="{(today + timedelta(days=83)).isoformat()}"' in body


def test_adding_a_dated_catalogue_item_to_a_running_plan_starts_it_today(
        client, derm, patient_a, clinic, now):
    # given: a plan that began 30 days ago
    today = patient_a.local_date(now)
    plan_for(patient_a, author=derm, starts_on=today - timedelta(days=30))
    item = CatalogueItemFactory(clinic=clinic, name="Dupilumab pen", kind="injection",
                                frequency="every_n_weeks", every_n_weeks=2, window_days=3)
    client.force_login(derm)
    # when
    body = client.post(edit_url(patient_a), editor_post(
        patient_a, [{**ITEM}], action="", base_number=1, add_item=str(item.pk))
    ).content.decode()
    # then
    assert f'name="items-1-starts_on" value="{today.isoformat()}"' in body
    assert 'name="items-1-every_n_weeks" value="2"' in body


# --- The template page ---------------------------------------------------------------------

def test_a_step_is_added_with_a_dated_schedule_and_shown_in_words(client, derm, clinic):
    # given
    template = RegimenTemplateFactory(clinic=clinic)
    item = CatalogueItemFactory(clinic=clinic, name="Dupilumab pen", time_of_day="morning")
    client.force_login(derm)
    # when
    response = client.post(reverse("template_step_add", args=[template.pk]), {
        "catalogue_item": item.pk, "frequency": "every_n_weeks", "every_n_weeks": "2",
        "window_days": "3", "first_dose_after_days": "", "course_weeks": "12",
        "day_of_month": "9"})
    # then
    assert response.status_code == 302
    step = template.steps.get()
    assert (step.every_n_weeks, step.window_days, step.course_weeks, step.day_of_month,
            step.first_dose_after_days) == (2, 3, 12, None, 0)
    page = client.get(reverse("template_detail", args=[template.pk])).content.decode()
    assert "Every 2 weeks from the plan&#x27;s first day, morning" in page
    assert 'class="stack schedule-form"' in page
    assert 'class="f-every_n_weeks"' in page


def test_a_step_missing_its_weeks_is_refused_and_nothing_saved(client, derm, clinic):
    template = RegimenTemplateFactory(clinic=clinic)
    item = CatalogueItemFactory(clinic=clinic)
    client.force_login(derm)
    response = client.post(reverse("template_step_add", args=[template.pk]), {
        "catalogue_item": item.pk, "frequency": "every_n_weeks", "window_days": "3"})
    assert response.status_code == 400
    assert "Say every how many weeks." in response.content.decode()
    assert not template.steps.exists()


def test_a_step_on_the_items_usual_schedule_takes_its_dated_details(client, derm, clinic):
    template = RegimenTemplateFactory(clinic=clinic)
    item = CatalogueItemFactory(clinic=clinic, frequency="monthly", day_of_month=1,
                                window_days=5)
    client.force_login(derm)
    client.post(reverse("template_step_add", args=[template.pk]), {"catalogue_item": item.pk})
    step = template.steps.get()
    assert (step.frequency, step.day_of_month, step.window_days) == ("monthly", 1, 5)


def test_the_item_form_saves_a_course(client, derm, clinic):
    client.force_login(derm)
    response = client.post(reverse("catalogue_item_add"), {
        "name": "Doxycycline 40 mg", "kind": "oral", "time_of_day": "morning",
        "frequency": "daily", "course_weeks": "12", "every_n_weeks": "3", "minutes": "1",
        "monthly_cost": "14.00"})
    assert response.status_code == 302
    item = CatalogueItem.objects.get(name="Doxycycline 40 mg")
    assert (item.course_weeks, item.every_n_weeks) == (12, None)


# --- CSV -----------------------------------------------------------------------------------

def test_csv_round_trip_keeps_the_dated_columns(clinic, other_clinic, other_derm, client):
    # given
    CatalogueItemFactory(clinic=clinic, name="Dupilumab pen", kind="injection",
                         frequency="every_n_weeks", every_n_weeks=2, window_days=3)
    CatalogueItemFactory(clinic=clinic, name="Liver function blood test", kind="procedure",
                         frequency="monthly", day_of_month=1, window_days=5)
    CatalogueItemFactory(clinic=clinic, name="Doxycycline 40 mg", kind="oral",
                         course_weeks=12)
    exported = csv_io.export_csv(CatalogueItem.objects.filter(clinic=clinic))
    client.force_login(other_derm)
    # when
    response = client.post(reverse("catalogue_import"), {"file": _file(exported)})
    # then
    assert response.status_code == 302
    got = {i.name: (i.frequency, i.every_n_weeks, i.day_of_month, i.window_days,
                    i.course_weeks) for i in CatalogueItem.objects.filter(clinic=other_clinic)}
    assert got == {"Dupilumab pen": ("every_n_weeks", 2, None, 3, None),
                   "Liver function blood test": ("monthly", None, 1, 5, None),
                   "Doxycycline 40 mg": ("daily", None, None, None, 12)}


def test_an_old_file_without_the_dated_columns_still_imports(client, derm, clinic):
    # given
    old = ("name,kind,instructions,time_of_day,frequency,weekdays,every_n_days,minutes,"
           "monthly_cost,generic_alternative,contains_fragrance,animal_derived,"
           "pregnancy_unsafe,active\r\n"
           "Dupilumab pen,injection,,morning,every_n_days,,14,5,0.00,,no,no,no,yes\r\n")
    client.force_login(derm)
    # when
    response = client.post(reverse("catalogue_import"), {"file": _file(old)})
    # then
    assert response.status_code == 302
    item = CatalogueItem.objects.get(clinic=clinic)
    assert (item.frequency, item.every_n_days, item.every_n_weeks) == ("every_n_days", 14, None)


def test_a_dated_row_without_its_weeks_is_refused_by_row(client, derm, clinic):
    client.force_login(derm)
    text = ("name,kind,frequency,every_n_weeks,window_days\r\n"
            "Dupilumab pen,injection,every_n_weeks,,3\r\n"
            "Adalimumab pen,injection,every_n_weeks,2,14\r\n")
    body = client.post(reverse("catalogue_import"), {"file": _file(text)}).content.decode()
    assert "Row 2: every_n_weeks" in body
    assert "Row 3: window_days" in body
    assert not CatalogueItem.objects.exists()


def test_the_import_page_documents_the_new_columns(client, derm):
    client.force_login(derm)
    body = client.get(reverse("catalogue_import")).content.decode()
    for column in ("every_n_weeks", "day_of_month", "window_days", "course_weeks"):
        assert column in body


def _file(text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("catalogue.csv", text.encode(), "text/csv")
