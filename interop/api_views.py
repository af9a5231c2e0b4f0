"""The FHIR R4 read API (JSON only) and its discovery documents.

Every answer is ``application/fhir+json``. The caller is whoever the bearer token says
(``interop.auth.fhir_access``): a missing, unknown, expired or revoked token is 401; a token
without the scope for the type and interaction is 403; an id outside the caller's patients is
404, the same answer as an id that does not exist. What is returned is audited (one event per
patient, ``interop.services.api_reads_audit``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe
from oauth2_provider.models import Application
from oauth2_provider.views import AuthorizationView

from accounts.selectors import own_patient_of
from interop.api_documents import (
    RESULT_PARAMS,
    Endpoints,
    PagingError,
    capability_statement,
    paging_of,
    searchset_bundle,
    smart_configuration,
)
from interop.auth import FhirAccess, fhir_access
from interop.responses import fhir_response, not_found, operation_outcome, unauthorized
from interop.scopes import consent_lines
from interop.selectors import (
    CLINIC_ONLY_TYPES,
    RESOURCE_TYPES,
    SearchError,
    patient_facing,
    resource_read,
    resource_search,
)
from interop.services import api_reads_audit

# ``_format`` values meaning JSON; anything else (XML) is not served.
JSON_FORMATS = frozenset({"json", "application/json", "application/fhir+json"})


def _endpoints(request: HttpRequest) -> Endpoints:
    def absolute(name: str) -> str:
        return request.build_absolute_uri(reverse(name))

    return Endpoints(base=absolute("fhir_metadata").removesuffix("/metadata"),
                     authorize=absolute("oauth2_provider:authorize"),
                     token=absolute("oauth2_provider:token"),
                     revoke=absolute("oauth2_provider:revoke-token"))


def _not_json(request: HttpRequest) -> HttpResponse | None:
    wanted = request.GET.get("_format")
    if wanted is not None and wanted not in JSON_FORMATS:
        return operation_outcome(status=406, code="not-supported",
                                 text="Only JSON is served (_format=json).")
    return None


@require_safe
def metadata(request: HttpRequest) -> HttpResponse:
    """The CapabilityStatement: open to anyone, as FHIR expects."""
    return _not_json(request) or fhir_response(capability_statement(_endpoints(request)))


@require_safe
def smart_configuration_view(request: HttpRequest) -> HttpResponse:
    return JsonResponse(smart_configuration(_endpoints(request)))


def _access_to(request: HttpRequest, resource_type: str, permission: str
               ) -> FhirAccess | HttpResponse:
    """The caller's access to ``resource_type``, or the answer refusing it."""
    access = fhir_access(request)
    if access is None:
        return unauthorized()
    if resource_type not in RESOURCE_TYPES:
        return operation_outcome(status=404, code="not-supported",
                                 text=f"This server has no resource type {resource_type}.")
    if access.patient is not None and resource_type in CLINIC_ONLY_TYPES:
        return operation_outcome(status=403, code="forbidden",
                                 text=f"{resource_type} is the clinic's working note, not shared "
                                      f"with apps a patient allows.")
    if not access.allows(resource_type, permission):
        interaction = "read" if permission == "r" else "search"
        return operation_outcome(status=403, code="forbidden",
                                 text=f"The token's scopes do not allow {interaction} of "
                                      f"{resource_type}.")
    return access


@require_safe
def read(request: HttpRequest, resource_type: str, resource_id: str) -> HttpResponse:
    access = _access_to(request, resource_type, "r")
    if isinstance(access, HttpResponse):
        return access
    if refused := _not_json(request):
        return refused
    resource = resource_read(resource_type=resource_type, resource_id=resource_id,
                             clinic=access.clinic, patients=access.patients())
    if resource is not None and access.patient is not None:
        resource = patient_facing(resource)
    if resource is None:
        return not_found()
    api_reads_audit(access=access, resource_type=resource_type, resources=[resource])
    return fhir_response(resource)


