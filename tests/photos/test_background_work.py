"""Thumbnails are made by a task after commit, withdrawn photos' files deleted after commit, and
a sweep catches up on both when the broker or the storage failed (issue 18)."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from kombu.exceptions import OperationalError

from photos import services, tasks
from photos.models import BodyArea, Photo, PhotoNote
from photos.services import (
    photo_add,
    photo_consent_give,
    photo_consent_withdraw,
    photo_note_add,
)
from photos.storage import photo_storage
from tests.factories import photo_for
from tests.photos.images import jpeg_bytes

pytestmark = pytest.mark.django_db


def _stored_files() -> set[str]:
    try:
        return set(photo_storage().listdir("")[1])
    except FileNotFoundError:
        return set()


def _add_photo(patient, now) -> Photo:
    data = jpeg_bytes()
    photo_consent_give(patient=patient, by=patient.user, now=now)
    return photo_add(patient=patient, by=patient.user,
                     area=BodyArea.objects.get(clinic=None, code="face"),
                     upload=io.BytesIO(data), size=len(data), now=now)


@pytest.fixture
def sent(monkeypatch) -> list[tuple[tuple, dict]]:
    """What the thumbnail task was sent, as (args, kwargs), instead of the broker."""
    calls: list[tuple[tuple, dict]] = []
    monkeypatch.setattr(tasks.photo_thumbnail_make, "delay",
                        lambda *args, **kwargs: calls.append((args, kwargs)))
    return calls


def test_the_thumbnail_task_is_sent_after_commit_with_the_photo_id_only(
        patient_a, now, sent, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        photo = _add_photo(patient_a, now)
    # then: nothing before the commit; then the id, and nothing else
    assert sent == []
    for callback in callbacks:
        callback()
    assert sent == [((photo.pk,), {})]
    photo.refresh_from_db()
    assert not photo.thumbnail_ready


def test_the_thumbnail_task_is_idempotent(patient_a, now):
    # given
    photo = photo_for(patient_a, now=now, thumbnail=False)
    # when: delivered twice (a redelivery, or the sweep and the task together)
    tasks.photo_thumbnail_make(photo.pk)
    photo.refresh_from_db()
    first = photo.thumbnail_name
    tasks.photo_thumbnail_make(photo.pk)
    # then: one thumbnail file, the same one
    photo.refresh_from_db()
    assert photo.thumbnail_name == first != ""
    assert _stored_files() == {photo.image_name, photo.thumbnail_name}


def test_a_withdrawn_photo_gets_no_thumbnail(patient_a, now,
                                             django_capture_on_commit_callbacks):
    # given: the task is still queued when consent is withdrawn
    photo = photo_for(patient_a, now=now, thumbnail=False)
    with django_capture_on_commit_callbacks(execute=True):
        photo_consent_withdraw(patient=patient_a, by=patient_a.user, now=now)
    # when
    tasks.photo_thumbnail_make(photo.pk)
    # then
    photo.refresh_from_db()
    assert photo.thumbnail_name == ""
    assert _stored_files() == set()


def test_the_sweep_makes_the_thumbnails_whose_task_was_lost(
        patient_a, now, monkeypatch, django_capture_on_commit_callbacks):
    # given: the broker is down when the photo is added
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.photo_thumbnail_make, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        photo = _add_photo(patient_a, now)
    photo.refresh_from_db()
    assert not photo.thumbnail_ready  # saved all the same
    # when
    tasks.photos_sweep()
    # then
    photo.refresh_from_db()
    assert photo.thumbnail_ready
    assert _stored_files() == {photo.image_name, photo.thumbnail_name}


def test_withdrawal_deletes_the_files_after_commit_and_keeps_the_rows_and_notes(
        patient_a, derm, now, django_capture_on_commit_callbacks):
    # given
    photo = photo_for(patient_a, now=now)
    photo_note_add(photo=photo, author=derm, text="Fewer spots on the left cheek.", now=now)
    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        deleted = photo_consent_withdraw(patient=patient_a, by=patient_a.user, now=now)
    # then: the files stay until the withdrawal is committed, then go at once
    assert deleted == 1
    assert len(_stored_files()) == 2
    for callback in callbacks:
        callback()
    assert _stored_files() == set()
    photo.refresh_from_db()
    assert photo.deleted_at == now
    assert (photo.image_name, photo.thumbnail_name) == ("", "")
    assert PhotoNote.objects.filter(photo=photo).count() == 1


def test_the_sweep_deletes_the_files_a_failing_storage_left_behind(
        patient_a, now, monkeypatch, django_capture_on_commit_callbacks):
    # given: the storage fails once while the withdrawal deletes the files
    photo = photo_for(patient_a, now=now)
    real_delete = services.stored_delete
    failures = [OSError("storage unavailable")]

    def flaky_delete(name: str) -> None:
        if failures:
            raise failures.pop()
        real_delete(name)

    monkeypatch.setattr(services, "stored_delete", flaky_delete)
    with django_capture_on_commit_callbacks(execute=True):
        photo_consent_withdraw(patient=patient_a, by=patient_a.user, now=now)
    photo.refresh_from_db()
    assert photo.deleted_at == now
    assert _stored_files() == {photo.image_name, photo.thumbnail_name}  # left behind
    # when
    tasks.photos_sweep()
    # then
    photo.refresh_from_db()
    assert _stored_files() == set()
    assert (photo.image_name, photo.thumbnail_name) == ("", "")


def test_the_page_shows_a_placeholder_until_the_thumbnail_is_made(client, patient_a, now):
    # given
    photo = photo_for(patient_a, now=now, thumbnail=False)
    thumbnail_url = reverse("my_photo_thumbnail", args=[photo.public_id])
    client.force_login(patient_a.user)
    # when / then: a placeholder linking to the photo; the thumbnail itself is not there yet
    page = client.get(reverse("photos")).content.decode()
    assert "photo-placeholder" in page
    assert thumbnail_url not in page
    assert reverse("my_photo_image", args=[photo.public_id]) in page
    assert client.get(thumbnail_url).status_code == 404
    # when: the task has run
    tasks.photo_thumbnail_make(photo.pk)
    # then
    page = client.get(reverse("photos")).content.decode()
    assert "photo-placeholder" not in page
    assert f'src="{thumbnail_url}"' in page
    response = client.get(thumbnail_url)
    assert response.status_code == 200
    assert response.content.startswith(b"\xff\xd8")
