"""The admin site, scoped: a clinic administrator sees and changes only their own clinic.

Every ModelAdmin on the site is one of two kinds (``tests/security/test_admin_scope.py``
checks it):

- ``ClinicScopedAdmin``: its queryset, its foreign-key choices and its filters stop at the
  clinic administrator's clinic, so another clinic's object id is a 404. What a clinic
  administrator may do there (view, change, add, delete) is written on the class, from their
  role: Django's permission tables grant a non-superuser nothing here, so a stray permission
  row cannot widen the scope.
- ``SuperuserOnlyAdmin``: the platform operator's alone (authenticators, e-mail addresses,
  groups).

The platform operator (``is_superuser``) sees every clinic. Both kinds write an audit event for
every addition, change and deletion, besides Django's own admin log; actions write their own.
The audit row holds the model and the primary key, never a field's value.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import Http404, HttpRequest

from .models import AuditEvent, Patient, User
from .selectors import administered_clinic_id
from .services import audit_record

Permission = str  # "view", "change", "add" or "delete"


def admin_object_type(model: type[models.Model] | models.Model) -> str:
    """``admin_<model>`` as the audit trail names an admin change (``admin_clinic``...)."""
    return "admin_" + str(model._meta.verbose_name).replace(" ", "_")


def _patient_concerned(obj: models.Model) -> Patient | None:
    if isinstance(obj, Patient):
        return obj
    if isinstance(obj, User):
        return getattr(obj, "patient", None)
    patient = getattr(obj, "patient", None)
    return patient if isinstance(patient, Patient) else None


class AuditedAdmin(admin.ModelAdmin):
    """Every addition, change and deletion made through this ModelAdmin is an audit event.
    Django calls these hooks inside the transaction that saves the change."""

    def audit(self, request: HttpRequest, obj: models.Model, action: str) -> None:
        audit_record(
            actor=request.user,
            # A deleted patient cannot be referred to (the audit row would protect it).
            patient=None if action == AuditEvent.Action.DELETE else _patient_concerned(obj),
            action=action, object_type=admin_object_type(obj), object_id=str(obj.pk),
        )

    def log_addition(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        self.audit(request, obj, AuditEvent.Action.CREATE)
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        self.audit(request, obj, AuditEvent.Action.CHANGE)
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        for obj in queryset:
            self.audit(request, obj, AuditEvent.Action.DELETE)
        return super().log_deletions(request, queryset)

    def _get_obj_does_not_exist_redirect(self, request: HttpRequest, opts: Any,
                                         object_id: str) -> Any:
        # Django redirects to the index with "… with ID 7 doesn't exist"; foreign or missing,
        # an id outside the scope is a plain 404 here as everywhere in the project.
        raise Http404


class ClinicScopedAdmin(AuditedAdmin):
    """A ModelAdmin a clinic administrator may use, limited to their own clinic."""

    # The lookup from this model to its clinic's id (override ``scope`` when one is not enough).
    clinic_field = "clinic"
    # What a clinic administrator may do here; the platform operator may do everything.
    clinic_admin_may: frozenset[Permission] = frozenset({"view", "change"})
    # Filters that would list every clinic: shown to the platform operator only.
    operator_only_filters: tuple[str, ...] = ("clinic",)

    def scope(self, queryset: models.QuerySet, clinic_id: int) -> models.QuerySet:
        return queryset.filter(**{self.clinic_field: clinic_id})

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        clinic_id = administered_clinic_id(request.user)
        return queryset.none() if clinic_id is None else self.scope(queryset, clinic_id)

    def clinic_admin_may_do(self, request: HttpRequest, permission: Permission,
                            obj: models.Model | None = None) -> bool:
        if administered_clinic_id(request.user) is None or permission not in self.clinic_admin_may:
            return False
        # Objects normally come through the scoped queryset already; this guards the others.
        return obj is None or obj.pk is None or \
            self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_module_permission(self, request: HttpRequest) -> bool:
        if request.user.is_superuser:
            return super().has_module_permission(request)
        return administered_clinic_id(request.user) is not None

    def has_view_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        if request.user.is_superuser:
            return super().has_view_permission(request, obj)
        return self.clinic_admin_may_do(request, "view", obj) or \
            self.clinic_admin_may_do(request, "change", obj)

    def has_change_permission(self, request: HttpRequest,
                              obj: models.Model | None = None) -> bool:
        if request.user.is_superuser:
            return super().has_change_permission(request, obj)
        return self.clinic_admin_may_do(request, "change", obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        if request.user.is_superuser:
            return super().has_add_permission(request, *args)
        return self.clinic_admin_may_do(request, "add")

    def has_delete_permission(self, request: HttpRequest,
                              obj: models.Model | None = None) -> bool:
        if request.user.is_superuser:
            return super().has_delete_permission(request, obj)
        return self.clinic_admin_may_do(request, "delete", obj)

    def _related_choices(self, request: HttpRequest, model: type[models.Model]) -> models.QuerySet:
        related_admin = self.admin_site._registry.get(model)
        if isinstance(related_admin, ClinicScopedAdmin):
            return related_admin.get_queryset(request)
        return model._default_manager.none()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if not request.user.is_superuser:
            kwargs["queryset"] = self._related_choices(request, db_field.related_model)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest,
                                 **kwargs: Any) -> Any:
        if not request.user.is_superuser:
            kwargs["queryset"] = self._related_choices(request, db_field.related_model)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = super().get_list_filter(request)
        if request.user.is_superuser:
            return filters
        return [f for f in filters if f not in self.operator_only_filters]

    def get_autocomplete_fields(self, request: HttpRequest) -> Any:
        # One clinic's choices fit a plain select, already scoped above.
        return super().get_autocomplete_fields(request) if request.user.is_superuser else ()


class SuperuserOnlyAdmin(AuditedAdmin):
    """Only the platform operator opens these; a clinic administrator gets a 403."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return request.user.is_superuser and super().has_view_permission(request, obj)

    def has_change_permission(self, request: HttpRequest,
                              obj: models.Model | None = None) -> bool:
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_delete_permission(self, request: HttpRequest,
                              obj: models.Model | None = None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)
