"""Writes of the FHIR API: registering and revoking OAuth clients, and auditing what the API
returned."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from oauth2_provider.generators import generate_client_id, generate_client_secret
from oauth2_provider.models import AccessToken, Application, RefreshToken

from accounts.models import NO_LOGIN_EMAIL_SUFFIX, AuditEvent, Clinic, User
from accounts.record_visits import api_read_type
from accounts.services import audit_record
from interop.auth import FhirAccess
from interop.models import ClinicClient
from interop.scopes import DEFAULT_SYSTEM_SCOPES, unknown_system_scopes


class RegistrationError(ValueError):
    """A client that cannot be registered as asked (the message says why)."""


@dataclass(frozen=True)
class RegisteredClient:
    """A new client's credentials. The secret is shown to the registering person once: only
    its hash is kept."""

    client: ClinicClient
    client_id: str
    client_secret: str


def _service_user(name: str) -> User:
    """A system client's own account: never signs in (no usable password, inactive), no
    mailbox (a reserved ``.invalid`` address), no clinic membership (so no page opens to it).
    Named as the client, so audit trails name the app."""
    user = User.objects.create_user(
        email=f"app-{uuid.uuid4().hex}{NO_LOGIN_EMAIL_SUFFIX}", password=None,
        first_name=name[:150], is_active=False,
    )
    return user


@transaction.atomic
def clinic_client_register(*, clinic: Clinic, name: str, scopes: str = DEFAULT_SYSTEM_SCOPES,
                           registered_by: User | None) -> RegisteredClient:
    """A clinic's system client (client credentials, confidential) that may be granted
    ``system/`` read scopes within ``scopes``; it sees that clinic's patients only."""
    name = name.strip()
    if not name:
        raise RegistrationError("A client needs a name.")
    unknown = unknown_system_scopes(scopes)
    if unknown or not scopes.split():
        raise RegistrationError(
            f"Not a system read scope: {' '.join(unknown) or '(none given)'} "
            "(for example system/*.rs or system/CarePlan.rs).")
    service_user = _service_user(name)
    client_id, secret = generate_client_id(), generate_client_secret()
    application = Application.objects.create(
        name=name[:255], user=service_user, client_id=client_id, client_secret=secret,
        hash_client_secret=True, client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    client = ClinicClient.objects.create(
        application=application, clinic=clinic, service_user=service_user,
        allowed_scopes=" ".join(scopes.split()), registered_by=registered_by,
    )
    audit_record(actor=registered_by, patient=None, action=AuditEvent.Action.CREATE,
                 object_type="clinic_client", object_id=str(client.pk))
    return RegisteredClient(client=client, client_id=client_id, client_secret=secret)


@transaction.atomic
def clinic_client_revoke(*, client: ClinicClient, revoked_by: User | None,
                         now: datetime) -> ClinicClient:
    """Stop a system client: its tokens are deleted (the API answers 401) and it can get no
    new one. Once revoked it stays revoked; a clinic registers a new client instead."""
    client = ClinicClient.objects.select_for_update().get(pk=client.pk)
    if client.revoked_at is None:
        client.revoked_at = now
        client.save(update_fields=["revoked_at"])
        audit_record(actor=revoked_by, patient=None, action=AuditEvent.Action.CHANGE,
                     object_type="clinic_client_revoked", object_id=str(client.pk))
    RefreshToken.objects.filter(application_id=client.application_id).delete()
    AccessToken.objects.filter(application_id=client.application_id).delete()
    return client


@dataclass(frozen=True)
class RegisteredApp:
    application: Application
    client_id: str


@transaction.atomic
def patient_app_register(*, name: str, redirect_uris: Iterable[str],
                         registered_by: User | None) -> RegisteredApp:
    """An app patients may authorise for their own record: a public client (no secret; PKCE
    S256 instead) using the authorization code grant, sent back only to ``redirect_uris``."""
    name, uris = name.strip(), [uri.strip() for uri in redirect_uris if uri.strip()]
    if not name or not uris:
        raise RegistrationError("An app needs a name and at least one redirect URI.")
    application = Application(
        name=name[:255], user=None, client_id=generate_client_id(),
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(uris), skip_authorization=False,
    )
    try:
        application.full_clean(exclude=["client_secret", "user"])
    except ValidationError as error:
        raise RegistrationError("; ".join(error.messages)) from error
    application.save()
    audit_record(actor=registered_by, patient=None, action=AuditEvent.Action.CREATE,
                 object_type="patient_app", object_id=str(application.pk))
    return RegisteredApp(application=application, client_id=application.client_id)


def patient_ids_in(resource: dict[str, Any]) -> set[int]:
    """The patients a resource is about: a Patient itself, else every ``Patient/<id>``
    reference in it (subject, patient, recipient, an audit event's entity...)."""
    if resource.get("resourceType") == "Patient":
        return {int(resource["id"])} if str(resource.get("id", "")).isdigit() else set()
    found: set[int] = set()
    stack: list[Any] = [resource]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            reference = node.get("reference")
            if isinstance(reference, str) and reference.startswith("Patient/"):
                tail = reference.removeprefix("Patient/")
                if tail.isdigit():
                    found.add(int(tail))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


@transaction.atomic
def api_reads_audit(*, access: FhirAccess, resource_type: str,
                    resources: Iterable[dict[str, Any]]) -> int:
    """One audit event per patient whose data the API returned (as a clinician's page read is):
    the actor is the system client's service account or the patient who authorised the app;
    the object type names what was read, the object id the OAuth application
    (``accounts.record_visits``: "Who viewed my record" and the clinic's log name the app).
    Returns the number of events written."""
    ids: set[int] = set()
    for resource in resources:
        ids |= patient_ids_in(resource)
    if not ids:
        return 0
    patients = access.patients().filter(pk__in=ids).order_by("pk")
    written = 0
    for patient in patients:
        audit_record(actor=access.actor, patient=patient, action=AuditEvent.Action.VIEW,
                     object_type=api_read_type(resource_type),
                     object_id=str(access.application_id))
        written += 1
    return written

