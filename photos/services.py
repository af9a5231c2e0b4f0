"""Writes of the photo diary: consent given and withdrawn, photos added, thumbnails made, notes.

The image bytes are cleaned (``photos.imaging``) and encrypted (``photos.crypto``) before any
byte is stored; no image, file name or note reaches a log line or a task argument (ids only).
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime
from typing import BinaryIO

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from accounts.models import AuditEvent, Clinic, Patient, User
from accounts.services import audit_record
from core.services import safe_enqueue

from . import crypto, imaging
from .models import BUILT_IN_AREAS, BodyArea, Photo, PhotoConsent, PhotoDecline, PhotoNote
from .selectors import consent_of
from .storage import photo_storage, stored_delete, stored_read, stored_write

logger = logging.getLogger(__name__)

# The consent words' version (templates/photos/_consent_words.html): a change of what the patient
# agrees to is a new version, and each consent row keeps the one read.
CONSENT_VERSION = "2026-12"
NOTE_MAX_LENGTH = 1000
AREA_NAME_MAX_LENGTH = 60  # BodyArea.name


class NoPhotoConsent(Exception):
    """A photo was offered without an open consent (e.g. withdrawn in another tab)."""


def body_areas_built_in_ensure() -> None:
    """The built-in areas exist (``BUILT_IN_AREAS``, in its order). Migrations add them; this
    puts back any a test database's flush removed (tests/conftest.py)."""
    for position, code in enumerate(BUILT_IN_AREAS, start=1):
        BodyArea.objects.get_or_create(clinic=None, code=code, defaults={"position": position})


@transaction.atomic
def photo_consent_give(*, patient: Patient, by: User, now: datetime) -> PhotoConsent:
    """Open a consent period (the open one if there is one already: a double tap)."""
    Patient.objects.select_for_update().filter(pk=patient.pk).first()  # one at a time
    current = consent_of(patient)
    if current is not None:
        return current
    return PhotoConsent.objects.create(patient=patient, version=CONSENT_VERSION, given_at=now,
                                       given_by=by)


@transaction.atomic
def photo_invitation_decline(*, patient: Patient, now: datetime) -> PhotoDecline:
    """The patient says no to photos: Today no longer invites them (a second "no" keeps the
    first one's time)."""
    decline, _created = PhotoDecline.objects.get_or_create(patient=patient,
                                                           defaults={"declined_at": now})
    return decline


@transaction.atomic
def photo_consent_withdraw(*, patient: Patient, by: User, now: datetime) -> int:
    """Close the consent and delete every stored image of the patient, irrecoverably (their
    rows stay: which area, which day, when deleted). Returns how many photos were deleted."""
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    PhotoConsent.objects.filter(patient=patient, withdrawn_at__isnull=True).update(
        withdrawn_at=now, withdrawn_by=by)
    deleted = Photo.objects.filter(patient=patient, deleted_at__isnull=True).update(
        deleted_at=now)
    # The files go once the withdrawal is committed; any that fail, the daily sweep retries.
    transaction.on_commit(lambda: photo_files_delete(patient_id=patient.pk))
    return deleted


def photo_files_delete(*, patient_id: int | None = None) -> int:
    """Delete the files of deleted photos (of one patient, or all: the sweep). A file that
    cannot be deleted now (storage down) keeps its name for the next sweep. Returns how many
    photos were emptied."""
    pending = Photo.objects.filter(deleted_at__isnull=False).exclude(image_name="",
                                                                    thumbnail_name="")
    if patient_id is not None:
        pending = pending.filter(patient_id=patient_id)
    emptied = 0
    for photo_id, image_name, thumbnail_name in pending.values_list(
            "pk", "image_name", "thumbnail_name"):
        try:
            stored_delete(image_name)
            stored_delete(thumbnail_name)
        except Exception:  # storage backends raise many types; the sweep tries again
            logger.warning("Could not delete the files of photo %s; the sweep will retry.",
                           photo_id, exc_info=False)
            continue
        Photo.objects.filter(pk=photo_id).update(image_name="", thumbnail_name="")
        emptied += 1
    return emptied


def photo_add(*, patient: Patient, by: User, area: BodyArea, upload: BinaryIO, size: int,
              now: datetime) -> Photo:
    """Clean, encrypt and store one photo of ``area`` for ``patient`` today (their calendar).

    Raises ``imaging.PhotoRefused`` (bad file; nothing stored) or ``NoPhotoConsent``. The
    thumbnail is made by a task after commit; pages show a placeholder until then.
    """
    clean = imaging.clean_upload(upload, size=size)
    name = stored_write(clean.data)
    try:
        photo = _photo_row(patient=patient, by=by, area=area, image_name=name,
                           width=clean.width, height=clean.height, taken_on=patient.local_date(now),
                           now=now)
    except BaseException:
        stored_delete(name)  # nothing partial: no file without its row
        raise
    from .tasks import photo_thumbnail_make

    transaction.on_commit(lambda: safe_enqueue(lambda: photo_thumbnail_make.delay(photo.pk),
                                               f"thumbnail of photo {photo.pk}"))
    return photo


