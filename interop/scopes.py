"""Which SMART v2 scopes an OAuth client may be granted (django-oauth-toolkit's
``SCOPES_BACKEND_CLASS``), and what each means in a patient's words.

The API reads only, so a scope is ``<context>/<Type or *>.<r, s or rs>`` (SMART v1's ``.read``
is accepted as ``.rs``, ``interop.auth.scope_parse``). The toolkit checks a request's scopes
against a list, so the list is every such scope: small (contexts x types x four permission
spellings) and derived from ``RESOURCE_TYPES``.

- A clinic's system client (``ClinicClient``): ``system/`` scopes covered by its
  ``allowed_scopes``; nothing once it is revoked.
- Any other application is a patient's app (authorization code + PKCE): ``patient/`` scopes,
  plus ``launch/patient`` (SMART's standalone launch: the token names the patient).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.text import capfirst
from django.utils.translation import gettext
from oauth2_provider.models import AbstractApplication
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes
from oauthlib.oauth2.rfc6749 import errors as oauth2_errors

from accounts.access_log_views import API_READ_WORDS
from accounts.models import Patient
from interop.auth import SmartScope, scope_parse
from interop.selectors import RESOURCE_TYPES

SYSTEM, PATIENT = "system", "patient"
# SMART's standalone patient launch: the token response carries the patient's id.
LAUNCH_PATIENT = "launch/patient"
READ_PERMISSIONS = ("rs", "r", "s", "read")
DEFAULT_SYSTEM_SCOPES = "system/*.rs"
DEFAULT_PATIENT_SCOPES = ("patient/*.rs", LAUNCH_PATIENT)

def all_scopes(context: str) -> list[str]:
    """Every read scope of ``context`` the API understands."""
    return [f"{context}/{kind}.{permissions}"
            for kind in ("*", *RESOURCE_TYPES) for permissions in READ_PERMISSIONS]


def _covered(scope: str, by: list[SmartScope]) -> bool:
    """Whether every permission of ``scope`` is granted by one of ``by`` (a wildcard scope
    only by a wildcard grant)."""
    parsed = scope_parse(scope)
    return parsed is not None and all(
        any(grant.context == parsed.context and grant.covers(parsed.resource_type, permission)
            for grant in by)
        for permission in parsed.permissions)


def _system_client(application: AbstractApplication | None) -> Any:
    return getattr(application, "clinic_client", None) if application is not None else None


def system_scopes_allowed(allowed_scopes: str) -> list[str]:
    """The ``system/`` scopes a client registered with ``allowed_scopes`` may be granted."""
    grants = [s for s in (scope_parse(t) for t in allowed_scopes.split())
              if s is not None and s.context == SYSTEM]
    return [scope for scope in all_scopes(SYSTEM) if _covered(scope, grants)]


def unknown_system_scopes(allowed_scopes: str) -> list[str]:
    """The words of ``allowed_scopes`` that are no ``system/`` read scope (registration refuses
    them)."""
    return [word for word in allowed_scopes.split() if word not in all_scopes(SYSTEM)]


def describe(scope: str) -> str:
    """A scope in a patient's words ("read your care plan")."""
    if scope == LAUNCH_PATIENT:
        return gettext("know which record at the clinic is yours")
    parsed = scope_parse(scope)
    if parsed is None:
        return scope
    what = str(API_READ_WORDS.get(parsed.resource_type, parsed.resource_type))
    if parsed.permissions == frozenset("s"):
        return gettext("search %(what)s") % {"what": what}
    return gettext("read %(what)s") % {"what": what}


def consent_lines(scopes: list[str]) -> list[str]:
    """What a patient's app asks for, one line per kind of data ("Read your care plan"); a
    wildcard is spelled out type by type, so the patient sees everything it covers."""
    lines: list[str] = []
    for scope in scopes:
        parsed = scope_parse(scope)
        if parsed is None or parsed.resource_type != "*":
            lines.append(capfirst(describe(scope)))
            continue
        for kind in RESOURCE_TYPES:
            lines.append(capfirst(describe(f"{parsed.context}/{kind}."
                                           f"{''.join(sorted(parsed.permissions))}")))
    return list(dict.fromkeys(lines))


class SmartScopes(BaseScopes):
    def get_all_scopes(self) -> dict[str, str]:
        scopes = [*all_scopes(SYSTEM), *all_scopes(PATIENT), LAUNCH_PATIENT]
        return {scope: describe(scope) for scope in scopes}

    def get_available_scopes(self, application: AbstractApplication | None = None,
                             request: HttpRequest | None = None, *args: Any,
                             **kwargs: Any) -> list[str]:
        client = _system_client(application)
        if client is not None:
            return [] if client.revoked_at else system_scopes_allowed(client.allowed_scopes)
        return [*all_scopes(PATIENT), LAUNCH_PATIENT]

    def get_default_scopes(self, application: AbstractApplication | None = None,
                           request: HttpRequest | None = None, *args: Any,
                           **kwargs: Any) -> list[str]:
        client = _system_client(application)
        if client is not None:
            return [] if client.revoked_at else client.allowed_scopes.split()
        return list(DEFAULT_PATIENT_SCOPES)


class PortalOAuth2Validator(OAuth2Validator):
    """The toolkit's validator (``OAUTH2_VALIDATOR_CLASS``), and: PKCE is S256 only; a revoked
    system client cannot authenticate; a patient's app that asked for ``launch/patient`` is told the
    patient's id with its token (SMART standalone launch)."""

    def validate_scopes(self, client_id: str, scopes: list[str], client: Any, request: Any,
                        *args: Any, **kwargs: Any) -> bool:
        # The authorization request's scopes are checked right after its PKCE method: the one
        # place to refuse "plain" (or none, which means plain) before the consent page shows.
        method = getattr(request, "code_challenge_method", None)
        if getattr(request, "code_challenge", None) is not None and method != "S256":
            raise oauth2_errors.UnsupportedCodeChallengeMethodError(request=request)
        return super().validate_scopes(client_id, scopes, client, request, *args, **kwargs)

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        client = _system_client(request.client)
        return client is None or client.revoked_at is None

    def save_bearer_token(self, token: dict[str, Any], request: Any, *args: Any,
                          **kwargs: Any) -> Any:
        saved = super().save_bearer_token(token, request, *args, **kwargs)
        user = getattr(request, "user", None)
        if (LAUNCH_PATIENT in token.get("scope", "").split() and user is not None
                and _system_client(request.client) is None):
            patient = Patient.objects.filter(user_id=user.pk).values_list("pk", flat=True).first()
            if patient is not None:
                token["patient"] = str(patient)
        return saved
