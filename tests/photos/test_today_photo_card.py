"""Today asks for a progress photo when the plan asks and it is due, only with consent; after a
withdrawal it never asks again; the form on Today saves and comes back (issue 18, point 2)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from photos.models import BodyArea, Photo
from photos.services import photo_consent_give, photo_consent_withdraw
from tests.factories import backdated_revision, item_draft, photo_for
from tests.photos.images import jpeg_bytes

pytestmark = pytest.mark.django_db

CARD = "Time for your progress photo"
INVITE = "would like progress photos"


def _plan(patient, derm, now, *, every_weeks):
    return backdated_revision(
        patient, author=derm, number=1,
        effective_from=patient.local_date(now) - timedelta(days=60),
        items=[item_draft(name="Gentle cleanser", kind="skincare")],
        photo_every_weeks=every_weeks)


def _today(client, patient) -> str:
    client.force_login(patient.user)
    return client.get(reverse("today")).content.decode()


def test_a_photo_is_asked_for_when_the_last_is_as_old_as_the_plan_says(client, patient_a,
                                                                       derm, now):
    # given: the plan asks every 2 weeks; the last photo (of the back) is 3 weeks old
    _plan(patient_a, derm, now, every_weeks=2)
    photo_for(patient_a, area_code="back", now=now - timedelta(weeks=3))
    # when
    body = _today(client, patient_a)
    # then: the card with the form, the back preselected, returning to Today after saving
    assert CARD in body
    back = BodyArea.objects.get(clinic=None, code="back")
    assert f'<option value="{back.pk}" selected>' in body
    assert f'name="next" value="{reverse("today")}"' in body
    assert 'capture="environment"' in body


def test_the_first_photo_is_asked_for_with_the_first_area_preselected(client, patient_a, derm,
                                                                      now):
    _plan(patient_a, derm, now, every_weeks=2)
    photo_consent_give(patient=patient_a, by=patient_a.user, now=now)
    body = _today(client, patient_a)
    face = BodyArea.objects.get(clinic=None, code="face")
    assert CARD in body
    assert f'<option value="{face.pk}" selected>' in body


def test_no_photo_is_asked_for_before_it_is_due(client, patient_a, derm, now):
    _plan(patient_a, derm, now, every_weeks=2)
    photo_for(patient_a, now=now - timedelta(days=13))
    assert CARD not in _today(client, patient_a)


def test_a_plan_that_asks_for_no_photos_shows_nothing(client, patient_a, derm, now):
    _plan(patient_a, derm, now, every_weeks=None)
    photo_for(patient_a, now=now - timedelta(weeks=30))
    body = _today(client, patient_a)
    assert CARD not in body
    assert INVITE not in body


def test_without_consent_today_only_invites_to_the_photos_page(client, patient_a, derm, now):
    _plan(patient_a, derm, now, every_weeks=2)
    body = _today(client, patient_a)
    assert CARD not in body
    assert INVITE in body
    assert f'href="{reverse("photos")}"' in body


def test_after_a_withdrawal_today_never_asks_again(client, patient_a, derm, now):
    # given: photos were taken, then consent withdrawn
    _plan(patient_a, derm, now, every_weeks=2)
    photo_for(patient_a, now=now - timedelta(weeks=3))
    photo_consent_withdraw(patient=patient_a, by=patient_a.user, now=now)
    # when
    body = _today(client, patient_a)
    # then: neither the card nor the invitation
    assert CARD not in body
    assert INVITE not in body


def test_no_thanks_stops_the_invitation_and_the_patient_can_still_agree_later(client, patient_a,
                                                                             derm, staff, now):
    # given: the plan asks for photos; the patient reads the consent words and says no
    _plan(patient_a, derm, now, every_weeks=2)
    client.force_login(patient_a.user)
    assert "No thanks" in client.get(reverse("photos")).content.decode()
    # when
    response = client.post(reverse("photo_consent_decline"), follow=True)
    # then: back on Today, told so, and not invited any more
    assert response.redirect_chain[-1][0] == reverse("today")
    body = response.content.decode()
    assert "We will not ask you for photos" in body
    assert INVITE not in body
    assert INVITE not in _today(client, patient_a)
    # and the clinic sees the answer, not a silence
    client.force_login(staff)
    clinic_page = client.get(reverse("patient_detail", args=[patient_a.pk])).content.decode()
    assert "said no to photos" in clinic_page
    # when: they change their mind on the Photos page
    client.force_login(patient_a.user)
    photos_page = client.get(reverse("photos")).content.decode()
    assert "You said no to photos" in photos_page
    assert "No thanks" not in photos_page
    client.post(reverse("photo_consent_give"))
    # then: Today asks for the first photo
    assert CARD in _today(client, patient_a)


def test_saving_from_today_returns_to_today_with_the_message(client, patient_a, derm, now):
    # given
    _plan(patient_a, derm, now, every_weeks=2)
    photo_for(patient_a, now=now - timedelta(weeks=3))
    client.force_login(patient_a.user)
    face = BodyArea.objects.get(clinic=None, code="face")
    # when
    response = client.post(reverse("photos"), {
        "area": face.pk, "next": reverse("today"),
        "photo": SimpleUploadedFile("p.jpg", jpeg_bytes(), content_type="image/jpeg")})
    # then: saved, back on Today, which says so and no longer asks
    assert response.status_code == 302
    assert response.url == reverse("today")
    assert Photo.objects.filter(patient=patient_a, deleted_at__isnull=True).count() == 2
    body = client.get(response.url).content.decode()
    assert "Photo saved (Face)" in body
    assert CARD not in body


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x"])
def test_a_next_to_another_site_is_ignored(client, patient_a, now, target):
    photo_consent_give(patient=patient_a, by=patient_a.user, now=now)
    client.force_login(patient_a.user)
    face = BodyArea.objects.get(clinic=None, code="face")
    response = client.post(reverse("photos"), {
        "area": face.pk, "next": target,
        "photo": SimpleUploadedFile("p.jpg", jpeg_bytes(), content_type="image/jpeg")})
    assert response.status_code == 302
    assert response.url == reverse("photos")


def test_my_plan_says_how_often_photos_are_asked_for(client, patient_a, derm, now):
    _plan(patient_a, derm, now, every_weeks=2)
    client.force_login(patient_a.user)
    body = client.get(reverse("my_plan")).content.decode()
    assert "progress photo</a> every 2 weeks" in body


def test_the_photos_page_says_when_the_next_photo_is_due(client, patient_a, derm, now):
    _plan(patient_a, derm, now, every_weeks=2)
    photo = photo_for(patient_a, now=now - timedelta(days=3))
    client.force_login(patient_a.user)
    body = client.get(reverse("photos")).content.decode()
    due = photo.taken_on + timedelta(weeks=2)
    assert f"Next photo due on {due:%A} {due.day}" in body


def test_the_photos_page_says_a_photo_is_due_now_once_it_is(client, patient_a, derm, now):
    _plan(patient_a, derm, now, every_weeks=2)
    photo_for(patient_a, now=now - timedelta(weeks=3))
    client.force_login(patient_a.user)
    body = client.get(reverse("photos")).content.decode()
    assert "Your next progress photo is due now." in body
    assert "Next photo due on" not in body


def test_a_refused_file_from_today_keeps_the_way_back(client, patient_a, now):
    # given
    photo_consent_give(patient=patient_a, by=patient_a.user, now=now)
    client.force_login(patient_a.user)
    face = BodyArea.objects.get(clinic=None, code="face")
    # when: not an image
    response = client.post(reverse("photos"), {
        "area": face.pk, "next": reverse("today"),
        "photo": SimpleUploadedFile("p.jpg", b"%PDF-1.4 not a photo", content_type="image/jpeg")})
    # then: the Photos page explains, nothing is saved, and the retry still returns to Today
    assert response.status_code == 400
    assert not Photo.objects.exists()
    assert f'name="next" value="{reverse("today")}"' in response.content.decode()
