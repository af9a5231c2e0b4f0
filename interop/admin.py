"""The OAuth toolkit's own admin pages would show client secrets and tokens across clinics:
they are not registered. A clinic's system clients are managed through ``ClinicClient``:
registered (the secret shown once, on the page right after), listed and revoked, each clinic
administrator their own clinic's (``accounts/admin_scope.py``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from accounts.admin_scope import ClinicScopedAdmin
from accounts.models import Clinic
from accounts.selectors import administered_clinic_id
from interop.models import ClinicClient
from interop.scopes import unknown_system_scopes
from interop.services import clinic_client_register, clinic_client_revoke

for _model in (get_application_model(), get_access_token_model(), get_grant_model(),
               get_id_token_model(), get_refresh_token_model()):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


def _curl_example(request: HttpRequest, scopes: str) -> str:
    """How to get a token and read with it (the secret left as a placeholder)."""
    token_url = request.build_absolute_uri(reverse("oauth2_provider:token"))
    fhir_base = request.build_absolute_uri(reverse("fhir_metadata")).removesuffix("/metadata")
    return (f'curl -s -u "CLIENT_ID:CLIENT_SECRET" -d grant_type=client_credentials '
            f'-d "scope={scopes}" {token_url}\n'
            f'curl -s -H "Authorization: Bearer ACCESS_TOKEN" "{fhir_base}/Patient"')


class ClinicClientAddForm(forms.ModelForm):
    """Register a system client: its name and scopes (and, for the platform operator, its
    clinic). The secret is made by ``clinic_client_register`` and shown once."""

    name = forms.CharField(max_length=150, help_text='What the clinic calls it, e.g. "Epic '
                                                     'bridge". Patients see this name.')

    class Meta:
        model = ClinicClient
        fields = ["allowed_scopes"]
        help_texts = {"allowed_scopes": "SMART v2 system scopes, space-separated: system/*.rs "
                                        "for the whole record, or e.g. system/CarePlan.rs."}

    def clean_allowed_scopes(self) -> str:
        scopes = self.cleaned_data["allowed_scopes"]
        unknown = unknown_system_scopes(scopes)
        if unknown or not scopes.split():
            raise forms.ValidationError(f"Not a system read scope: {' '.join(unknown)}")
        return " ".join(scopes.split())


class OperatorClinicClientAddForm(ClinicClientAddForm):
    class Meta(ClinicClientAddForm.Meta):
        fields = ["clinic", "allowed_scopes"]


@admin.register(ClinicClient)
class ClinicClientAdmin(ClinicScopedAdmin):
    """A clinic's system clients for the FHIR API. A clinic administrator registers and revokes
    their own clinic's; nothing here shows a secret except the page right after adding one."""

    clinic_admin_may = frozenset({"view", "add", "change"})
    list_display = ["name", "client_id", "allowed_scopes", "registered_at", "revoked_at",
                    "clinic"]
    list_filter = ["clinic"]
    list_select_related = ["application", "clinic"]
    actions = ["revoke"]
    readonly_fields = ["name", "client_id", "clinic", "allowed_scopes", "registered_by",
                       "registered_at", "revoked_at"]

    def get_list_display(self, request: HttpRequest) -> Any:
        return self.list_display if request.user.is_superuser else self.list_display[:-1]

    @admin.display(description="Name", ordering="application__name")
    def name(self, client: ClinicClient) -> str:
        return client.application.name

    @admin.display(description="Client id")
    def client_id(self, client: ClinicClient) -> str:
        return client.application.client_id

    def get_readonly_fields(self, request: HttpRequest, obj: ClinicClient | None = None) -> Any:
        return () if obj is None else self.readonly_fields

    def get_fields(self, request: HttpRequest, obj: ClinicClient | None = None) -> Any:
        if obj is None:
            return (["name", "clinic", "allowed_scopes"] if request.user.is_superuser
                    else ["name", "allowed_scopes"])
        return self.readonly_fields

    def get_form(self, request: HttpRequest, obj: ClinicClient | None = None,
                 **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = (OperatorClinicClientAddForm if request.user.is_superuser
                              else ClinicClientAddForm)
            kwargs["fields"] = None  # the form's own
        return super().get_form(request, obj, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked, never deleted: its reads stay in the audit trail

    def save_model(self, request: HttpRequest, obj: ClinicClient, form: Any,
                   change: bool) -> None:
        if change:
            return  # nothing on a registered client changes but its revocation (the action)
        clinic = form.cleaned_data.get("clinic") or \
            Clinic.objects.get(pk=administered_clinic_id(request.user))
        registered = clinic_client_register(
            clinic=clinic, name=form.cleaned_data["name"],
            scopes=form.cleaned_data["allowed_scopes"], registered_by=request.user)
        obj.pk = registered.client.pk
        obj.application = registered.client.application
        obj.clinic = clinic
        # Kept on the request only, for the one page that shows it (response_add).
        request.registered_client = registered

    def response_add(self, request: HttpRequest, obj: ClinicClient,
                     post_url_continue: str | None = None) -> HttpResponse:
        registered = request.registered_client
        return TemplateResponse(request, "admin/interop/clinicclient/registered.html", {
            **self.admin_site.each_context(request),
            "title": f"{registered.client.application.name} is registered",
            "opts": self.model._meta, "registered": registered,
            "curl": _curl_example(request, registered.client.allowed_scopes),
        })

    @admin.action(description="Revoke the selected clients (their tokens stop at once)",
                  permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        now = timezone.now()
        for client in queryset:
            # Audited by the service, as the command's revocation is.
            clinic_client_revoke(client=client, revoked_by=request.user, now=now)
        self.message_user(request, f"Revoked {queryset.count()} client(s).")
