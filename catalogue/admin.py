"""The catalogue and templates in the admin site, scoped to a clinic administrator's clinic.
Nothing is deleted here (items are retired; templates taken out of use): plans and templates
were made from them. Template steps are edited on the clinic's template page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.admin_scope import ClinicScopedAdmin
from accounts.selectors import administered_clinic_id

from .models import CatalogueItem, RegimenTemplate


class _OwnClinicAdmin(ClinicScopedAdmin):
    clinic_admin_may = frozenset({"view", "change", "add"})

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_fields(request, obj))
        return fields if request.user.is_superuser else [f for f in fields if f != "clinic"]

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)
        if request.user.is_superuser:
            return form
        clinic_id = administered_clinic_id(request.user)

        class InTheirClinic(form):  # the clinic is known before validation (unique names)
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                if self.instance.clinic_id is None:
                    self.instance.clinic_id = clinic_id

        return InTheirClinic


@admin.register(CatalogueItem)
class CatalogueItemAdmin(_OwnClinicAdmin):
    list_display = ["name", "kind", "monthly_cost", "generic_alternative", "active"]
    list_filter = ["clinic", "kind", "active"]
    search_fields = ["name"]
    exclude = ["updated_at"]


@admin.register(RegimenTemplate)
class RegimenTemplateAdmin(_OwnClinicAdmin):
    list_display = ["name", "active"]
    list_filter = ["clinic", "active"]
    search_fields = ["name"]
