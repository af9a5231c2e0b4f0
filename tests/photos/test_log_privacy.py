"""No image, file name or note reaches a log line, even at DEBUG, through an upload, its
thumbnail, a note, a broker outage and a withdrawal (issue 18, "No image or filename in any log
or task argument")."""

from __future__ import annotations

import base64
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from kombu.exceptions import OperationalError

from photos import tasks
from photos.models import BodyArea, Photo
from photos.services import photo_consent_give, photo_image, photo_note_add
from tests.photos.images import jpeg_bytes

pytestmark = pytest.mark.django_db

FILE_NAME = "Siobhan-Quirke-rash-on-face-IMG_4417.jpg"
NOTE = "Eczema patch on the left elbow crease is calmer"


def _logged(record: logging.LogRecord) -> str:
    """Everything a handler could write of ``record``: message, arguments, traceback."""
    text = [record.getMessage(), repr(record.args), repr(record.msg)]
    if record.exc_info:
        text.append(logging.Formatter().formatException(record.exc_info))
    if record.exc_text:
        text.append(record.exc_text)
    return "\n".join(text)


def test_no_log_record_holds_a_file_name_an_image_or_a_note(client, patient_a, derm, now, caplog,
                                                            monkeypatch,
                                                            django_capture_on_commit_callbacks):
    # given: the broker down, so the enqueue failure is logged with its traceback
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.photo_thumbnail_make, "delay", broker_down)
    upload = jpeg_bytes()
    photo_consent_give(patient=patient_a, by=patient_a.user, now=now)
    client.force_login(patient_a.user)
    caplog.set_level(logging.DEBUG)
    # when: upload, thumbnail (by the sweep), note, views, and a withdrawal
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("photos"), {
            "area": BodyArea.objects.get(clinic=None, code="face").pk,
            "photo": SimpleUploadedFile(FILE_NAME, upload, content_type="image/jpeg")})
    assert response.status_code == 302
    tasks.photos_sweep()
    photo = Photo.objects.get()
    assert photo.thumbnail_ready
    stored = photo_image(photo)
    photo_note_add(photo=photo, author=derm, text=NOTE, now=now)
    client.get(reverse("photos"))
    client.get(reverse("my_photo_thumbnail", args=[photo.public_id]))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("photo_consent_withdraw"), {"confirm": "on"})
    photo.refresh_from_db()
    assert photo.deleted_at is not None
    # then: something was logged (the broker outage), and none of it says what the photo is
    logged = "\n".join(_logged(record) for record in caplog.records)
    assert "Could not enqueue" in logged
    for secret in (FILE_NAME, FILE_NAME.rsplit(".", 1)[0], "IMG_4417", "Siobhan", NOTE,
                   "elbow crease"):
        assert secret.lower() not in logged.lower(), secret
    for image in (upload, stored):
        for fragment in (image[:64], image[200:264]):
            assert repr(fragment)[2:-1] not in logged
            assert base64.b64encode(fragment).decode()[:40] not in logged
        assert "\\xff\\xd8" not in logged
