"""A dermatologist on a desktop (1366x900) reviews a patient's photo diary: the patient page's
"Photos", then the photos page: two photos of the face side by side with how the fortnight
before each went, the before/after slider moved with the keyboard, and a note for the patient.
Every page axe-clean (BROWSER_SCREENSHOTS=<folder> keeps a screenshot of each)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from checkins.services import StepAnswer, Wellbeing, checkin_submit
from photos.models import PhotoNote
from tests.browser.conftest import assert_no_axe_violations, log_in
from tests.factories import photo_for, plan_for
from tests.photos.images import jpeg_bytes, skin_photo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}


def images_loaded(page) -> None:
    """Every image on the page has loaded (or failed), so the screenshot shows them."""
    page.locator("img").evaluate_all(
        "imgs => Promise.all(imgs.map(img => img.complete ? null"
        " : new Promise(done => { img.onload = img.onerror = done; })))")


def test_a_dermatologist_compares_two_photos_and_notes_what_they_see(live_server, browser,
                                                                     patient_a, derm):
    # given: eight weeks of a plan, a face photo every fortnight (the newest still without its
    # thumbnail), a hands photo, and check-ins: patchy at first, steady lately
    now = timezone.now()
    revision = plan_for(patient_a, author=derm, now=now - timedelta(days=60))
    item = revision.items.get()
    for days_ago in range(56, -1, -1):
        if days_ago > 28 and days_ago % 3 == 0:
            continue  # not logged
        done = days_ago <= 28 or days_ago % 2 == 0
        checkin_submit(patient=patient_a, now=now - timedelta(days=days_ago),
                       local_date=patient_a.local_date(now - timedelta(days=days_ago)),
                       answers=[StepAnswer(item.pk, "evening", done, "" if done else "forgot")],
                       wellbeing=Wellbeing(itch=7 if days_ago > 28 else 3,
                                           satisfaction=2 if days_ago > 28 else 4))
    for n, days_ago in enumerate((42, 28, 14, 0)):
        photo_for(patient_a, now=now - timedelta(days=days_ago), thumbnail=days_ago > 0,
                  data=jpeg_bytes(skin_photo((960, 720), seed=n + 1)))
    photo_for(patient_a, area_code="hands", now=now - timedelta(days=20),
              data=jpeg_bytes(skin_photo((720, 960), seed=9)))
    page = browser.new_context(viewport=DESKTOP).new_page()
    log_in(page, live_server, derm.email)
    # when: the patient page
    page.goto(f"{live_server.url}/clinic/patients/{patient_a.pk}/")
    photos = page.get_by_role("region", name="Photos")
    # then
    assert photos.get_by_role("img", name=re.compile("Photo of Face")).count() == 3
    assert photos.get_by_text("Preparing the preview").is_visible()
    images_loaded(page)
    assert_no_axe_violations(page)
    # when: the photos page
    photos.get_by_role("link", name="All photos, compare and notes").click()
    page.wait_for_url(re.compile(r"/photos/$"))
    compare = page.get_by_role("region", name="Compare two photos")
    # then: the first and latest photo of the face, each with its fortnight
    earlier, later = compare.locator("figure.compared-photo").all()
    assert "Earlier:" in earlier.inner_text()
    assert "Later:" in later.inner_text()
    assert "100 %" in later.inner_text()
    slider = page.get_by_label(re.compile("Divider"))
    assert slider.is_visible()
    images_loaded(page)
    assert_no_axe_violations(page)
    # when: the divider moved with the keyboard
    slider.focus()
    for _ in range(10):
        page.keyboard.press("ArrowLeft")
    # then
    assert slider.input_value() == "40"
    clip = page.locator(".photo-wipe-after").evaluate("img => img.style.clipPath")
    assert clip == "inset(0px 0px 0px 40%)"
    # when: a note on the latest photo
    newest = page.locator(".photo-timeline li").first
    newest.get_by_text("Add a note").click()
    newest.get_by_label("Your note for the patient").fill("Much calmer than six weeks ago.")
    newest.get_by_role("button", name="Save note").click()
    # then
    assert page.get_by_text("Note saved. The patient sees it beside the photo.").is_visible()
    assert PhotoNote.objects.get().text == "Much calmer than six weeks ago."
    images_loaded(page)
    assert_no_axe_violations(page)
    # when: the patient, on their phone, opens their photos
    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    log_in(phone, live_server, patient_a.user.email)
    phone.goto(f"{live_server.url}/photos/")
    # then: the note is beside the photo, in the dermatologist's name
    assert phone.get_by_text(f"{derm.display_name} noted:").is_visible()
    assert phone.get_by_text("Much calmer than six weeks ago.").is_visible()
    images_loaded(phone)
    assert_no_axe_violations(phone)
