"""Where the encrypted image files live: ``settings.STORAGES["photos"]`` (the data folder, or an
S3-compatible bucket through django-storages). Names are random; contents are Fernet tokens."""

from __future__ import annotations

import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

from . import crypto


def photo_storage() -> Storage:
    return storages["photos"]


def stored_write(data: bytes) -> str:
    """Encrypt ``data`` and store it under a new random name; returns the name."""
    return photo_storage().save(f"{uuid.uuid4().hex}.bin", ContentFile(crypto.encrypt(data)))


def stored_read(name: str) -> bytes:
    with photo_storage().open(name, "rb") as stored:
        return crypto.decrypt(stored.read())


def stored_delete(name: str) -> None:
    if name:
        photo_storage().delete(name)
