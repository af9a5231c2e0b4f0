"""The clinic's side of the photo diary: the patient page's "Photos", the photos page (timelines,
the comparison with each photo's period), dermatologists' notes and the clinic's own areas.

Dates are relative to the fixed ``now``: the plan (one evening step a day) took effect 40 days
before it; an older check-in or photo is saved with ``now`` moved back by as many days.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from checkins.services import StepAnswer, Wellbeing, checkin_submit
from clinic.photo_compare import COMPARE_PERIOD_DAYS
from photos.models import BodyArea, PhotoNote
from photos.services import photo_consent_give, photo_consent_withdraw
from tests.factories import PatientFactory, photo_for, plan_for
from tests.photos.images import jpeg_bytes, skin_photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(now, patient_b, derm):
    return plan_for(patient_b, author=derm, now=now - timedelta(days=40))


def check_in(patient, revision, now, days_ago, *, done: bool, itch: int, satisfaction: int):
    item = revision.items.get()
    return checkin_submit(
        patient=patient, local_date=patient.local_date(now) - timedelta(days=days_ago),
        answers=[StepAnswer(item.pk, "evening", done, "" if done else "forgot")],
        wellbeing=Wellbeing(itch=itch, satisfaction=satisfaction),
        now=now - timedelta(days=days_ago))


def photo(patient, now, days_ago, *, seed=0, area_code="face", thumbnail=True):
    return photo_for(patient, area_code=area_code, now=now - timedelta(days=days_ago),
                     data=jpeg_bytes(skin_photo(seed=seed)), thumbnail=thumbnail)


def photos_url(patient):
    return reverse("patient_photos", args=[patient.pk])


# --- The comparison ------------------------------------------------------------------------------

def test_the_comparison_shows_each_photos_period_from_the_check_ins(client, now, patient_b, derm,
                                                                  plan):
    # given: 6 check-ins before the first photo (3 done, itch 6, satisfied 2), 14 before the
    # second (all done, itch 2, satisfied 4), and a check-in after the second that counts for
    # neither
    first = photo(patient_b, now, 30, seed=1)
    middle = photo(patient_b, now, 15, seed=2)
    latest = photo(patient_b, now, 0, seed=3)
    for days_ago in range(35, 29, -1):
        check_in(patient_b, plan, now, days_ago, done=days_ago % 2 == 0, itch=6, satisfaction=2)
    for days_ago in range(13, -1, -1):
        check_in(patient_b, plan, now, days_ago, done=True, itch=2, satisfaction=4)
    client.force_login(derm)
    # when: the page's default, the area's first and latest photo
    response = client.get(photos_url(patient_b))
    # then
    comparison = response.context["comparison"]
    assert (comparison.before.photo, comparison.after.photo) == (first, latest)
    before, after = comparison.before, comparison.after
    assert (before.adherence_percent, before.adherence.logged_days) == (50, 6)
    assert before.adherence.days == COMPARE_PERIOD_DAYS - 3  # the plan began 40 days ago
    assert (before.wellbeing.itch, before.wellbeing.satisfaction) == (6, 2)
    assert (after.adherence_percent, after.adherence.logged_days) == (100, 14)
    assert (after.wellbeing.itch, after.wellbeing.satisfaction) == (2, 4)
    page = response.content.decode()
    assert "50 %" in page
    assert "100 %" in page
    assert reverse("clinic_photo_image", args=[middle.public_id]) in page  # in its timeline
    assert 'src="' + reverse("clinic_photo_image", args=[first.public_id]) in page


def test_the_comparison_shows_the_chosen_photos_and_says_when_nothing_was_logged(
        client, now, patient_b, derm, plan):
    # given
    first = photo(patient_b, now, 30, seed=1)
    middle = photo(patient_b, now, 15, seed=2)
    photo(patient_b, now, 0, seed=3)
    client.force_login(derm)
    # when
    response = client.get(photos_url(patient_b), {"area": first.area_id,
                                                  "before": str(middle.public_id),
                                                  "after": str(first.public_id)})
    # then
    comparison = response.context["comparison"]
    assert (comparison.before.photo, comparison.after.photo) == (middle, first)
    assert comparison.before.adherence_percent is None
    assert "No check-ins" in response.content.decode()


def test_a_photo_id_of_another_area_falls_back_to_the_areas_own(client, now, patient_b, derm):
    # given
    face = photo(patient_b, now, 10, seed=1)
    hands = photo(patient_b, now, 5, seed=2, area_code="hands")
    client.force_login(derm)
    # when
    response = client.get(photos_url(patient_b), {"area": face.area_id,
                                                  "before": str(hands.public_id)})
    # then
    comparison = response.context["comparison"]
    assert comparison.area == face.area
    assert comparison.before.photo == face


# --- The patient page's "Photos" -----------------------------------------------------------------

def test_the_patient_page_says_when_the_patient_has_not_consented(client, patient_b, derm):
    # given
    client.force_login(derm)
    # when
    response = client.get(reverse("patient_detail", args=[patient_b.pk]))
    # then
    assert "The patient has not agreed to add photos." in response.content.decode()


def test_the_patient_page_says_when_consent_was_given_but_no_photo_added(client, now,
                                                                        patient_b, derm):
    # given
    photo_consent_give(patient=patient_b, by=patient_b.user, now=now)
    client.force_login(derm)
    # when
    response = client.get(reverse("patient_detail", args=[patient_b.pk]))
    # then
    assert "has not added any yet" in response.content.decode()


def test_the_patient_page_says_when_and_how_many_photos_a_withdrawal_deleted(client, now,
                                                                             patient_b, derm):
    # given
    photo(patient_b, now, 20, seed=1)
    photo(patient_b, now, 10, seed=2)
    photo_consent_withdraw(patient=patient_b, by=patient_b.user, now=now)
    client.force_login(derm)
    # when
    response = client.get(reverse("patient_detail", args=[patient_b.pk]))
    # then
    page = response.content.decode()
    assert "The patient withdrew their consent on 25 Nov 2026; their 2 photos were deleted." \
        in page
    assert "/image/" not in page


def test_the_patient_page_shows_each_areas_newest_photos_first_and_a_placeholder(
        client, now, patient_b, derm):
    # given: five face photos (the newest without its thumbnail yet) and one of the hands
    faces = [photo(patient_b, now, days_ago, seed=days_ago) for days_ago in (40, 30, 20, 10)]
    newest = photo(patient_b, now, 0, seed=5, thumbnail=False)
    photo(patient_b, now, 3, seed=6, area_code="hands")
    client.force_login(derm)
    # when
    response = client.get(reverse("patient_detail", args=[patient_b.pk]))
    # then
    page = response.content.decode()
    shown = [p for p in [newest, *faces[::-1]]
             if reverse("clinic_photo_image", args=[p.public_id]) in page]
    assert shown == [newest, *faces[:0:-1]]  # the newest four; the oldest only on the photos page
    assert page.index(str(newest.public_id)) < page.index(str(faces[-1].public_id))
    assert "Preparing the preview" in page
    assert "Hands" in page
    assert "(5 photos)" in page
    assert reverse("patient_photos", args=[patient_b.pk]) in page


# --- Audited reads -------------------------------------------------------------------------------

def test_every_image_a_clinician_opens_is_audited_and_the_patient_sees_it(client, now,
                                                                         patient_b, derm):
    # given
    shown = photo(patient_b, now, 3, seed=1)
    client.force_login(derm)
    # when
    client.get(photos_url(patient_b))
    for _ in range(2):
        assert client.get(reverse("clinic_photo_image", args=[shown.public_id])).status_code \
            == 200
    # then
    reads = AuditEvent.objects.filter(actor=derm, patient=patient_b, allowed=True,
                                      action=AuditEvent.Action.VIEW)
    assert reads.filter(object_type="photo", object_id=str(shown.pk)).count() == 2
    assert reads.filter(object_type="photos").count() == 1
    client.force_login(patient_b.user)
    page = client.get(reverse("access_log")).content.decode()
    assert "Your photos" in page
    assert "Your photo diary" in page


# --- Notes ---------------------------------------------------------------------------------------

def test_a_dermatologists_note_is_saved_and_the_patient_reads_it_beside_the_photo(
        client, now, patient_b, derm):
    # given
    shown = photo(patient_b, now, 3, seed=1)
    client.force_login(derm)
    # when
    response = client.post(reverse("photo_note_add", args=[patient_b.pk, shown.public_id]),
                           {"text": "  Less redness on the cheeks than last month.  "})
    # then
    assert response.status_code == 302
    note = PhotoNote.objects.get(photo=shown)
    assert (note.text, note.author) == ("Less redness on the cheeks than last month.", derm)
    client.force_login(patient_b.user)
    page = client.get(reverse("photos")).content.decode()
    assert f"{derm.display_name} noted:" in page
    assert "Less redness on the cheeks than last month." in page


@pytest.mark.parametrize(("text", "message"), [
    ("   ", "Write the note first."),
    ("x" * 1001, "Keep the note to 1000 characters (it has 1001)."),
])
def test_a_bad_note_says_why_keeps_the_text_and_saves_nothing(client, now, patient_b, derm,
                                                              text, message):
    # given
    shown = photo(patient_b, now, 3, seed=1)
    client.force_login(derm)
    # when
    response = client.post(reverse("photo_note_add", args=[patient_b.pk, shown.public_id]),
                           {"text": text})
    # then
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PhotoNote.objects.exists()


def test_staff_read_notes_but_do_not_write_them(client, now, patient_b, derm, staff):
    # given
    shown = photo(patient_b, now, 3, seed=1)
    client.force_login(derm)
    client.post(reverse("photo_note_add", args=[patient_b.pk, shown.public_id]),
                {"text": "Better."})
    client.force_login(staff)
    # when
    page = client.get(photos_url(patient_b)).content.decode()
    refused = client.post(reverse("photo_note_add", args=[patient_b.pk, shown.public_id]),
                          {"text": "Mine."})
    # then
    assert "Better." in page
    assert "Add a note" not in page
    assert refused.status_code == 404
    assert list(PhotoNote.objects.values_list("text", flat=True)) == ["Better."]


def test_a_note_on_another_patients_photo_is_404(client, now, patient_a, patient_b, derm):
    # given: a photo of patient A, posted under patient B's page
    shown = photo(patient_a, now, 3, seed=1)
    client.force_login(derm)
    # when
    response = client.post(reverse("photo_note_add", args=[patient_b.pk, shown.public_id]),
                           {"text": "Better."})
    # then
    assert response.status_code == 404
    assert not PhotoNote.objects.exists()


# --- The clinic's own areas ----------------------------------------------------------------------

def test_a_clinics_own_area_is_offered_to_its_patients_only(client, now, clinic, patient_a,
                                                            patient_b, derm, other_derm):
    # given
    client.force_login(derm)
    # when
    response = client.post(reverse("body_area_add", args=[patient_b.pk]),
                           {"name": "  Left elbow   crease "})
    # then
    assert response.status_code == 302
    area = BodyArea.objects.get(clinic=clinic)
    assert area.name == "Left elbow crease"
    photo_consent_give(patient=patient_a, by=patient_a.user, now=now)
    client.force_login(patient_a.user)
    assert "Left elbow crease" in client.get(reverse("photos")).content.decode()
    stranger = PatientFactory(dermatologist=other_derm)
    photo_consent_give(patient=stranger, by=stranger.user, now=now)
    client.force_login(stranger.user)
    assert "Left elbow crease" not in client.get(reverse("photos")).content.decode()


@pytest.mark.parametrize(("name", "message"), [
    ("", "Name the area first."),
    ("x" * 61, "Ensure this value has at most 60 characters"),
    ("face", "face is already in the list of areas."),
    ("LEFT ELBOW CREASE", "LEFT ELBOW CREASE is already in the list of areas."),
])
def test_a_bad_area_name_says_why_and_adds_nothing(client, clinic, patient_b, derm, name,
                                                  message):
    # given
    BodyArea.objects.create(clinic=clinic, name="Left elbow crease")
    client.force_login(derm)
    # when
    response = client.post(reverse("body_area_add", args=[patient_b.pk]), {"name": name})
    # then
    assert response.status_code == 400
    assert message in response.content.decode()
    assert BodyArea.objects.filter(clinic=clinic).count() == 1


# --- Cost ----------------------------------------------------------------------------------------

def test_the_photos_page_costs_a_bounded_number_of_queries(client, now, patient_b, derm, plan,
                                                           django_assert_max_num_queries):
    # given: 30 photos over three areas, some with notes: not a query per photo
    for n in range(30):
        shown = photo(patient_b, now, n, seed=n, area_code=("face", "hands", "back")[n % 3],
                      thumbnail=False)
        if n % 5 == 0:
            PhotoNote.objects.create(photo=shown, author=derm, text="Fine.", created_at=now)
    client.force_login(derm)
    # when / then
    with django_assert_max_num_queries(20):
        response = client.get(photos_url(patient_b))
    assert response.status_code == 200
