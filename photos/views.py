"""The patient's "Photos" page and the image responses (patient's own; a clinician's clinic's).

Images are served only through these views: decrypted per request, never cached by a browser
or proxy (``no-store``), and every clinician read audited.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.decorators import clinician_required, patient_required
from accounts.models import Patient
from accounts.selectors import patient_of

from . import selectors, services
from .forms import PhotoForm, WithdrawForm
from .imaging import PhotoRefused
from .models import Photo


@patient_required
def photos_page(request: HttpRequest) -> HttpResponse:
    """GET: the diary (or the consent to read first). POST: add a photo."""
    patient = patient_of(request.user)
    consent = selectors.consent_of(patient)
    areas = selectors.areas_for(patient)
    form = PhotoForm(areas=areas, initial={"area": _area_asked(request, areas)
                                           or _area_of_latest(patient)})
    back_to = _safe_next(request)
    status = 200
    if request.method == "POST" and consent is not None:
        form = PhotoForm(request.POST, request.FILES, areas=areas)
        if form.is_valid():
            try:
                photo = services.photo_add(
                    patient=patient, by=request.user, area=form.cleaned_data["area"],
                    upload=form.cleaned_data["photo"], size=form.cleaned_data["photo"].size,
                    now=timezone.now())
            except PhotoRefused as refused:
                form.add_error("photo", str(refused))
            except services.NoPhotoConsent:
                return redirect("photos")
            else:
                messages.success(request, _("Photo saved (%(area)s). Only you and your care "
                                            "team can see it.") % {"area": photo.area.label})
                return redirect(back_to or "photos")
        status = 400
    elif request.method == "POST":
        return redirect("photos")  # no consent (withdrawn in another tab): the page says so
    photos = list(selectors.photos_of(patient))
    today = patient.local_date(timezone.now())
    every_weeks = selectors.plan_photo_every_weeks(patient, today=today)
    return render(request, "photos/photos.html", {
        "consent": consent, "form": form, "timelines": selectors.timelines(photos),
        "last_by_area_urls": _last_by_area_urls(photos), "back_to": back_to,
        "today": today,
        "next_photo_on": selectors.next_photo_on(patient, every_weeks=every_weeks),
        "withdrawn_before": consent is None and selectors.consent_ever_withdrawn(patient),
        "declined": consent is None and selectors.declined_on(patient) is not None,
        "deleted_count": selectors.deleted_photos_count(patient),
        "withdraw_form": WithdrawForm(),
    }, status=status)


def _area_asked(request: HttpRequest, areas: object) -> int | None:
    """The area a link asked for (Today's "Take this week's photo"), else the last one used."""
    raw = request.GET.get("area", "")
    if raw.isdigit() and areas.filter(pk=int(raw)).exists():
        return int(raw)
    return None


def _area_of_latest(patient: Patient) -> int | None:
    latest = selectors.latest_photo(patient)
    return latest.area_id if latest else None


def _safe_next(request: HttpRequest) -> str:
    """Where the form came from (Today's photo card), if it is a path of this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return ""


def today_photo_card(patient: Patient, *, today: date) -> dict:
    """Today's photo card: ``ask`` is "due" (with the upload form, its area preselected:
    the last photo's, else the first), "invite" (a line linking to the Photos page, where
    consent is asked) or "" (nothing shown)."""
    every_weeks = selectors.plan_photo_every_weeks(patient, today=today)
    ask = selectors.photo_ask(patient, every_weeks=every_weeks, today=today)
    if ask != "due":
        return {"ask": ask}
    areas = selectors.areas_for(patient)
    first = areas.first()
    form = PhotoForm(areas=areas, initial={
        "area": _area_of_latest(patient) or (first.pk if first else None)})
    photos = list(selectors.photos_of(patient))
    return {"ask": ask, "form": form, "last_by_area_urls": _last_by_area_urls(photos)}


def _last_by_area_urls(photos: list[Photo]) -> dict[int, str]:
    """Each area's latest photo's image URL by area id: the camera guide's faint overlay."""
    return {photo.area_id: reverse("my_photo_image", args=[photo.public_id]) for photo in photos}


@patient_required
@require_POST
def photo_consent_give(request: HttpRequest) -> HttpResponse:
    services.photo_consent_give(patient=patient_of(request.user), by=request.user,
                                now=timezone.now())
    messages.success(request, _("Thank you. You can add photos now, and withdraw at any time."))
    return redirect("photos")


@patient_required
@require_POST
def photo_consent_decline(request: HttpRequest) -> HttpResponse:
    services.photo_invitation_decline(patient=patient_of(request.user), now=timezone.now())
    messages.success(request, _("We will not ask you for photos. If you change your mind, you "
                                "can agree on the Photos page at any time."))
    return redirect("today")


@patient_required
@require_POST
def photo_consent_withdraw(request: HttpRequest) -> HttpResponse:
    patient = patient_of(request.user)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        photos = list(selectors.photos_of(patient))
        return render(request, "photos/photos.html", {
            "consent": selectors.consent_of(patient), "timelines": selectors.timelines(photos),
            "form": PhotoForm(areas=selectors.areas_for(patient)),
            "last_by_area_urls": _last_by_area_urls(photos), "withdraw_form": form,
            "deleted_count": selectors.deleted_photos_count(patient),
        }, status=400)
    deleted = services.photo_consent_withdraw(patient=patient, by=request.user,
                                              now=timezone.now())
    messages.success(request, ngettext(
        "Consent withdrawn. %(count)d photo was deleted for good; we will not ask for photos.",
        "Consent withdrawn. %(count)d photos were deleted for good; we will not ask for photos.",
        deleted) % {"count": deleted})
    return redirect("photos")


@patient_required
def my_photo_image(request: HttpRequest, photo_id: UUID) -> HttpResponse:
    photo = selectors.photo_of_patient(patient=patient_of(request.user), public_id=photo_id)
    return _image_response(photo, thumbnail=False)


@patient_required
def my_photo_thumbnail(request: HttpRequest, photo_id: UUID) -> HttpResponse:
    photo = selectors.photo_of_patient(patient=patient_of(request.user), public_id=photo_id)
    return _image_response(photo, thumbnail=True)


@clinician_required
def clinic_photo_image(request: HttpRequest, photo_id: UUID) -> HttpResponse:
    photo = selectors.photo_for_clinician(user=request.user, public_id=photo_id)
    return _image_response(photo, thumbnail=False)


@clinician_required
def clinic_photo_thumbnail(request: HttpRequest, photo_id: UUID) -> HttpResponse:
    photo = selectors.photo_for_clinician(user=request.user, public_id=photo_id)
    return _image_response(photo, thumbnail=True)


def _image_response(photo: Photo, *, thumbnail: bool) -> HttpResponse:
    data = services.photo_image(photo, thumbnail=thumbnail)
    if data is None:  # deleted, or the thumbnail is not made yet: pages show a placeholder
        raise Http404
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "no-store, private"
    response["Content-Disposition"] = "inline"
    return response
