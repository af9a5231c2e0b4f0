"""Every upload is decoded and re-encoded: metadata stripped, upright, bad files refused with a
clear message and nothing stored (issue 18, "Safe by construction")."""

from __future__ import annotations

import io
import re

import pytest
from django.urls import reverse
from PIL import Image

from photos.models import BodyArea, Photo
from photos.services import photo_consent_give
from photos.storage import photo_storage
from tests.photos.images import (
    heic_bytes,
    jpeg_bytes,
    metadata_of,
    oversized_jpeg,
    pdf_bytes,
    png_bomb,
    png_bytes,
    skin_photo,
    truncated_jpeg,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def consenting(patient_a, now):
    photo_consent_give(patient=patient_a, by=patient_a.user, now=now)
    return patient_a


def _upload(client, patient, data: bytes, name: str, content_type: str = "image/jpeg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(patient.user)
    face = BodyArea.objects.get(clinic=None, code="face")
    return client.post(reverse("photos"), {
        "area": face.pk, "photo": SimpleUploadedFile(name, data, content_type=content_type)})


def _stored_files() -> list[str]:
    storage = photo_storage()
    try:
        return storage.listdir("")[1]
    except FileNotFoundError:
        return []


def test_gps_and_device_metadata_are_gone_from_the_stored_and_the_served_image(client,
                                                                                consenting):
    # given: a phone JPEG carrying a GPS position, camera make, model and time
    original = jpeg_bytes(gps=True, device=True)
    assert metadata_of(original)["gps"]  # the test file really carries them
    # when
    response = _upload(client, consenting, original, "IMG_0001.jpg")
    # then: saved; what is stored, decrypted, and what is served carry no EXIF at all
    assert response.status_code == 302
    photo = Photo.objects.get(patient=consenting)
    from photos.services import photo_image

    stored = photo_image(photo)
    served = client.get(reverse("my_photo_image", args=[photo.public_id]))
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    for data in (stored, served.content):
        assert metadata_of(data) == {"exif": {}, "gps": {}, "info_keys": []}
    assert b"iPhone" not in served.content
    assert b"GPS" not in served.content


def test_the_file_at_rest_is_encrypted_and_its_name_says_nothing(client, consenting):
    # given / when
    _upload(client, consenting, jpeg_bytes(), "my-face-acne.jpg")
    # then
    photo = Photo.objects.get(patient=consenting)
    with photo_storage().open(photo.image_name, "rb") as stored:
        at_rest = stored.read()
    assert not at_rest.startswith(b"\xff\xd8")  # not a JPEG
    with pytest.raises(Exception):  # noqa: B017, PT011 - Pillow raises its own error type
        Image.open(io.BytesIO(at_rest))
    assert re.fullmatch(r"[0-9a-f]{32}\.bin", photo.image_name)  # random: not whose, not what


def test_a_photo_taken_sideways_is_stored_upright(client, consenting):
    # given: pixels stored landscape with "rotate 90° clockwise to view" (orientation 6)
    picture = skin_photo((600, 400))
    # when
    _upload(client, consenting, jpeg_bytes(picture, orientation=6), "IMG_0002.jpg")
    # then: portrait, and the top-left marker of the pixels is now at the top-right
    photo = Photo.objects.get(patient=consenting)
    from photos.services import photo_image

    with Image.open(io.BytesIO(photo_image(photo))) as upright:
        assert upright.size == (400, 600) == (photo.width, photo.height)
        red, _green, blue = upright.getpixel((upright.width - 5, 5))
        assert blue > red  # the blue corner marker


@pytest.mark.parametrize(("make", "name", "content_type"), [
    (heic_bytes, "IMG_0003.HEIC", "image/heic"),
    (png_bytes, "screenshot.png", "image/png"),
])
def test_heic_from_an_iphone_and_png_are_accepted_and_stored_as_jpeg(client, consenting, make,
                                                                     name, content_type):
    # when
    response = _upload(client, consenting, make(), name, content_type)
    # then
    assert response.status_code == 302
    photo = Photo.objects.get(patient=consenting)
    from photos.services import photo_image

    with Image.open(io.BytesIO(photo_image(photo))) as stored:
        assert stored.format == "JPEG"
        assert stored.size == (640, 480)


@pytest.mark.parametrize(("make", "name", "message"), [
    (pdf_bytes, "scan.jpg", "not a photo we can read"),
    (oversized_jpeg, "huge.jpg", "larger than 20 MB"),
    (png_bomb, "bomb.png", "too many pixels"),
    (truncated_jpeg, "cut.jpg", "not a photo we can read"),
    (lambda: b"", "empty.jpg", "empty"),
])
def test_bad_files_get_a_clear_message_and_nothing_is_stored(client, consenting, make, name,
                                                            message):
    # when
    response = _upload(client, consenting, make(), name)
    # then: the page again, with the reason next to the field; no row, no file, no 500
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Photo.objects.exists()
    assert _stored_files() == []
    assert name not in response.content.decode()  # the file's name is not echoed


def test_without_consent_an_upload_stores_nothing(client, patient_a):
    # when: a photo posted by someone who never consented (a crafted request)
    response = _upload(client, patient_a, jpeg_bytes(), "IMG_0004.jpg")
    # then
    assert response.status_code == 302
    assert not Photo.objects.exists()
    assert _stored_files() == []


def test_a_large_upload_is_never_spooled_to_disk_in_clear(client, consenting, monkeypatch):
    # given: Django's default would spool an upload over 2.5 MB to a temporary file (deleted
    # after the request, so the spy records each one made)
    from django.core.files import uploadedfile

    spooled = []
    original = uploadedfile.TemporaryUploadedFile.__init__

    def spy(self, *args, **kwargs):
        spooled.append(args[0] if args else kwargs.get("name"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(uploadedfile.TemporaryUploadedFile, "__init__", spy)
    five_mb = oversized_jpeg(total=5 * 1024 * 1024)
    # when
    response = _upload(client, consenting, five_mb, "IMG_0005.jpg")
    # then: saved, and no temporary file was ever made
    assert response.status_code == 302
    assert Photo.objects.filter(patient=consenting).count() == 1
    assert spooled == []
