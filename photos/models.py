"""The skin photo diary: consent, body areas, photos (encrypted files) and dermatologists' notes.

A photo row is never deleted: when consent is withdrawn its files are deleted and the row keeps
that it existed, of which area and day, and when its image was deleted.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Clinic, ImmutableModel, Patient

# The short list every clinic starts with; a clinic adds its own areas (BodyArea.clinic).
BUILT_IN_AREAS = {
    "face": pgettext_lazy("body area", "Face"),
    "scalp": pgettext_lazy("body area", "Scalp"),
    "neck": pgettext_lazy("body area", "Neck"),
    "chest": pgettext_lazy("body area", "Chest"),
    "back": pgettext_lazy("body area", "Back"),
    "arms": pgettext_lazy("body area", "Arms"),
    "hands": pgettext_lazy("body area", "Hands"),
    "legs": pgettext_lazy("body area", "Legs"),
    "feet": pgettext_lazy("body area", "Feet"),
}


class BodyArea(models.Model):
    """Where a photo is of. Built-in areas have a ``code`` and no clinic; a clinic's own (added
    by its dermatologists, e.g. "Left elbow crease") have its ``name`` in the clinic's words."""

    clinic = models.ForeignKey(Clinic, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="body_areas")
    code = models.CharField(max_length=20, blank=True)
    name = models.CharField(max_length=60, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["clinic_id", "position", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["code"], condition=Q(clinic__isnull=True),
                                    name="unique_built_in_area"),
            models.UniqueConstraint(fields=["clinic", "name"], condition=Q(clinic__isnull=False),
                                    name="unique_clinic_area_name"),
            models.CheckConstraint(
                condition=(Q(clinic__isnull=True) & ~Q(code=""))
                | (Q(clinic__isnull=False) & Q(code="") & ~Q(name="")),
                name="area_is_built_in_or_named"),
        ]

    def __str__(self) -> str:
        return str(self.label)

    @property
    def label(self) -> str:
        """The area in the reader's language (a clinic's own area in its own words)."""
        return str(BUILT_IN_AREAS.get(self.code, self.name))


class PhotoConsent(models.Model):
    """One period of consent: given (after reading ``version`` of the words), and maybe
    withdrawn. At most one open period per patient; a patient may consent again later."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="photo_consents")
    version = models.CharField(max_length=20)
    given_at = models.DateTimeField()
    given_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["patient", "given_at"]
        constraints = [
            models.UniqueConstraint(fields=["patient"], condition=Q(withdrawn_at__isnull=True),
                                    name="one_open_photo_consent"),
        ]

    def __str__(self) -> str:
        return f"Photo consent {self.pk} of patient {self.patient_id}"


class PhotoDecline(models.Model):
    """The patient said no to photos before ever consenting: Today stops inviting them. They can
    still agree on the Photos page; consenting later leaves this row as history."""

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT,
                                   related_name="photo_decline")
    declined_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Photos declined by patient {self.patient_id}"


class Photo(models.Model):
    """One photo of one area on one day. The image and thumbnail are encrypted files in the
    ``photos`` storage under random names (nothing in a name says whose or what)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="photos")
    area = models.ForeignKey(BodyArea, on_delete=models.PROTECT, related_name="photos")
    consent = models.ForeignKey(PhotoConsent, on_delete=models.PROTECT, related_name="photos")
    taken_on = models.DateField(help_text="Patient-local date the photo was added.")
    uploaded_at = models.DateTimeField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # Storage names; empty once the files are deleted (or, for the thumbnail, until made).
    image_name = models.CharField(max_length=120, blank=True)
    thumbnail_name = models.CharField(max_length=120, blank=True)
    # Set when consent was withdrawn; the files go at once (a sweep retries any that failed).
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["patient", "area", "taken_on", "uploaded_at", "id"]
        indexes = [
            models.Index(fields=["patient", "area", "taken_on"]),
            # The sweep's query: deleted photos whose files are still there.
            models.Index(fields=["deleted_at"], name="photo_files_to_delete",
                         condition=Q(deleted_at__isnull=False)
                         & (~Q(image_name="") | ~Q(thumbnail_name=""))),
        ]

    def __str__(self) -> str:
        return f"Photo {self.pk} of patient {self.patient_id}"

    @property
    def thumbnail_ready(self) -> bool:
        return bool(self.thumbnail_name)

    @property
    def thumbnail_width(self) -> int:
        return self._thumbnail_size()[0]

    @property
    def thumbnail_height(self) -> int:
        return self._thumbnail_size()[1]

    def _thumbnail_size(self) -> tuple[int, int]:
        """The thumbnail's size (``imaging.thumbnail`` keeps the proportions), for the page's
        ``<img width height>`` before it loads."""
        from .imaging import THUMBNAIL_LONG_SIDE

        scale = min(1.0, THUMBNAIL_LONG_SIDE / max(self.width, self.height, 1))
        return max(1, round(self.width * scale)), max(1, round(self.height * scale))


class PhotoNote(ImmutableModel):
    """What the dermatologist sees in a photo, for the patient to read beside it."""

    photo = models.ForeignKey(Photo, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+")
    text = models.TextField(_("note"), max_length=1000)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["photo", "created_at", "id"]

    def __str__(self) -> str:
        return f"Note {self.pk} on photo {self.photo_id}"
