"""The admin site: a clinic administrator runs their own clinic here (its clinicians, its
patients' registry entries, its settings); the platform operator (a superuser) spans clinics.

Scoping, permissions and auditing live in ``accounts.admin_scope``. Nobody reads a secret or
sets another person's password here: an administrator emails a password-reset link instead.
"""

from __future__ import annotations

from typing import Any

from allauth.account.admin import EmailAddressAdmin as AllauthEmailAddressAdmin
from allauth.account.decorators import secure_admin_login
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from .admin_scope import ClinicScopedAdmin, SuperuserOnlyAdmin
from .models import AuditEvent, Clinic, ClinicMembership, Invitation, Patient, Role, User
from .selectors import administered_clinic_id
from .services import clinician_invite, membership_role_set, password_reset_email_send

# The admin signs in through allauth's form (rate limits, two-step verification, audit):
# Django's own admin login would bypass all three.
admin.site.login = secure_admin_login(admin.site.login)
# Likewise one's own password is changed on allauth's page (its rules, audit and sign-outs),
# not on the admin's own form.
admin.site.password_change = lambda request, extra_context=None: HttpResponseRedirect(
    reverse("account_change_password"))
admin.site.site_header = "Alliance Portal administration"
admin.site.site_title = "Alliance Portal administration"


def _send_password_resets(model_admin: admin.ModelAdmin, request: HttpRequest,
                          users: list[User]) -> None:
    sent = sum(password_reset_email_send(request=request, actor=request.user, user=user)
               for user in users)
    skipped = len(users) - sent
    if sent:
        model_admin.message_user(request, f"Emailed a password-reset link to {sent} "
                                          f"account{'s' if sent != 1 else ''}.")
    if skipped:
        model_admin.message_user(request, f"{skipped} deactivated account"
                                          f"{'s were' if skipped != 1 else ' was'} skipped.",
                                 level=messages.WARNING)


# --- People -----------------------------------------------------------------------------------


class InviteForm(forms.ModelForm):
    """A new clinician or clinic administrator: no password here, they are emailed a link."""

    role = forms.ChoiceField(choices=Role.choices)

    class Meta:
        model = User
        fields = ["email", "first_name", "last_name"]

    def clean_email(self) -> str:
        # No "already exists" error: the answer is the same for any address (clinician_invite).
        return self.cleaned_data["email"].strip().lower()

    def validate_unique(self) -> None:
        pass  # as clean_email: an address in use is answered like a new one


class OperatorInviteForm(InviteForm):
    clinic = forms.ModelChoiceField(queryset=Clinic.objects.all())


class UserForm(forms.ModelForm):
    """The change form: no password field at all (not even the hash summary)."""

    class Meta:
        model = User
        fields = ["first_name", "last_name", "is_active"]


