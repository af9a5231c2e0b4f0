"""``manage.py rotate_photo_keys``: the photos' key rotates like the other secrets (issue 18,
"Images are encrypted at rest with a key from the environment (rotatable)")."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command

from photos.services import photo_image
from photos.storage import photo_storage
from tests.factories import PatientFactory, photo_for

pytestmark = pytest.mark.django_db

OLD_KEY, NEW_KEY, LOST_KEY = (Fernet.generate_key().decode() for _ in range(3))


def _stored() -> dict[str, bytes]:
    storage = photo_storage()
    names = storage.listdir("")[1]
    contents = {}
    for name in names:
        with storage.open(name, "rb") as stored:
            contents[name] = stored.read()
    return contents


def test_after_rotation_every_file_opens_with_the_new_key_only(settings, patient_a, now):
    # given: two photos (and their thumbnails) under the old key
    settings.PHOTO_ENCRYPTION_KEYS = [OLD_KEY]
    first = photo_for(patient_a, area_code="face", now=now)
    second = photo_for(patient_a, area_code="back", now=now)
    assert len(_stored()) == 4
    # when: the new key goes in front, the command runs, then the old key is dropped
    settings.PHOTO_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    output = StringIO()
    call_command("rotate_photo_keys", stdout=output)
    settings.PHOTO_ENCRYPTION_KEYS = [NEW_KEY]
    # then: four files still (the old ones gone), each readable with the new key only
    assert "Re-encrypted 4 photo file(s)" in output.getvalue()
    stored = _stored()
    assert len(stored) == 4
    for token in stored.values():
        Fernet(NEW_KEY).decrypt(token)
        with pytest.raises(InvalidToken):
            Fernet(OLD_KEY).decrypt(token)
    for photo in (first, second):
        photo.refresh_from_db()
        assert set(stored) >= {photo.image_name, photo.thumbnail_name}
        assert photo_image(photo).startswith(b"\xff\xd8")
        assert photo_image(photo, thumbnail=True).startswith(b"\xff\xd8")


def test_a_file_under_a_key_no_longer_configured_is_counted_and_left_as_it_is(settings,
                                                                              patient_a, now):
    # given: one photo under a key since dropped, one under the old key
    settings.PHOTO_ENCRYPTION_KEYS = [LOST_KEY]
    orphan = photo_for(patient_a, now=now)
    settings.PHOTO_ENCRYPTION_KEYS = [OLD_KEY]
    readable = photo_for(PatientFactory(dermatologist=patient_a.dermatologist), now=now)
    orphan_files = {name: token for name, token in _stored().items()
                    if name in (orphan.image_name, orphan.thumbnail_name)}
    # when
    settings.PHOTO_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    with pytest.raises(CommandError) as refused:
        call_command("rotate_photo_keys", stdout=StringIO())
    # then: the count, never a name; the orphan's files untouched, the other photo rotated
    message = str(refused.value)
    assert "Re-encrypted 2 photo file(s); 2 could not be decrypted" in message
    for name in (orphan.image_name, orphan.thumbnail_name, readable.image_name):
        assert name not in message
        assert name.removesuffix(".bin") not in message
    stored = _stored()
    assert {name: stored[name] for name in orphan_files} == orphan_files
    orphan.refresh_from_db()
    assert {orphan.image_name, orphan.thumbnail_name} == set(orphan_files)
    readable.refresh_from_db()
    settings.PHOTO_ENCRYPTION_KEYS = [NEW_KEY]
    assert photo_image(readable).startswith(b"\xff\xd8")
