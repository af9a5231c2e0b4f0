"""Consent first, and withdrawing it deletes the images for good (issue 18, point 1)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from photos.models import Photo, PhotoConsent
from photos.services import photo_consent_give
from photos.storage import photo_storage
from tests.factories import photo_for

pytestmark = pytest.mark.django_db


def test_before_consent_the_page_explains_and_offers_no_upload(client, patient_a):
    # given
    client.force_login(patient_a.user)
    # when
    page = client.get(reverse("photos")).content.decode()
    # then: the plain words (what, who, how long, how to withdraw), an "I agree", no file input
    for words in ("What is kept", "Who sees them", "For how long", "Changing your mind",
                  patient_a.clinic.name):
        assert words in page
    assert 'type="file"' not in page
    assert reverse("photo_consent_give") in page


def test_agreeing_opens_one_consent_period_even_when_sent_twice(client, patient_a):
    # given
    client.force_login(patient_a.user)
    # when
    first = client.post(reverse("photo_consent_give"))
    client.post(reverse("photo_consent_give"))
    # then
    assert first.status_code == 302
    consent = PhotoConsent.objects.get(patient=patient_a)
    assert consent.withdrawn_at is None
    assert consent.given_by == patient_a.user
    assert consent.version
    assert 'type="file"' in client.get(reverse("photos")).content.decode()


def test_withdrawing_without_ticking_the_box_deletes_nothing(client, patient_a, now):
    # given
    photo = photo_for(patient_a, now=now)
    client.force_login(patient_a.user)
    # when
    response = client.post(reverse("photo_consent_withdraw"), {})
    # then
    assert response.status_code == 400
    assert "Tick the box to confirm" in response.content.decode()
    photo.refresh_from_db()
    assert photo.deleted_at is None
    assert photo_storage().exists(photo.image_name)
    assert PhotoConsent.objects.get(patient=patient_a).withdrawn_at is None


def test_withdrawing_deletes_every_image_for_good_and_keeps_that_they_existed(client, patient_a,
                                                                              patient_b, now,
                                                                              django_capture_on_commit_callbacks):
    # given: two photos with thumbnails, and another patient's photo
    photos = [photo_for(patient_a, area_code=code, now=now) for code in ("face", "back")]
    files = [name for p in photos for name in (p.image_name, p.thumbnail_name)]
    neighbour = photo_for(patient_b, now=now)
    client.force_login(patient_a.user)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("photo_consent_withdraw"), {"confirm": "on"}, follow=True)
    # then: the files are gone from storage, the rows say when, the images answer 404
    assert "2 photos were deleted for good" in response.content.decode()
    assert not any(photo_storage().exists(name) for name in files)
    for photo in photos:
        photo.refresh_from_db()
        assert photo.deleted_at is not None
        assert (photo.image_name, photo.thumbnail_name) == ("", "")
        assert client.get(reverse("my_photo_image", args=[photo.public_id])).status_code == 404
        assert client.get(reverse("my_photo_thumbnail",
                                  args=[photo.public_id])).status_code == 404
    assert Photo.objects.filter(patient=patient_a).count() == 2
    assert PhotoConsent.objects.get(patient=patient_a).withdrawn_at is not None
    # and the neighbour's photo is untouched
    assert photo_storage().exists(neighbour.image_name)


def test_after_withdrawal_the_page_says_so_and_agreeing_again_starts_a_new_period(client,
                                                                                 patient_a, now):
    # given
    old = photo_for(patient_a, now=now)
    client.force_login(patient_a.user)
    client.post(reverse("photo_consent_withdraw"), {"confirm": "on"})
    # when
    page = client.get(reverse("photos")).content.decode()
    # then
    assert "You withdrew your consent" in page
    assert "Your 1 photo was deleted" in page
    assert 'type="file"' not in page
    # when: they agree again
    photo_consent_give(patient=patient_a, by=patient_a.user, now=now)
    # then: a second period; the old photo stays deleted
    assert PhotoConsent.objects.filter(patient=patient_a).count() == 2
    old.refresh_from_db()
    assert old.deleted_at is not None
    assert str(old.public_id) not in client.get(reverse("photos")).content.decode()
