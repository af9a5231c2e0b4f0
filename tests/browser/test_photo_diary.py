"""The skin photo diary on a 390×844 phone (issue 18): a photo saved from Today in at most three
taps after consent, a real JPEG and a real HEIC (stored as JPEG), the camera guide's faint
overlay, consent given and withdrawn (photos gone, Today stops asking)."""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from PIL import Image

from photos.models import Photo
from photos.services import (
    photo_image,
    photo_note_add,
    photo_thumbnail_make,
    thumbnails_pending_ids,
)
from tests.browser.conftest import PHONE, assert_no_axe_violations, log_in
from tests.factories import backdated_revision, item_draft, photo_for
from tests.photos.images import heic_bytes, jpeg_bytes, skin_photo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CARD = "Time for your progress photo"


def screenshot(page, name: str) -> None:
    """For review: saved when BROWSER_SCREENSHOTS names a folder."""
    if folder := os.environ.get("BROWSER_SCREENSHOTS"):
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def assert_no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def _plan_asking_every_two_weeks(patient, derm):
    return backdated_revision(
        patient, author=derm, number=1, effective_from=patient.local_today() - timedelta(days=60),
        items=[item_draft(name="Gentle cleanser", kind="skincare")], photo_every_weeks=2)


def _file(name: str, mime: str, data: bytes) -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


def _make_thumbnails() -> None:
    """The thumbnail task, run here (the live server has no worker)."""
    for photo_id in thumbnails_pending_ids():
        photo_thumbnail_make(photo_id=photo_id)


def test_a_progress_photo_is_saved_from_today_in_three_taps_jpeg_then_heic(
        live_server, page, patient_a, derm):
    # given: consent, a plan asking every 2 weeks, the last face photo 3 weeks old, and an
    # older photo of the back with the dermatologist's note
    now = timezone.now()
    _plan_asking_every_two_weeks(patient_a, derm)
    back = photo_for(patient_a, area_code="back", now=now - timedelta(weeks=5),
                     data=jpeg_bytes(skin_photo(seed=3)))
    photo_note_add(photo=back, author=derm, text="Less redness than at the first visit.",
                   now=now - timedelta(weeks=4))
    photo_for(patient_a, area_code="face", now=now - timedelta(weeks=3))
    log_in(page, live_server, patient_a.user.email)
    page.goto(f"{live_server.url}/today/")

    # then: Today asks, with the face preselected
    card = page.locator("section.photo-card")
    card.get_by_role("heading", name=CARD).wait_for()
    assert card.get_by_label("Where on your body").evaluate("el => el.selectedOptions[0].text") \
        == "Face"
    assert_no_sideways_scroll(page)
    screenshot(page, "today-photo-card")
    assert_no_axe_violations(page)

    # when: tap 1, the camera (the phone's shutter or picker is the camera's own), tap 2, Save
    taps = 0
    card.get_by_label("Take or choose a photo").set_input_files(
        _file("IMG_0042.jpg", "image/jpeg", jpeg_bytes(skin_photo(seed=7))))
    taps += 1
    # the guide: the new photo, with the last face photo faint on top
    overlay = card.locator("img.photo-guide-last")
    overlay.wait_for(state="visible")
    card.locator("img.photo-guide-new").wait_for(state="visible")
    assert float(overlay.evaluate("el => getComputedStyle(el).opacity")) == pytest.approx(0.35)
    assert_no_sideways_scroll(page)
    screenshot(page, "today-photo-guide-overlay")
    assert_no_axe_violations(page)
    # the toggle hides the overlay and shows it again
    card.get_by_label("Show my last photo of this area on top").uncheck()
    assert overlay.is_hidden()
    card.get_by_label("Show my last photo of this area on top").check()
    assert overlay.is_visible()
    card.get_by_role("button", name="Save photo").click()
    taps += 1

    # then: saved, back on Today, which no longer asks
    page.get_by_text("Photo saved (Face)").wait_for()
    assert taps <= 3
    assert page.url == f"{live_server.url}/today/"
    assert page.get_by_text(CARD).count() == 0
    assert Photo.objects.filter(patient=patient_a, area__code="face").count() == 2

    # when: a HEIC from an iPhone, of the back, on the Photos page (switching the area
    # switches the guide's reference to the back's last photo)
    page.goto(f"{live_server.url}/photos/")
    page.get_by_label("Where on your body").select_option(label="Back")
    page.get_by_label("Take or choose a photo").set_input_files(
        _file("IMG_0043.HEIC", "image/heic", heic_bytes(skin_photo(seed=9))))
    page.get_by_text("cannot preview this kind of photo").wait_for()  # Chromium has no HEIC
    assert page.locator("img.photo-guide-last").get_attribute("src") == \
        f"/photos/{back.public_id}/image/"
    screenshot(page, "photos-heic-chosen")
    page.get_by_role("button", name="Save photo").click()
    page.get_by_text("Photo saved (Back)").wait_for()

    # then: kept as a JPEG
    heic = Photo.objects.filter(patient=patient_a, area__code="back").latest("uploaded_at")
    assert Image.open(io.BytesIO(photo_image(heic))).format == "JPEG"

    # and the diary shows both areas, newest first, with the note
    _make_thumbnails()
    page.reload()
    assert page.locator("img.photo-thumb").count() == 4
    page.get_by_text("Less redness than at the first visit.").wait_for()
    assert_no_sideways_scroll(page)
    screenshot(page, "photos-diary")
    assert_no_axe_violations(page)


