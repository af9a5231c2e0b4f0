"""A clinic's own patient-preference choices (the global ones are seeded by migration)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from accounts.admin_scope import ClinicScopedAdmin
from accounts.models import Clinic
from accounts.selectors import administered_clinic_id

from .models import Preference


@admin.register(Preference)
class PreferenceAdmin(ClinicScopedAdmin):
    """A clinic administrator adds and edits their clinic's preferences and reads the global
    ones (offered in every clinic), which only the platform operator changes. Nobody deletes
    one here: patients may hold it (tests/security/test_no_hard_delete.py)."""

    clinic_admin_may = frozenset({"view", "change", "add"})
    list_display = ["label", "key", "conflict", "offered_in", "position"]
    list_filter = ["clinic", "conflict"]
    search_fields = ["label", "key"]
    ordering = ["position", "label"]

    @admin.display(description="Offered in", ordering="clinic__name")
    def offered_in(self, preference: Preference) -> str:
        return str(preference.clinic) if preference.clinic_id else "Every clinic"

    def scope(self, queryset: QuerySet, clinic_id: int) -> QuerySet:
        return queryset.filter(Q(clinic_id=clinic_id) | Q(clinic__isnull=True))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.clinic_id is None and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = ["label", "key", "conflict", "position"]
        return [*fields, "clinic"] if request.user.is_superuser else fields

    def save_model(self, request: HttpRequest, obj: Preference, form: Any, change: bool) -> None:
        if not request.user.is_superuser:
            obj.clinic = Clinic.objects.get(pk=administered_clinic_id(request.user))
        super().save_model(request, obj, form, change)