@admin.register(User)
class UserAdmin(ClinicScopedAdmin, BaseUserAdmin):
    """A clinic's clinicians and patients' accounts: names and whether they may sign in."""

    clinic_admin_may = frozenset({"view", "change", "add"})
    form = UserForm
    add_form = InviteForm
    add_form_template = None  # Django's says "enter a username and password"
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "role", "is_active", "last_login"]
    list_filter = ["membership__role", "is_active"]
    list_select_related = ["membership", "patient"]
    search_fields = ["email", "first_name", "last_name"]
    actions = ["send_password_reset"]

    def scope(self, queryset: QuerySet, clinic_id: int) -> QuerySet:
        return queryset.filter(
            Q(membership__clinic_id=clinic_id) | Q(patient__clinic_id=clinic_id)
        ).exclude(is_superuser=True)

    @admin.display(description="Role")
    def role(self, user: User) -> str:
        try:
            return user.membership.get_role_display()
        except ClinicMembership.DoesNotExist:
            pass
        try:
            user.patient  # noqa: B018 - a patient account
            return "Patient"
        except Patient.DoesNotExist:
            return "-"

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> Any:
        if obj is None:
            fields = ["email", "first_name", "last_name", "role"]
            if request.user.is_superuser:
                fields.append("clinic")
            return ((None, {"fields": fields, "description": (
                "They are emailed a link to choose their password, then set up two-step "
                "verification when they first sign in.")}),)
        fieldsets: list[Any] = [
            (None, {"fields": ["email", "role"]}),
            ("Name", {"fields": ["first_name", "last_name"]}),
            ("Access", {"fields": ["is_active"], "description": (
                "A deactivated account cannot sign in. To help someone who forgot their "
                "password, use the \u201cEmail a password-reset link\u201d action on the list.")}),
            ("Dates", {"fields": ["last_login", "date_joined"]}),
        ]
        if request.user.is_superuser:
            fieldsets.insert(3, ("Platform operator", {"fields": [
                "is_staff", "is_superuser", "groups", "user_permissions"]}))
        return fieldsets

    def get_form(self, request: HttpRequest, obj: User | None = None, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = OperatorInviteForm if request.user.is_superuser else InviteForm
            kwargs["fields"] = None  # the form's own fields
            return admin.ModelAdmin.get_form(self, request, obj, **kwargs)
        if request.user.is_superuser:
            kwargs["fields"] = ["first_name", "last_name", "is_active", "is_staff",
                                "is_superuser", "groups", "user_permissions"]
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> Any:
        if obj is None:
            return ()
        readonly = ["email", "role", "last_login", "date_joined"]
        if obj.pk == request.user.pk:
            readonly.append("is_active")  # nobody locks themselves out
        return readonly

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if change:
            return super().save_model(request, obj, form, change)
        clinic = form.cleaned_data.get("clinic") or \
            Clinic.objects.get(pk=administered_clinic_id(request.user))
        clinician_invite(request=request, invited_by=request.user, clinic=clinic, user=obj,
                         role=form.cleaned_data["role"])
        return None

    def render_change_form(self, request: HttpRequest, context: dict, add: bool = False,
                           change: bool = False, form_url: str = "", obj: User | None = None
                           ) -> Any:
        if add:  # an invitation is sent, then the list: there is nothing to go on editing
            context.update(show_save_and_continue=False, show_save_and_add_another=False)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def log_addition(self, request: HttpRequest, obj: User, message: Any) -> Any:
        if obj.pk is None:  # the address already had an account: nothing was added
            return None
        return super().log_addition(request, obj, message)

    def response_add(self, request: HttpRequest, obj: User,
                     post_url_continue: str | None = None) -> HttpResponse:
        # One answer whether or not the address already had an account (clinician_invite).
        self.message_user(request, f"An invitation is on its way to {obj.email}.")
        return HttpResponseRedirect(reverse("admin:accounts_user_changelist"))

    def user_change_password(self, request: HttpRequest, id: str,
                             form_url: str = "") -> HttpResponse:
        # Nobody sets another person's password here, whatever their role: they email a
        # reset link (the action on the list). The operator's break-glass is the shell.
        raise PermissionDenied

    @admin.action(description="Email a password-reset link", permissions=["change"])
    def send_password_reset(self, request: HttpRequest, queryset: QuerySet) -> None:
        _send_password_resets(self, request, list(queryset))


class MembershipInline(admin.TabularInline):
    model = ClinicMembership
    extra = 0
    autocomplete_fields = ["user"]


class ClinicAdminForm(forms.ModelForm):
    class Meta:
        model = Clinic
        fields = ["caregiver_teen_age", "caregiver_adult_age"]  # the admin adds the rest

    def clean(self) -> dict:
        data = super().clean()
        teen, adult = data.get("caregiver_teen_age"), data.get("caregiver_adult_age")
        if teen is not None and adult is not None and adult <= teen:
            self.add_error("caregiver_adult_age",
                           "The adult age must be above the teenager's age.")
        return data


@admin.register(Clinic)
class ClinicAdmin(ClinicScopedAdmin):
    """The clinic's own settings; a clinic administrator sees their clinic's row only."""

    clinic_field = "pk"
    list_display = ["name", "timezone", "currency", "pulse_interval_days", "reminder_follow_up"]
    search_fields = ["name"]
    fieldsets = (
        (None, {"fields": ["name", "timezone", "currency"]}),
        ("Check-ins and reminders", {"fields": [
            "pulse_interval_days", "reminder_follow_up", "reminder_follow_up_time",
            "reminder_step_names"]}),
        ("Messages", {"fields": ["message_reply_days"]}),
        ("Caregivers (parents and guardians)", {
            "description": "Until the first age a parent or guardian sees a child's whole "
                           "record; from it, a teenager's routine while the teenager agrees; "
                           "from the second, nothing unless the adult patient grants it.",
            "fields": ["caregiver_teen_age", "caregiver_adult_age"]}),
    )
    form = ClinicAdminForm

    def get_inlines(self, request: HttpRequest, obj: Clinic | None) -> Any:
        # A clinic administrator manages memberships on their own page (scoped choices).
        return [MembershipInline] if request.user.is_superuser else []


@admin.register(ClinicMembership)
class ClinicMembershipAdmin(ClinicScopedAdmin):
    """Who works at the clinic, in which role. New clinicians are added under Users."""

    list_display = ["user", "email", "role", "clinic"]
    list_filter = ["clinic", "role"]
    list_select_related = ["user", "clinic"]
    search_fields = ["user__email", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user"]

    def scope(self, queryset: QuerySet, clinic_id: int) -> QuerySet:
        # As on the users' list: a platform operator is nobody's to change.
        return super().scope(queryset, clinic_id).exclude(user__is_superuser=True)

    @admin.display(description="Email", ordering="user__email")
    def email(self, membership: ClinicMembership) -> str:
        return membership.user.email

    def get_list_display(self, request: HttpRequest) -> Any:
        return self.list_display if request.user.is_superuser else self.list_display[:-1]

    def get_readonly_fields(self, request: HttpRequest, obj: ClinicMembership | None = None
                            ) -> Any:
        readonly = []
        if obj is not None and obj.user_id == request.user.pk:
            readonly.append("role")  # nobody demotes themselves out of the admin site
        if not request.user.is_superuser:
            readonly += ["user", "clinic"]
        return readonly

    def save_model(self, request: HttpRequest, obj: ClinicMembership, form: Any,
                   change: bool) -> None:
        super().save_model(request, obj, form, change)
        membership_role_set(membership=obj, role=obj.role)  # the admin site follows the role


@admin.register(Patient)
class PatientAdmin(ClinicScopedAdmin):
    """Registry fields only; health data is reached through the portal, where reads are audited."""

    list_display = ["user", "email", "dermatologist", "timezone", "is_active", "clinic"]
    list_filter = ["clinic", "is_active", ("dermatologist", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["user", "dermatologist", "clinic"]
    autocomplete_fields = ["user", "dermatologist"]
    search_fields = ["user__email", "user__first_name", "user__last_name"]
    fields = ["user", "clinic", "dermatologist", "timezone", "is_active"]
    actions = ["send_password_reset"]

    @admin.display(description="Email", ordering="user__email")
    def email(self, patient: Patient) -> str:
        return patient.user.email

    def get_list_display(self, request: HttpRequest) -> Any:
        return self.list_display if request.user.is_superuser else self.list_display[:-1]

    def get_readonly_fields(self, request: HttpRequest, obj: Patient | None = None) -> Any:
        return () if request.user.is_superuser else ("user", "clinic")

    @admin.action(description="Email a password-reset link", permissions=["change"])
    def send_password_reset(self, request: HttpRequest, queryset: QuerySet) -> None:
        _send_password_resets(self, request, [p.user for p in queryset.select_related("user")])


@admin.register(Invitation)
class InvitationAdmin(ClinicScopedAdmin):
    clinic_field = "patient__clinic"
    clinic_admin_may = frozenset({"view"})
    list_display = ["patient", "invited_by", "created_at", "accepted_at"]
    list_select_related = ["patient__user", "invited_by"]
    readonly_fields = ["patient", "invited_by", "created_at", "accepted_at"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # dermatologists invite patients from the portal


@admin.register(AuditEvent)
class AuditEventAdmin(ClinicScopedAdmin):
    clinic_admin_may = frozenset({"view"})
    list_display = ["at", "actor", "patient", "action", "object_type", "allowed"]
    list_filter = ["action", "allowed"]
    list_select_related = ["actor", "patient__user"]

    def scope(self, queryset: QuerySet, clinic_id: int) -> QuerySet:
        # The clinic's patients' events, and its members' own (sign-ins, admin changes): the
        # event's clinic. Not a member's refused attempt on another clinic's patient (that
        # event's clinic is the patient's; the portal's log lists it with the name masked).
        return queryset.filter(clinic_id=clinic_id)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- Other apps' models: the platform operator's only ----------------------------------------


class AuthenticatorAdmin(SuperuserOnlyAdmin):
    """Which authenticators a user has; never their secret (``data``). Deleting one lets a
    user who lost their phone enrol again; it is audited."""

    list_display = ["user", "type", "created_at", "last_used_at"]
    list_filter = ["type"]
    search_fields = ["user__email"]
    fields = ["user", "type", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EmailAddressAdmin(SuperuserOnlyAdmin, AllauthEmailAddressAdmin):
    pass


class GroupAdmin(SuperuserOnlyAdmin, BaseGroupAdmin):
    pass


for _model, _admin_class in ((Authenticator, AuthenticatorAdmin),
                             (EmailAddress, EmailAddressAdmin), (Group, GroupAdmin)):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, _admin_class)
