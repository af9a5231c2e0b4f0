"""FHIR Bulk Data export over HTTP (Bulk Data Access IG v2): kick-off, status, files.

Only a clinic's system client exports (a patient's app gets 403); everything else about an
export is the requesting client's alone: another client's export id, even of the same clinic,
is a 404, as is an expired one.
"""

from __future__ import annotations

from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from interop import bulk
from interop.auth import FhirAccess, fhir_access
from interop.models import BulkExport, ExportStatus
from interop.responses import not_found, operation_outcome, unauthorized

NDJSON = "application/fhir+ndjson"
RETRY_AFTER_SECONDS = 10


def _kick_off(request: HttpRequest, access: FhirAccess, level: str) -> HttpResponse:
    if access.patient is not None:
        return operation_outcome(status=403, code="forbidden",
                                 text="Bulk export is for a clinic's system client.")
    if "respond-async" not in request.headers.get("Prefer", ""):
        return operation_outcome(status=400, code="invalid",
                                 text="Bulk export requires the header Prefer: respond-async.")
    try:
        parsed = bulk.export_request_parse(params=request.GET.dict(), access=access)
    except bulk.ExportRequestError as error:
        return operation_outcome(status=400, code="invalid", text=str(error))
    except bulk.ExportForbidden as error:
        return operation_outcome(status=403, code="forbidden", text=str(error))
    export = bulk.bulk_export_start(access=access, level=level,
                                    request_url=request.build_absolute_uri(), request=parsed)
    response = HttpResponse(status=202)
    response["Content-Location"] = request.build_absolute_uri(
        reverse("fhir_bulk_status", kwargs={"export_id": export.pk}))
    return response


@require_http_methods(["GET"])
def group_export(request: HttpRequest, clinic_id: int) -> HttpResponse:
    """``GET Group/<clinic id>/$export``: the clinic is the group (its every patient)."""
    access = fhir_access(request)
    if access is None:
        return unauthorized()
    if clinic_id != access.clinic.pk:
        return not_found()
    return _kick_off(request, access, BulkExport.Level.GROUP)


@require_http_methods(["GET"])
def patient_export(request: HttpRequest) -> HttpResponse:
    """``GET Patient/$export``: every patient the client may see (its clinic's)."""
    access = fhir_access(request)
    if access is None:
        return unauthorized()
    return _kick_off(request, access, BulkExport.Level.PATIENT)


# DELETE comes from an API client with a bearer token and no cookie: the token, not a session,
# authorises it (tests/security/test_csrf.py lists the exemption).
@csrf_exempt
@require_http_methods(["GET", "DELETE"])
def export_status(request: HttpRequest, export_id: int) -> HttpResponse:
    """202 with progress while being written, 200 with the manifest when done, 500 when it
    failed; DELETE cancels it and deletes its files."""
    access = fhir_access(request)
    if access is None:
        return unauthorized()
    export = bulk.bulk_exports_visible(access=access, now=timezone.now()).filter(
        pk=export_id).first()
    if export is None:
        return not_found()
    if request.method == "DELETE":
        bulk.bulk_export_cancel(export=export)
        return HttpResponse(status=202)
    if export.status == ExportStatus.FAILED:
        return operation_outcome(status=500, code="exception", text=export.error)
    if export.status != ExportStatus.DONE:
        response = HttpResponse(status=202)
        # A header: the status's plain value (ASCII), not its translated label.
        response["X-Progress"] = f"{export.status} {export.progress}%"
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    def file_url(name: str) -> str:
        return request.build_absolute_uri(
            reverse("fhir_bulk_file", kwargs={"export_id": export.pk, "file_name": name}))

    manifest = bulk.bulk_export_manifest(export=export, file_url=file_url)
    response = JsonResponse(manifest)
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET"])
def export_file(request: HttpRequest, export_id: int, file_name: str) -> HttpResponse:
    """One NDJSON file of a done export, streamed, to the client that asked for it only."""
    access = fhir_access(request)
    if access is None:
        return unauthorized()
    export = bulk.bulk_exports_visible(access=access, now=timezone.now()).filter(
        pk=export_id).first()
    path = bulk.export_file_path(export, file_name) if export else None
    if path is None:
        return not_found()
    response = FileResponse(path.open("rb"), content_type=NDJSON)
    response["Cache-Control"] = "no-store"
    return response
