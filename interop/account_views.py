"""A patient's "Download my data" pages: ask for a download, watch it being prepared, fetch it.

Thin: the rules are in ``interop/patient_export.py``. Every export is read through the
requesting patient's own (``exports_of``): another patient's id is a 404. A caregiver acting
for a young child reaches these pages (``Section.DATA_EXPORT``); a teenager's caregiver does not.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import patient_required
from accounts.models import Patient
from accounts.selectors import patient_of

from . import patient_export
from .models import ExportStatus


def export_state(patient: Patient, *, now: datetime) -> dict:
    """What the page and the Account page's section show: the latest export and its state
    (an export past its date reads as expired before the sweep has deleted it)."""
    export = patient_export.latest_export(patient)
    state = export.status if export else "none"
    if state == ExportStatus.DONE and export.expires_at <= now:
        state = ExportStatus.EXPIRED
    return {"export": export, "state": state,
            "in_progress": state in patient_export.IN_PROGRESS,
            "exports_left": patient_export.exports_left(patient=patient, now=now),
            "exports_per_day": patient_export.EXPORTS_PER_DAY,
            "keep_days": settings.PATIENT_EXPORT_DAYS,
            "subject": _subject(patient)}


def _subject(patient: Patient) -> str:
    """Whose data: "" for the patient themself; the child's first name for a caregiver."""
    return patient.user.first_name or patient.user.display_name


@patient_required
@require_GET
def data_export_page(request: HttpRequest) -> HttpResponse:
    """The download's page; htmx asks for it again every 2 s while it is being prepared and
    takes only the status part."""
    patient = patient_of(request.user)
    context = export_state(patient, now=timezone.now())
    context["acting"] = getattr(request.user, "acting_for", None)
    if request.headers.get("HX-Request") == "true":
        return render(request, "interop/_data_export_status.html", context)
    return render(request, "interop/data_export.html", context)


@patient_required
@require_POST
def data_export_request_view(request: HttpRequest) -> HttpResponse:
    patient = patient_of(request.user)
    try:
        patient_export.data_export_request(patient=patient, requested_by=request.user,
                                           now=timezone.now())
    except patient_export.ExportLimitReached:
        messages.error(request, _(
            "You have already asked for %(n)s downloads in the last 24 hours, the most we "
            "allow. Your latest one is below; you can ask for a new one tomorrow.")
            % {"n": patient_export.EXPORTS_PER_DAY})
    return redirect("data_export")


@patient_required
@require_GET
def data_export_download(request: HttpRequest, data_export_id: int) -> FileResponse:
    patient = patient_of(request.user)
    export, path = patient_export.export_file(patient=patient, export_id=data_export_id,
                                              now=timezone.now())
    response = FileResponse(path.open("rb"), as_attachment=True,
                            filename=patient_export.download_name(export),
                            content_type="application/zip")
    response["Cache-Control"] = "no-store, private"
    return response
