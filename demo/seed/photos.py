"""The photo diary's demo: two patients whose plan asks for a photo every two weeks, with their
consent and a series of photos of two areas each since their plan started, so the patient's
Photos page and the clinic's compare view have something to show: patient@demo.test's acne
(face and back) and synthetic patient 8's atopic eczema (arms and hands), each fading from the
first photo to the latest, and a dermatologist's note on the latest photo of each patient's
first area.

The pictures are drawn here (skin, and spots or a patch whose redness and size fade over the
series), deterministic for a patient and area; they go through the same cleaning and encryption
as an upload (``photos.imaging``, ``photos.storage``), and their thumbnails are made at once (no
worker needed). Idempotent: a patient who has any photo, or has ever given consent, is left
alone (as is a plan seeded before it asked for photos).
"""

from __future__ import annotations

import io
import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFilter

from accounts.models import Clinic, Patient
from careplans.models import PlanRevision
from demo.seed.people import PATIENT_EMAIL, _patient_number, synthetic_email
from demo.seed.stories import MISSED_INJECTION_AT
from photos import imaging
from photos.models import BodyArea, Photo, PhotoConsent, PhotoNote
from photos.services import CONSENT_VERSION
from photos.storage import stored_write

SERIES_LENGTH = 6  # at most this many photos of an area: the latest ones
PICTURE_SIZE = (800, 600)
PHOTO_TIME = time(19, 0)  # patient-local: photos are taken in the evening
ACNE, ECZEMA = "acne", "eczema"
# By demo patient number: which areas, and what the pictures show.
SERIES = {0: (ACNE, ("face", "back")), MISSED_INJECTION_AT: (ECZEMA, ("arms", "hands"))}
NOTES = {
    ACNE: "Far fewer inflamed spots than in your first photo. Keep going with the same routine; "
          "the marks left behind will fade over the next months.",
    ECZEMA: "Much calmer than in your first photo: the redness is fading and the skin looks less "
            "dry. Keep moisturising twice a day, even on good days.",
}
SKIN_TONES = ((224, 182, 150), (198, 150, 118), (236, 200, 172), (171, 122, 92))


@dataclass(frozen=True)
class _Spot:
    x: float  # of the picture's width
    y: float
    radius: float  # of the picture's height


def _spots(rng: random.Random, condition: str) -> list[_Spot]:
    """Where the lesions are: many small spots (acne) or overlapping blotches that make a
    patch (eczema); the same in every photo of the area."""
    if condition == ACNE:
        return [_Spot(rng.uniform(0.15, 0.85), rng.uniform(0.2, 0.85), rng.uniform(0.012, 0.03))
                for _ in range(rng.randint(14, 22))]
    cx, cy = rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65)
    return [_Spot(cx + rng.uniform(-0.2, 0.2), cy + rng.uniform(-0.14, 0.14),
                  rng.uniform(0.03, 0.09)) for _ in range(rng.randint(12, 18))]


