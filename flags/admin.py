"""A clinic's flag thresholds (docs/flags.md): one row per clinic, the defaults without one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from accounts.admin_scope import ClinicScopedAdmin
from accounts.models import Clinic
from accounts.selectors import administered_clinic_id

from .models import FlagSettings


class FlagSettingsForm(forms.ModelForm):
    """What a clinic may tune: the sensitivity, the minimum data behind a usual level, when
    a fall counts as "at the same time", the sweep hour. Each field's validators bound it
    (docs/flags.md)."""

    class Meta:
        model = FlagSettings
        # Every setting (the admin leaves out the clinic for a clinic administrator).
        fields = [f.name for f in FlagSettings._meta.concrete_fields if f.name != "id"]


@admin.register(FlagSettings)
class FlagSettingsAdmin(ClinicScopedAdmin):
    clinic_admin_may = frozenset({"view", "change", "add"})
    form = FlagSettingsForm
    list_display = ["__str__", "sensitivity", "min_usual_logged_days", "sweep_hour"]
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