@require_safe
def search(request: HttpRequest, resource_type: str) -> HttpResponse:
    access = _access_to(request, resource_type, "s")
    if isinstance(access, HttpResponse):
        return access
    if refused := _not_json(request):
        return refused
    repeated = [key for key, values in request.GET.lists() if len(values) > 1]
    if repeated:
        return operation_outcome(status=400, code="not-supported",
                                 text=f"Search parameter given twice: {repeated[0]}")
    params = request.GET.dict()
    criteria = {key: value for key, value in params.items() if key not in RESULT_PARAMS}
    if refused := _too_wide(access, resource_type, criteria):
        return refused
    try:
        paging = paging_of(params)
        matches = resource_search(resource_type=resource_type, clinic=access.clinic,
                                  patients=access.patients(), params=criteria)
        if access.patient is not None:
            matches = [seen for seen in map(patient_facing, matches) if seen is not None]
    except (SearchError, PagingError) as error:
        return operation_outcome(status=400, code="invalid", text=str(error))
    bundle = searchset_bundle(base=_endpoints(request).base, resource_type=resource_type,
                              criteria=criteria, matches=matches, paging=paging)
    api_reads_audit(access=access, resource_type=resource_type,
                    resources=[entry["resource"] for entry in bundle["entry"]])
    return fhir_response(bundle)


# Types with hundreds of thousands of resources in a clinic: a system client searches them one
# patient at a time (a search is built in memory to be paged); the whole clinic is $export's.
PER_PATIENT_SEARCH = {"QuestionnaireResponse": "patient", "Observation": "patient",
                      "AuditEvent": "entity"}


def _too_wide(access: FhirAccess, resource_type: str,
              criteria: dict[str, str]) -> HttpResponse | None:
    narrowing = PER_PATIENT_SEARCH.get(resource_type)
    if access.patient is not None or narrowing is None or criteria.get(narrowing) or (
            narrowing == "entity" and criteria.get("patient")):
        return None
    return operation_outcome(
        status=400, code="too-costly",
        text=f"Search {resource_type} for one patient ({narrowing}=Patient/<id>); "
             f"for the whole clinic use Group/<clinic id>/$export.")


def _origins(redirect_uris: str) -> list[str]:
    """CSP sources of an app's redirect URIs: ``https://host`` (or ``scheme:`` for an app's
    own scheme)."""
    sources = set()
    for uri in redirect_uris.split():
        parts = urlsplit(uri)
        sources.add(f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:")
    return sorted(sources)


def _patient_for_themself(request: HttpRequest) -> bool:
    """Only a patient acting for themself may let an app read their record: not a clinician,
    not a caregiver (even one who is a patient too, while acting for someone else)."""
    return (own_patient_of(request.user) is not None
            and getattr(request.user, "acting_for", None) is None)


class ConsentView(AuthorizationView):
    """The toolkit's authorization endpoint (``/o/authorize/``), on the portal's own page:
    which app asks to read what, Allow or Deny. Anyone but a patient acting for themself is
    refused with a page saying why."""

    template_name = "interop/authorize.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not _patient_for_themself(request):
            return render(request, "interop/authorize_refused.html", status=403)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        # The toolkit looks the posted client id up with .get(): a tampered one would be a 500.
        if not Application.objects.filter(client_id=form.cleaned_data["client_id"]).exists():
            return render(request=self.request, template_name=self.template_name, status=400,
                          context={"error": {"error": "invalid_client"}})
        return super().form_valid(form)

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **kwargs)
        application = context.get("application")
        if application is not None:
            # Allow sends the browser on to the app: the page's CSP (form-action 'self') must
            # let the form's redirect go to the app's registered addresses, and only there.
            response._csp_update = {"form-action": _origins(application.redirect_uris)}
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["asks"] = consent_lines(list(kwargs.get("scopes", [])))
        return context