@transaction.atomic
def _photo_row(*, patient: Patient, by: User, area: BodyArea, image_name: str, width: int,
               height: int, taken_on: date, now: datetime) -> Photo:
    Patient.objects.select_for_update().filter(pk=patient.pk).first()  # against a withdrawal
    consent = consent_of(patient)
    if consent is None:
        raise NoPhotoConsent
    return Photo.objects.create(
        patient=patient, area=area, consent=consent, taken_on=taken_on, uploaded_at=now,
        uploaded_by=by, width=width, height=height, image_name=image_name)


def photo_thumbnail_make(*, photo_id: int) -> bool:
    """Make the photo's thumbnail if it has none (idempotent; a deleted photo gets none).
    Returns whether one was made."""
    photo = Photo.objects.filter(pk=photo_id, deleted_at__isnull=True, thumbnail_name="").first()
    if photo is None or not photo.image_name:
        return False
    name = stored_write(imaging.thumbnail(stored_read(photo.image_name)).data)
    with transaction.atomic():
        fresh = Photo.objects.select_for_update().filter(pk=photo_id).first()
        if fresh is None or fresh.deleted_at is not None or fresh.thumbnail_name:
            transaction.on_commit(lambda: stored_delete(name))  # withdrawn, or made twice
            return False
        fresh.thumbnail_name = name
        fresh.save(update_fields=["thumbnail_name"])
    return True


def thumbnails_pending_ids() -> list[int]:
    """Photos still without a thumbnail (their task was lost, e.g. the broker was down)."""
    return list(Photo.objects.filter(deleted_at__isnull=True, thumbnail_name="")
                .exclude(image_name="").values_list("pk", flat=True)[:500])


@transaction.atomic
def photo_note_add(*, photo: Photo, author: User, text: str, now: datetime) -> PhotoNote:
    text = text.strip()
    if not text or len(text) > NOTE_MAX_LENGTH:
        raise ValueError(_("Write a note of 1 to %(max)d characters.") % {"max": NOTE_MAX_LENGTH})
    if photo.deleted_at is not None:
        raise ValueError(_("This photo was deleted: the patient withdrew their consent."))
    note = PhotoNote.objects.create(photo=photo, author=author, text=text, created_at=now)
    audit_record(actor=author, patient=photo.patient, action=AuditEvent.Action.CREATE,
                 object_type="photo_note", object_id=str(note.pk))
    return note


def photo_image(photo: Photo, *, thumbnail: bool = False) -> bytes | None:
    """The decrypted JPEG (or its thumbnail); None when there is none (deleted, not made yet)."""
    name = photo.thumbnail_name if thumbnail else photo.image_name
    if photo.deleted_at is not None or not name:
        return None
    return stored_read(name)


def photo_keys_rotate() -> tuple[int, int]:
    """Re-encrypt every stored file under the newest key. Returns (rotated, failed). Each file
    is written anew under a new name before the row points at it and the old one goes, so a
    failure midway loses nothing; a file no configured key opens is left as it is and counted."""
    storage = photo_storage()
    rotated = failed = 0
    photos = Photo.objects.exclude(image_name="", thumbnail_name="").values_list(
        "pk", "image_name", "thumbnail_name")
    for photo_id, *names in photos.iterator():
        for field, name in zip(("image_name", "thumbnail_name"), names, strict=True):
            if not name:
                continue
            with storage.open(name, "rb") as stored:
                token = stored.read()
            try:
                new_token = crypto.rotate(token)
            except crypto.InvalidToken:
                failed += 1
                continue
            new_name = storage.save(f"{uuid.uuid4().hex}.bin", ContentFile(new_token))
            moved = Photo.objects.filter(pk=photo_id, **{field: name}).update(**{field: new_name})
            stored_delete(name if moved else new_name)  # a row changed meanwhile: keep it
            rotated += moved
    return rotated, failed


@transaction.atomic
def body_area_add(*, clinic: Clinic, name: str) -> BodyArea:
    """A clinic's own body area (e.g. "Left elbow crease"), after the built-in ones and the
    clinic's earlier ones. Raises ValueError (a message for the dermatologist) for a name that
    is empty, too long, or already an area of the clinic's list (whatever its capitals)."""
    name = " ".join(name.split())
    if not name or len(name) > AREA_NAME_MAX_LENGTH:
        raise ValueError(_("Name the area in 1 to %(max)d characters.")
                         % {"max": AREA_NAME_MAX_LENGTH})
    Clinic.objects.select_for_update().filter(pk=clinic.pk).first()  # one name at a time
    taken = {str(label).casefold() for label in BUILT_IN_AREAS.values()}
    taken |= {n.casefold() for n in BodyArea.objects.filter(clinic=clinic)
              .values_list("name", flat=True)}
    if name.casefold() in taken:
        raise ValueError(_("%(name)s is already in the list of areas.") % {"name": name})
    last = BodyArea.objects.filter(clinic=clinic).aggregate(last=Max("position"))["last"]
    return BodyArea.objects.create(clinic=clinic, name=name,
                                   position=0 if last is None else last + 1)
