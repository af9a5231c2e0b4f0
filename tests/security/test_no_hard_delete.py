"""Check-ins and plans are never hard-deleted: the database protects them from their patient's
deletion, no page deletes them, and the admin site cannot."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import models
from django.db.models import ProtectedError
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver

from careplans.models import CarePlan, PlanRevision
from checkins.models import CheckIn
from checkins.services import checkin_submit
from tests.factories import PatientFactory, UserFactory, backdated_revision, item_draft

pytestmark = pytest.mark.django_db

HEALTH_RECORDS = {"accounts.Patient", "careplans.CarePlan", "careplans.PlanRevision",
                  "careplans.PlanItem", "checkins.CheckIn"}
# Parts of one check-in row (its step answers, its pulse): they go only with the check-in.
# Reminder settings are preferences, and unsubscribe links and push subscriptions credentials,
# not health history.
CASCADE_ALLOWED = {"checkins.StepLog.checkin", "checkins.AlliancePulse.checkin",
                   "reminders.ReminderSettings.patient", "reminders.UnsubscribeLink.patient",
                   "reminders.PushSubscription.patient"}
HISTORY_APPS = ("careplans", "checkins", "flags")


@pytest.fixture
def checked_in(derm, now):
    patient = PatientFactory(dermatologist=derm)
    backdated_revision(patient, author=derm, number=1, items=[item_draft()],
                       effective_from=patient.local_date(now) - timedelta(days=5))
    checkin_submit(patient=patient, local_date=patient.local_date(now), answers=None, now=now)
    return patient


def test_deleting_a_patient_with_check_ins_is_refused(checked_in):
    with pytest.raises(ProtectedError) as refused:
        checked_in.delete()
    protected = {type(obj) for obj in refused.value.protected_objects}
    assert {CheckIn, CarePlan} <= protected
    assert CheckIn.objects.filter(patient=checked_in).count() == 1


def test_deleting_a_care_plan_with_revisions_is_refused(checked_in):
    plan = CarePlan.objects.get(patient=checked_in)
    with pytest.raises(ProtectedError):
        plan.delete()
    with pytest.raises(ProtectedError):
        CarePlan.objects.filter(pk=plan.pk).delete()
    assert PlanRevision.objects.filter(plan=plan).exists()


def test_every_reference_to_a_health_record_protects_it():
    cascading = sorted(
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.ForeignKey) and field.concrete
        and field.related_model._meta.label in HEALTH_RECORDS
        and field.remote_field.on_delete is not models.PROTECT
    )
    assert set(cascading) <= CASCADE_ALLOWED, cascading


def _routes(resolver: URLResolver | None = None, prefix: str = ""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if not prefix and str(entry.pattern) == "admin/":
                continue  # the admin site is checked below, model by model
            yield from _routes(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name or ""


def test_no_page_deletes_anything_of_a_patient():
    deleting = [(route, name) for route, name in _routes()
                if any(word in f"{route} {name}".lower() for word in ("delete", "remove"))
                and not route.startswith("accounts/")]  # allauth's own e-mail and 2FA pages
    assert deleting == []


@pytest.mark.parametrize("app_label", HISTORY_APPS)
def test_the_admin_site_cannot_delete_check_ins_plans_or_flags(app_label):
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    for model in apps.get_app_config(app_label).get_models():
        model_admin = admin.site._registry.get(model)
        if model_admin is not None:
            assert not model_admin.has_delete_permission(request), model._meta.label
