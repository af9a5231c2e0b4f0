"""Clinic administrators set up clinics, clinicians and memberships here."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import AuditEvent, Clinic, ClinicMembership, Invitation, Patient, User

# The admin signs in through allauth's form (rate limits, two-step verification, audit):
# Django's own admin login would bypass all three.
admin.site.login = secure_admin_login(admin.site.login)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_active", "is_staff"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Name", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),
    )


class MembershipInline(admin.TabularInline):
    model = ClinicMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "reminder_follow_up"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(ClinicMembership)
class ClinicMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "clinic", "role"]
    list_filter = ["clinic", "role"]
    autocomplete_fields = ["user"]


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    """Registry fields only; health data is reached through the portal, where reads are audited."""

    list_display = ["user", "clinic", "dermatologist", "timezone", "is_active"]
    list_filter = ["clinic", "is_active"]
    autocomplete_fields = ["user", "dermatologist"]
    search_fields = ["user__email", "user__last_name"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["patient", "invited_by", "created_at", "accepted_at"]
    readonly_fields = ["patient", "invited_by", "created_at", "accepted_at"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "patient", "action", "object_type", "allowed"]
    list_filter = ["action", "allowed"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
