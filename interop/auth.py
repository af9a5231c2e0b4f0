"""Who is calling the FHIR API and what they may read, from their OAuth 2.0 bearer token.

Two kinds of caller, both SMART v2 scopes (``<context>/<Type or *>.<permissions>``, e.g.
``system/CarePlan.rs``, ``patient/*.rs``):

- a clinic's system client (client credentials, ``system/`` scopes): that clinic's patients;
- an app a patient authorised for their own record (authorization code + PKCE, ``patient/``
  scopes): that patient only.

Everything the API reads goes through ``FhirAccess.patients()``: an id outside it is a 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import HttpRequest
from oauth2_provider.oauth2_backends import get_oauthlib_core

from accounts.models import Clinic, Patient, User

SCOPE_PATTERN = re.compile(
    r"^(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]+)"
    r"\.(?P<permissions>[cruds]+|read|write|\*)$"
)


@dataclass(frozen=True)
class SmartScope:
    context: str
    resource_type: str  # a FHIR type or "*"
    permissions: frozenset[str]  # of "c", "r", "u", "d", "s"

    def covers(self, resource_type: str, permission: str) -> bool:
        return self.resource_type in ("*", resource_type) and permission in self.permissions


def scope_parse(text: str) -> SmartScope | None:
    """One SMART scope; v1 ``.read`` reads as ``.rs``. None for anything else (openid...)."""
    match = SCOPE_PATTERN.match(text)
    if not match:
        return None
    permissions = match["permissions"]
    if permissions in ("read", "*"):
        permissions = "rs" if permissions == "read" else "cruds"
    elif permissions == "write":
        permissions = "cud"
    return SmartScope(match["context"], match["type"], frozenset(permissions))


@dataclass(frozen=True)
class FhirAccess:
    """A verified token's reach: one clinic, and one patient for a patient's app."""

    clinic: Clinic
    patient: Patient | None
    scopes: tuple[SmartScope, ...]
    # The audited actor: the patient's own account, or the system client's service account.
    actor: User
    application_id: int

    def patients(self) -> QuerySet[Patient]:
        found = Patient.objects.filter(clinic=self.clinic)
        return found.filter(pk=self.patient.pk) if self.patient else found

    def allows(self, resource_type: str, permission: str) -> bool:
        """``permission`` is "r" (read by id) or "s" (search, export)."""
        context = "patient" if self.patient else "system"
        return any(scope.context == context and scope.covers(resource_type, permission)
                   for scope in self.scopes)


def fhir_access(request: HttpRequest) -> FhirAccess | None:
    """The caller's access, or None when the token is missing, unknown, expired or revoked, or
    belongs to no clinic client and no patient (the API answers 401)."""
    valid, oauth_request = get_oauthlib_core().verify_request(request, scopes=[])
    if not valid:
        return None
    token = oauth_request.access_token
    scopes = tuple(s for s in (scope_parse(t) for t in token.scope.split()) if s)
    application = token.application
    client = getattr(application, "clinic_client", None)
    if client is not None:
        if client.revoked_at is not None:
            return None
        return FhirAccess(clinic=client.clinic, patient=None, scopes=scopes,
                          actor=client.service_user, application_id=application.pk)
    if token.user_id is None or not token.user.is_active:
        return None  # a patient's app stops with the patient's account
    patient = Patient.objects.select_related("clinic").filter(user_id=token.user_id).first()
    if patient is None:
        return None
    return FhirAccess(clinic=patient.clinic, patient=patient, scopes=scopes, actor=token.user,
                      application_id=application.pk)