def skin_picture(*, seed: str, condition: str, severity: float,
                 tone: tuple[int, int, int] = SKIN_TONES[0]) -> Image.Image:
    """Skin of ``tone`` in soft side light with the condition's lesions at ``severity`` (1: as
    bad as the first photo; towards 0: healed). Deterministic for ``seed``."""
    rng = random.Random(seed)
    width, height = PICTURE_SIZE
    # Light from one side: a gradient cut from a larger, turned one (no corners to fill).
    big = Image.linear_gradient("L").resize((width * 2, height * 2)).rotate(rng.uniform(-30, 30))
    shade = big.crop((width // 2, height // 2, width // 2 + width, height // 2 + height))
    picture = Image.composite(Image.new("RGB", PICTURE_SIZE, tuple(int(c * 0.82) for c in tone)),
                              Image.new("RGB", PICTURE_SIZE, tone), shade.point(lambda v: v // 3))
    redness = Image.new("L", PICTURE_SIZE, 0)
    draw = ImageDraw.Draw(redness)
    grow = 0.55 + 0.45 * severity  # lesions shrink as they heal
    for spot in _spots(rng, condition):
        r = spot.radius * height * grow
        x, y = spot.x * width, spot.y * height
        draw.ellipse((x - r, y - r * 0.85, x + r, y + r * 0.85), fill=int(235 * severity))
    blur = 4 if condition == ACNE else 12
    redness = redness.filter(ImageFilter.GaussianBlur(blur))
    # Inflamed skin is redder and darker than the patient's own tone, whatever that is.
    r_scale, g_scale, b_scale = (0.95, 0.55, 0.6) if condition == ACNE else (0.92, 0.62, 0.66)
    lesion = (int(tone[0] * r_scale), int(tone[1] * g_scale), int(tone[2] * b_scale))
    return Image.composite(Image.new("RGB", PICTURE_SIZE, lesion), picture, redness)


def _jpeg(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _photo_days(starts_on: date, today: date, every_weeks: int) -> list[date]:
    """Every ``every_weeks`` from the plan's start until before today, the latest few."""
    days = []
    day = starts_on
    while day < today:
        days.append(day)
        day += timedelta(weeks=every_weeks)
    return days[-SERIES_LENGTH:]


def _at(day: date, moment: time, zone: str, now: datetime) -> datetime:
    return min(datetime.combine(day, moment, tzinfo=ZoneInfo(zone)), now)


def _seed_patient(patient: Patient, number: int, now: datetime) -> int:
    """The patient's consent, photos (with thumbnails) and note; returns how many photos."""
    every_weeks = patient.photo_every_weeks  # of the plan's latest revision (seed_photos)
    condition, area_codes = SERIES[number]
    today = timezone.localdate(now, timezone=ZoneInfo(patient.timezone))
    days = _photo_days(patient.care_plan.starts_on, today, every_weeks) if every_weeks else []
    if not days:
        return 0
    rng = random.Random(f"photos:{number}")
    tone = rng.choice(SKIN_TONES)  # the patient's, in every photo
    consent = PhotoConsent.objects.create(
        patient=patient, version=CONSENT_VERSION, given_by=patient.user,
        given_at=_at(days[0], time(18, 0), patient.timezone, now))
    areas = {area.code: area for area in BodyArea.objects.filter(clinic=None,
                                                                 code__in=area_codes)}
    made: list[Photo] = []
    for code in area_codes:
        area = areas[code]
        for index, day in enumerate(days):
            severity = 1 - 0.8 * index / max(len(days) - 1, 1)
            data = _jpeg(skin_picture(seed=f"{number}:{code}", condition=condition,
                                      severity=severity, tone=tone))
            clean = imaging.clean_upload(io.BytesIO(data), size=len(data))
            made.append(Photo(
                public_id=uuid.UUID(int=rng.getrandbits(128), version=4), patient=patient,
                area=area, consent=consent, taken_on=day,
                uploaded_at=_at(day, PHOTO_TIME, patient.timezone, now), uploaded_by=patient.user,
                width=clean.width, height=clean.height, image_name=stored_write(clean.data),
                # made here at once, as the task would: the demo needs no worker to show them
                thumbnail_name=stored_write(imaging.thumbnail(clean.data).data)))
    made = Photo.objects.bulk_create(made)
    latest = made[len(days) - 1]  # of the first area
    PhotoNote.objects.create(photo=latest, author_id=patient.dermatologist_id,
                             text=NOTES[condition],
                             created_at=min(latest.uploaded_at + timedelta(hours=15), now))
    return len(made)


def seed_photos(*, clinic: Clinic, now: datetime) -> int:
    """The two photo series (see the module's docstring); returns how many photos were new."""
    emails = [PATIENT_EMAIL if number == 0 else synthetic_email(number) for number in SERIES]
    patients = (Patient.objects.filter(clinic=clinic, user__email__in=emails,
                                       care_plan__isnull=False)
                .exclude(photo_consents__isnull=False).exclude(photos__isnull=False)
                .select_related("user", "care_plan").order_by("pk")
                .annotate(photo_every_weeks=Subquery(
                    PlanRevision.objects.filter(plan__patient=OuterRef("pk"))
                    .order_by("-number").values("photo_every_weeks")[:1])))
    created = 0
    for patient in patients:
        with transaction.atomic():
            created += _seed_patient(patient, _patient_number(patient.pk, patient.user.email),
                                     now)
    return created
