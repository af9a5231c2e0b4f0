"""The read API's own documents: the CapabilityStatement, SMART App Launch discovery, and the
searchset Bundle a search answers with. Pure: callers pass the absolute URLs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from interop.mapping import FHIR_VERSION
from interop.scopes import DEFAULT_SYSTEM_SCOPES, LAUNCH_PATIENT
from interop.selectors import RESOURCE_TYPES, SEARCH_PARAMETERS

# The date this statement last changed (FHIR requires one; not the day it is read).
CAPABILITY_DATE = "2026-12-07"
SMART_OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
RESTFUL_SECURITY = "http://terminology.hl7.org/CodeSystem/restful-security-service"

# The searches each type answers (name -> FHIR search parameter type), as the selectors
# accept them (``tests/interop/test_api.py`` checks each is accepted). ``_id`` everywhere.
# The FHIR type of each search parameter the selectors accept (which ones each resource type
# takes is defined once, in ``interop.selectors.SEARCH_PARAMETERS``).
PARAMETER_KINDS: dict[str, str] = {
    "_id": "token", "patient": "reference", "entity": "reference", "status": "token",
    "code": "token", "authored": "date", "url": "uri",
}
# The parameters of the search itself (paging and format), never passed to the selectors.
RESULT_PARAMS = frozenset({"_count", "_offset", "_format"})
DEFAULT_COUNT, MAX_COUNT = 50, 200


def search_params_of(resource_type: str) -> dict[str, str]:
    """The search parameters of ``resource_type`` with their FHIR types, as the
    CapabilityStatement lists them."""
    return {name: PARAMETER_KINDS[name]
            for name in sorted(SEARCH_PARAMETERS.get(resource_type, ()))}


@dataclass(frozen=True)
class Endpoints:
    """Absolute URLs of the FHIR base and the OAuth endpoints."""

    base: str
    authorize: str
    token: str
    revoke: str


def capability_statement(endpoints: Endpoints) -> dict[str, Any]:
    """What the server does (FHIR R4 4.0.1, JSON, read and search of every type, SMART on FHIR
    OAuth 2.0)."""
    oauth_uris = [{"url": "token", "valueUri": endpoints.token},
                  {"url": "authorize", "valueUri": endpoints.authorize},
                  {"url": "revoke", "valueUri": endpoints.revoke}]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": CAPABILITY_DATE,
        "publisher": "Alliance Portal",
        "kind": "instance",
        "software": {"name": "Alliance Portal"},
        "implementation": {"description": "Alliance Portal FHIR R4 read API",
                           "url": endpoints.base},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {
                "cors": False,
                "service": [{"coding": [{"system": RESTFUL_SECURITY, "code": "SMART-on-FHIR"}],
                             "text": "OAuth 2.0 with SMART v2 scopes"}],
                "extension": [{"url": SMART_OAUTH_URIS, "extension": oauth_uris}],
            },
            "resource": [{
                "type": resource_type,
                "interaction": [{"code": "read"}, {"code": "search-type"}],
                "searchParam": [{"name": name, "type": kind}
                                for name, kind in search_params_of(resource_type).items()],
            } for resource_type in RESOURCE_TYPES],
        }],
    }


def smart_configuration(endpoints: Endpoints) -> dict[str, Any]:
    """SMART App Launch discovery (``.well-known/smart-configuration``)."""
    return {
        "authorization_endpoint": endpoints.authorize,
        "token_endpoint": endpoints.token,
        "revocation_endpoint": endpoints.revoke,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": [DEFAULT_SYSTEM_SCOPES, "system/*.r", "system/*.s",
                             "patient/*.rs", "patient/*.r", "patient/*.s", LAUNCH_PATIENT,
                             *(f"{context}/{kind}.rs" for context in ("system", "patient")
                               for kind in RESOURCE_TYPES)],
        "capabilities": ["launch-standalone", "client-public", "client-confidential-symmetric",
                         "context-standalone-patient", "permission-patient", "permission-v1",
                         "permission-v2"],
    }


class PagingError(ValueError):
    """A ``_count`` or ``_offset`` that is no number (400)."""


@dataclass(frozen=True)
class Paging:
    count: int
    offset: int


def paging_of(params: Mapping[str, str]) -> Paging:
    """``_count`` (default 50, at most 200; 0 asks for the total only) and ``_offset``."""
    try:
        count = int(params.get("_count", DEFAULT_COUNT))
        offset = int(params.get("_offset", 0))
    except ValueError:
        raise PagingError("_count and _offset are whole numbers.") from None
    if count < 0 or offset < 0:
        raise PagingError("_count and _offset are zero or more.")
    return Paging(count=min(count, MAX_COUNT), offset=offset)


def searchset_bundle(*, base: str, resource_type: str, criteria: Mapping[str, str],
                     matches: Sequence[dict[str, Any]], paging: Paging) -> dict[str, Any]:
    """A page of ``matches`` as a searchset Bundle, with its total and self / next / previous
    links (the same criteria, another ``_offset``)."""
    page = matches[paging.offset:paging.offset + paging.count]

    def link(relation: str, offset: int) -> dict[str, str]:
        query = urlencode({**criteria, "_count": paging.count, "_offset": offset})
        return {"relation": relation, "url": f"{base}/{resource_type}?{query}"}

    links = [link("self", paging.offset)]
    if paging.count and paging.offset + paging.count < len(matches):
        links.append(link("next", paging.offset + paging.count))
    if paging.offset > 0 and paging.count:
        links.append(link("previous", max(0, paging.offset - paging.count)))
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(matches),
        "link": links,
        "entry": [{"fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
                   "resource": resource, "search": {"mode": "match"}} for resource in page],
    }
