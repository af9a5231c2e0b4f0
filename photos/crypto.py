"""Images at rest are Fernet tokens (AES-128-CBC + HMAC-SHA256) under ``PHOTO_ENCRYPTION_KEYS``.

The newest key encrypts; every configured key decrypts, so keys rotate like the MFA ones: put a
new key first, run ``manage.py rotate_photo_keys``, then drop the old one.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "rotate"]


def _keys() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.PHOTO_ENCRYPTION_KEYS])


def encrypt(data: bytes) -> bytes:
    return _keys().encrypt(data)


def decrypt(token: bytes) -> bytes:
    """Raises ``InvalidToken`` when no configured key opens it."""
    return _keys().decrypt(token)


def rotate(token: bytes) -> bytes:
    """The same image under the newest key (raises ``InvalidToken`` as ``decrypt``)."""
    return _keys().rotate(token)
