"""Reads of the photo diary, each scoped to whoever asks: a patient their own, a clinician their
clinic's patients' (audited, like every other read of a record)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from accounts.models import AuditEvent, Patient, User
from accounts.selectors import clinic_patients_for, membership_of, role_of
from accounts.services import audit_record
from careplans.selectors import plan_of, revision_in_effect

from .models import BodyArea, Photo, PhotoConsent, PhotoDecline, PhotoNote


def consent_of(patient: Patient) -> PhotoConsent | None:
    """The open consent period, if the patient has given one."""
    return PhotoConsent.objects.filter(patient=patient, withdrawn_at__isnull=True).first()


def declined_on(patient: Patient) -> PhotoDecline | None:
    """When the patient said no to photos (before ever consenting), if they did."""
    return PhotoDecline.objects.filter(patient=patient).first()


def consent_ever_withdrawn(patient: Patient) -> bool:
    return PhotoConsent.objects.filter(patient=patient, withdrawn_at__isnull=False).exists()


def areas_for(patient: Patient) -> QuerySet[BodyArea]:
    """The areas a photo of ``patient`` may be of: the built-in list, then their clinic's."""
    return BodyArea.objects.filter(Q(clinic__isnull=True) | Q(clinic_id=patient.clinic_id),
                                   active=True).order_by("clinic_id", "position", "name", "id")


def _with_notes(photos: QuerySet[Photo]) -> QuerySet[Photo]:
    return photos.select_related("area").prefetch_related(
        Prefetch("notes", queryset=PhotoNote.objects.select_related("author")))


def photos_of(patient: Patient) -> QuerySet[Photo]:
    """The patient's photos still held (not deleted), oldest first, with area and notes."""
    return _with_notes(Photo.objects.filter(patient=patient, deleted_at__isnull=True))


def deleted_photos_count(patient: Patient) -> int:
    return Photo.objects.filter(patient=patient, deleted_at__isnull=False).count()


@dataclass
class AreaTimeline:
    area: BodyArea
    photos: list[Photo] = field(default_factory=list)

    @property
    def latest(self) -> Photo:
        return self.photos[-1]


def timelines(photos: QuerySet[Photo] | list[Photo]) -> list[AreaTimeline]:
    """``photos`` grouped by area (areas in their list order), each oldest first."""
    by_area: dict[int, AreaTimeline] = {}
    for photo in sorted(photos, key=lambda p: (p.area.clinic_id or 0, p.area.position,
                                                p.area.name, p.area_id, p.taken_on,
                                                p.uploaded_at, p.pk)):
        by_area.setdefault(photo.area_id, AreaTimeline(area=photo.area)).photos.append(photo)
    return list(by_area.values())


def last_photo_on(patient: Patient) -> date | None:
    return (Photo.objects.filter(patient=patient, deleted_at__isnull=True)
            .order_by("-taken_on").values_list("taken_on", flat=True).first())


def photo_due(patient: Patient, *, every_weeks: int | None, today: date) -> bool:
    """Whether Today should ask for a photo: the plan asks every N weeks, the patient has
    consented, and their last photo is N weeks old or more (or there is none)."""
    if not every_weeks or consent_of(patient) is None:
        return False
    last = last_photo_on(patient)
    return last is None or today - last >= timedelta(weeks=every_weeks)


def plan_photo_every_weeks(patient: Patient, *, today: date) -> int | None:
    """How often the plan in effect on ``today`` asks for a photo (None: never)."""
    plan = plan_of(patient)
    revision = revision_in_effect(plan, today) if plan else None
    return revision.photo_every_weeks if revision else None


def photo_ask(patient: Patient, *, every_weeks: int | None, today: date) -> str:
    """What Today says about photos when the plan in effect asks every ``every_weeks``:
    "due" (consented, and a photo is due), "invite" (the patient has not decided about
    consent yet: a one-line invitation), or "" (nothing: not due, no plan asking, or the patient
    said no or withdrew their consent, after which they are never asked again)."""
    if not every_weeks:
        return ""
    if consent_of(patient) is None:
        said_no = consent_ever_withdrawn(patient) or declined_on(patient) is not None
        return "" if said_no else "invite"
    return "due" if photo_due(patient, every_weeks=every_weeks, today=today) else ""


def next_photo_on(patient: Patient, *, every_weeks: int | None) -> date | None:
    """The day the next photo is asked for (None when the plan asks for none, or none is
    held yet: then it is due now)."""
    last = last_photo_on(patient)
    if not every_weeks or last is None:
        return None
    return last + timedelta(weeks=every_weeks)


def latest_photo(patient: Patient) -> Photo | None:
    """The most recently added photo still held."""
    return (Photo.objects.filter(patient=patient, deleted_at__isnull=True)
            .order_by("-taken_on", "-uploaded_at", "-pk").first())


def photo_of_patient(*, patient: Patient, public_id: UUID) -> Photo:
    """One of the patient's own photos (deleted ones too: their row says they were); 404 for
    anyone else's."""
    photo = Photo.objects.select_related("area").filter(patient=patient,
                                                        public_id=public_id).first()
    if photo is None:
        raise Http404
    return photo


def photo_for_clinician(*, user: User, public_id: UUID, object_type: str = "photo",
                        action: str = AuditEvent.Action.VIEW,
                        roles: tuple[str, ...] = ("dermatologist", "staff")) -> Photo:
    """A photo of a patient of the clinician's clinic, audited whether allowed or not (the
    patient sees allowed reads in "Who viewed my record"); 404 otherwise."""
    if membership_of(user) is None:
        raise Http404
    photo = (Photo.objects.select_related("area", "patient")
             .filter(public_id=public_id, patient__in=clinic_patients_for(user)).first())
    allowed = photo is not None and role_of(user) in roles
    target = photo or Photo.objects.select_related("patient").filter(public_id=public_id).first()
    audit_record(actor=user, patient=target.patient if target else None, action=action,
                 object_type=object_type, object_id=str(target.pk) if target else "",
                 allowed=allowed)
    if not allowed:
        raise Http404
    return photo


def last_withdrawal(patient: Patient) -> PhotoConsent | None:
    """The most recently withdrawn consent period, if any."""
    return (PhotoConsent.objects.filter(patient=patient, withdrawn_at__isnull=False)
            .order_by("-withdrawn_at").first())


# How many of an area's newest photos the clinic's patient page shows (the photos page has all).
SUMMARY_PHOTOS_PER_AREA = 4


@dataclass(frozen=True)
class PhotoSummary:
    """The patient page's "Photos" section: consent, and each area's newest photos."""

    consent: PhotoConsent | None
    withdrawal: PhotoConsent | None  # the last withdrawal, when there is no open consent
    decline: PhotoDecline | None  # "no thanks" before ever consenting
    deleted_count: int
    timelines: list[AreaTimeline]
    photo_count: int

    @property
    def newest_by_area(self) -> list[tuple[AreaTimeline, list[Photo]]]:
        return [(t, t.photos[::-1][:SUMMARY_PHOTOS_PER_AREA]) for t in self.timelines]


def photo_summary(patient: Patient) -> PhotoSummary:
    consent = consent_of(patient)
    withdrawal = None if consent else last_withdrawal(patient)
    photos = list(photos_of(patient))
    return PhotoSummary(
        consent=consent, withdrawal=withdrawal,
        decline=None if consent or withdrawal else declined_on(patient),
        deleted_count=deleted_photos_count(patient) if withdrawal else 0,
        timelines=timelines(photos), photo_count=len(photos))
