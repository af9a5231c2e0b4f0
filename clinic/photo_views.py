"""The clinic's side of the photo diary: a patient's photos by area, two compared side by side
with how the days before each went, dermatologists' notes, and the clinic's own body areas.

The page is opened through ``patient_record_for_clinician`` (audited as "photos"); each image
it shows is its own audited read (``photos.views.clinic_photo_image``).
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.decorators import clinician_required
from accounts.models import AuditEvent, Patient
from accounts.selectors import membership_of, patient_record_for_clinician, role_of
from photos import selectors as photos
from photos.services import body_area_add, photo_note_add

from .forms import BodyAreaForm, PhotoNoteForm
from .photo_compare import COMPARE_PERIOD_DAYS, comparison

DERMATOLOGIST_ONLY = ("dermatologist",)


@clinician_required
def patient_photos(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = patient_record_for_clinician(user=request.user, patient_id=patient_id,
                                           object_type="photos")
    return _photos_page(request, patient)


def _photos_page(request: HttpRequest, patient: Patient, *, status: int = 200,
                 note_form: tuple[UUID, PhotoNoteForm] | None = None,
                 area_form: BodyAreaForm | None = None) -> HttpResponse:
    summary = photos.photo_summary(patient)
    is_derm = role_of(request.user) == "dermatologist"
    return render(request, "clinic/patient_photos.html", {
        "patient": patient, "summary": summary, "is_derm": is_derm,
        "comparison": comparison(
            patient, summary.timelines, area=request.GET.get("area", ""),
            before=request.GET.get("before", ""), after=request.GET.get("after", "")),
        "period_days": COMPARE_PERIOD_DAYS,
        "note_form_for": note_form[0] if note_form else None,
        "note_form": note_form[1] if note_form else PhotoNoteForm(),
        "area_form": area_form or BodyAreaForm(),
        "areas": photos.areas_for(patient),
    }, status=status)


@clinician_required
def photo_note_add_view(request: HttpRequest, patient_id: int, photo_id: UUID) -> HttpResponse:
    """POST: a dermatologist's note on one of the patient's photos. A bad note re-shows the
    page with the reason (and the text typed), nothing saved."""
    patient = patient_record_for_clinician(
        user=request.user, patient_id=patient_id, roles=DERMATOLOGIST_ONLY,
        object_type="photo_note", object_id=str(photo_id),
        action=AuditEvent.Action.CHANGE if request.method == "POST" else AuditEvent.Action.VIEW)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    photo = photos.photo_of_patient(patient=patient, public_id=photo_id)
    form = PhotoNoteForm(request.POST)
    if form.is_valid():
        try:
            photo_note_add(photo=photo, author=request.user, text=form.cleaned_data["text"],
                           now=timezone.now())
        except ValueError as refused:
            form.add_error("text", str(refused))
    if not form.is_valid():
        return _photos_page(request, patient, status=400, note_form=(photo.public_id, form))
    messages.success(request, _("Note saved. The patient sees it beside the photo."))
    return redirect(f"{_photos_url(patient)}#photo-{photo.public_id}")


@clinician_required
def body_area_add_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    """POST: a new body area for the dermatologist's clinic (from a patient's photos page)."""
    patient = patient_record_for_clinician(
        user=request.user, patient_id=patient_id, roles=DERMATOLOGIST_ONLY,
        object_type="photos",
        action=AuditEvent.Action.CHANGE if request.method == "POST" else AuditEvent.Action.VIEW)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = BodyAreaForm(request.POST)
    if form.is_valid():
        try:
            area = body_area_add(clinic=membership_of(request.user).clinic,
                                 name=form.cleaned_data["name"])
        except ValueError as refused:
            form.add_error("name", str(refused))
    if not form.is_valid():
        return _photos_page(request, patient, status=400, area_form=form)
    messages.success(request, _("%(area)s added. Your clinic's patients can choose it now.")
                     % {"area": area.label})
    return redirect(f"{_photos_url(patient)}#areas-heading")


def _photos_url(patient: Patient) -> str:
    return reverse("patient_photos", args=[patient.pk])
