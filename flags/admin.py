"""A clinic's flag thresholds (docs/flags.md): one row per clinic, the defaults without one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from accounts.admin_scope import ClinicScopedAdmin
from accounts.models import Clinic
from accounts.selectors import administered_clinic_id

from .models import FlagSettings


class FlagSettingsForm(forms.ModelForm):
    """Bounds the rules can work with: a zero window or count would make a rule divide by
    nothing or never fire, and a percentage is at most 100."""

    class Meta:
        model = FlagSettings
        # Every threshold (the admin leaves out the clinic for a clinic administrator).
        fields = [f.name for f in FlagSettings._meta.concrete_fields if f.name != "id"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for field in FlagSettings._meta.get_fields():
            value = cleaned.get(field.name)
            if not isinstance(field, models.PositiveSmallIntegerField) or value is None:
                continue
            if field.name == "sweep_hour":
                continue
            if value < 1:
                self.add_error(field.name, "Must be at least 1.")
            elif field.name.endswith("_percent") and value > 100:
                self.add_error(field.name, "A percentage is at most 100.")
            elif field.name.endswith("_days") and value > 365:
                self.add_error(field.name, "At most 365 days.")
        return cleaned


@admin.register(FlagSettings)
class FlagSettingsAdmin(ClinicScopedAdmin):
    clinic_admin_may = frozenset({"view", "change", "add"})
    form = FlagSettingsForm
    list_display = ["__str__", "recent_days", "baseline_days", "quiet_days", "sweep_hour"]
    list_select_related = ["clinic"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        # One row per clinic: a clinic administrator adds theirs once.
        clinic_id = administered_clinic_id(request.user)
        if clinic_id is not None and FlagSettings.objects.filter(clinic_id=clinic_id).exists():
            return False
        return super().has_add_permission(request, *args)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # nothing of the flags app is deleted from the admin site

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if request.user.is_superuser else ("clinic",)

    def save_model(self, request: HttpRequest, obj: FlagSettings, form: Any,
                   change: bool) -> None:
        if not request.user.is_superuser:
            obj.clinic = Clinic.objects.get(pk=administered_clinic_id(request.user))
        super().save_model(request, obj, form, change)