def test_consent_first_then_a_photo_and_withdrawal_stops_everything(live_server, page,
                                                                    patient_a, derm):
    # given: the plan asks for photos; the patient has not decided
    _plan_asking_every_two_weeks(patient_a, derm)
    log_in(page, live_server, patient_a.user.email)
    page.goto(f"{live_server.url}/today/")
    assert page.get_by_text(CARD).count() == 0

    # when: the invitation leads to the consent words
    page.get_by_role("link", name="read how they are kept, then decide").click()
    page.get_by_role("heading", name="Before you add photos").wait_for()
    assert page.get_by_text("Changing your mind").is_visible()
    assert page.get_by_label("Take or choose a photo").count() == 0  # no upload before consent
    assert_no_sideways_scroll(page)
    screenshot(page, "photos-before-consent")
    assert_no_axe_violations(page)

    # and the patient agrees, then adds a photo (no earlier one: just the preview)
    page.get_by_role("button", name="I agree: let me add photos").click()
    page.get_by_text("You can add photos now").wait_for()
    page.get_by_label("Take or choose a photo").set_input_files(
        _file("IMG_0001.jpg", "image/jpeg", jpeg_bytes()))
    page.locator("img.photo-guide-new").wait_for(state="visible")
    assert page.locator("img.photo-guide-last").is_hidden()
    page.get_by_role("button", name="Save photo").click()
    page.get_by_text("Photo saved (Face)").wait_for()
    _make_thumbnails()
    page.reload()
    thumbnail = page.locator("img.photo-thumb").get_attribute("src")
    assert page.request.get(f"{live_server.url}{thumbnail}").status == 200

    # when: consent is withdrawn
    page.get_by_text("What this does").click()
    page.get_by_label("I understand that my photos will be deleted for good.").check()
    page.get_by_role("button", name="Withdraw and delete my photos").click()

    # then: the photos are gone from the page and from their addresses
    page.get_by_text("Consent withdrawn.").wait_for()
    assert page.locator("img.photo-thumb").count() == 0
    assert page.request.get(f"{live_server.url}{thumbnail}").status == 404
    # and Today asks no more, not even the invitation
    page.goto(f"{live_server.url}/today/")
    assert page.get_by_text(CARD).count() == 0
    assert page.get_by_text("would like progress photos").count() == 0
