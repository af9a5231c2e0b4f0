"""FHIR's way of answering: ``application/fhir+json`` bodies, errors as OperationOutcome."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse

FHIR_JSON = "application/fhir+json"


def fhir_response(resource: dict[str, Any], *, status: int = 200) -> HttpResponse:
    response = HttpResponse(json.dumps(resource, separators=(",", ":")),
                            content_type=f"{FHIR_JSON}; charset=utf-8", status=status)
    response["Cache-Control"] = "no-store"
    return response


def operation_outcome(*, status: int, code: str, text: str) -> HttpResponse:
    """An error: ``code`` from FHIR's issue-type value set (``not-found``, ``login``,
    ``forbidden``, ``invalid``, ``not-supported``...); ``text`` says what to change."""
    outcome = {"resourceType": "OperationOutcome",
               "issue": [{"severity": "error", "code": code, "diagnostics": text}]}
    return fhir_response(outcome, status=status)


def unauthorized() -> HttpResponse:
    """401 for a missing, unknown, expired or revoked token (RFC 6750)."""
    response = operation_outcome(status=401, code="login",
                                 text="A valid OAuth 2.0 bearer token is required.")
    response["WWW-Authenticate"] = 'Bearer realm="fhir"'
    return response


def not_found() -> HttpResponse:
    """The same answer for "does not exist" and "not yours"."""
    return operation_outcome(status=404, code="not-found", text="No such resource.")
