"""Two photos of one area compared, each with how the days before it went: adherence (defined
once, ``checkins.adherence``), mean itch and satisfaction. Here rather than in ``photos``: it
reads check-ins, which sit below the photo diary in the apps' order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from accounts.models import Patient
from checkins.adherence import WindowAdherence, last_days
from checkins.selectors import WellbeingMeans, wellbeing_means
from photos.models import BodyArea, Photo
from photos.selectors import AreaTimeline

# A photo's period in the comparison: the days up to and including the photo's day.
COMPARE_PERIOD_DAYS = 14


@dataclass(frozen=True)
class PhotoPeriod:
    """One compared photo with how the ``COMPARE_PERIOD_DAYS`` before it went."""

    photo: Photo
    adherence: WindowAdherence
    wellbeing: WellbeingMeans

    @property
    def adherence_percent(self) -> int | None:
        rate = self.adherence.rate
        return None if rate is None else round(rate * 100)


@dataclass(frozen=True)
class Comparison:
    area: BodyArea
    photos: list[Photo]  # the area's photos, oldest first: the choices
    before: PhotoPeriod
    after: PhotoPeriod


def _photo_period(patient: Patient, photo: Photo) -> PhotoPeriod:
    start = photo.taken_on - timedelta(days=COMPARE_PERIOD_DAYS - 1)
    return PhotoPeriod(photo=photo,
                       adherence=last_days(patient, COMPARE_PERIOD_DAYS, until=photo.taken_on),
                       wellbeing=wellbeing_means(patient, start, photo.taken_on))


def comparison(patient: Patient, area_timelines: list[AreaTimeline], *, area: str = "",
               before: str = "", after: str = "") -> Comparison | None:
    """Two photos of one area, each with its period's adherence, itch and satisfaction.

    ``area`` (an area id) and ``before``/``after`` (photo public ids) come from the page's form;
    anything unknown falls back: the first area with photos, its first and latest photo."""
    if not area_timelines:
        return None
    timeline = next((t for t in area_timelines if str(t.area.pk) == area), area_timelines[0])
    by_id = {str(photo.public_id): photo for photo in timeline.photos}
    first = by_id.get(before, timeline.photos[0])
    second = by_id.get(after, timeline.latest)
    return Comparison(area=timeline.area, photos=timeline.photos,
                      before=_photo_period(patient, first), after=_photo_period(patient, second))
