"""seed_demo gives two patients a photo diary to look at: consent, a plan asking for a photo every
two weeks, a fading series of two areas each with thumbnails, and a dermatologist's note."""

from __future__ import annotations

import io
import itertools
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from PIL import Image, ImageChops

from accounts.models import Patient
from careplans.selectors import current_revision
from demo.seed.photos import skin_picture
from photos.models import Photo, PhotoConsent, PhotoNote
from photos.selectors import consent_of, photo_due, timelines
from photos.services import photo_image

pytestmark = pytest.mark.django_db

SERIES = {"patient@demo.test": ("face", "back"), "patient00008@demo.test": ("arms", "hands")}


@pytest.fixture
def demo(now) -> None:
    call_command("seed_demo", patients=8, days=0, flags=False, stdout=StringIO())


def _patient(email: str) -> Patient:
    return Patient.objects.select_related("care_plan").get(user__email=email)


def _redness(jpeg: bytes) -> int:
    """How much redder than green the reddest part of the picture (its top 0.5%) is."""
    with Image.open(io.BytesIO(jpeg)) as picture:
        red, green, _blue = picture.convert("RGB").split()
    histogram = ImageChops.subtract(red, green).histogram()
    left = sum(histogram) // 200
    for value in range(255, -1, -1):
        left -= histogram[value]
        if left < 0:
            return value
    return 0


@pytest.mark.parametrize("email", SERIES)
def test_two_patients_have_a_fading_photo_series_of_two_areas(demo, email):
    # given
    patient = _patient(email)
    today = patient.local_today()
    # then: consent, and a plan asking for a photo every two weeks
    assert consent_of(patient) is not None
    assert current_revision(patient.care_plan).photo_every_weeks == 2
    series = timelines(Photo.objects.filter(patient=patient).select_related("area"))
    assert [timeline.area.code for timeline in series] == list(SERIES[email])
    for timeline in series:
        days = [photo.taken_on for photo in timeline.photos]
        assert 4 <= len(days) <= 6
        assert days[-1] < today
        assert {later - earlier for earlier, later in itertools.pairwise(days)} == {
            timedelta(weeks=2)}
        assert days[0] >= patient.care_plan.starts_on
        for photo in timeline.photos:
            assert photo.thumbnail_ready  # made while seeding, not by a worker
            assert photo_image(photo, thumbnail=True).startswith(b"\xff\xd8")
        # the compare view shows progress: the latest much less red than the first
        first, latest = (photo_image(p) for p in (timeline.photos[0], timeline.photos[-1]))
        assert _redness(latest) < _redness(first) - 20


def test_the_dermatologist_wrote_a_note_on_each_series(demo):
    for email in SERIES:
        patient = _patient(email)
        (note,) = PhotoNote.objects.filter(photo__patient=patient)
        assert note.author_id == patient.dermatologist_id
        assert note.photo == Photo.objects.filter(
            patient=patient, area__code=SERIES[email][0]).latest("taken_on")


def test_only_those_two_patients_have_photos_and_today_asks_the_demo_patient_for_one(demo):
    # then
    assert set(Photo.objects.values_list("patient__user__email", flat=True)) == set(SERIES)
    assert PhotoConsent.objects.count() == 2
    patient = _patient("patient@demo.test")
    assert photo_due(patient, every_weeks=2, today=patient.local_today())


def test_re_running_seed_demo_adds_no_photos(demo):
    # given
    before = (Photo.objects.count(), PhotoNote.objects.count(), PhotoConsent.objects.count())
    output = StringIO()
    # when
    call_command("seed_demo", patients=8, days=0, flags=False, stdout=output)
    # then
    assert (Photo.objects.count(), PhotoNote.objects.count(),
            PhotoConsent.objects.count()) == before
    assert "0 new photos" in output.getvalue()


def test_the_pictures_are_the_same_on_every_run():
    # when
    first = skin_picture(seed="0:face", condition="acne", severity=0.6)
    second = skin_picture(seed="0:face", condition="acne", severity=0.6)
    # then
    assert first.tobytes() == second.tobytes()
    assert skin_picture(seed="0:back", condition="acne", severity=0.6).tobytes() != \
        first.tobytes()
