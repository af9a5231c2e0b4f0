"""Two-step verification secrets encrypted at rest.

allauth stores an authenticator app's TOTP secret (``data["secret"]``), the recovery codes'
seed (``data["seed"]``) and any imported recovery codes (``data["migrated_codes"]``) through
its adapter's ``encrypt``/``decrypt``, which are no-ops by default. Here they are Fernet tokens
(AES-128-CBC with HMAC-SHA256) under ``settings.MFA_ENCRYPTION_KEYS``, a key separate from
``SECRET_KEY``: newest first, the newest encrypts and any decrypts (``MultiFernet``), so keys
rotate without downtime (``manage.py rotate_mfa_keys``).
"""

from __future__ import annotations

from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings

# Every Fernet token starts with its version byte 0x80, "gAAAAA" in url-safe base64. A TOTP
# secret is base32 (A-Z, 2-7) and a seed is hex, so neither can start with it.
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 - a format marker, not a secret


def mfa_fernet() -> MultiFernet:
    """The configured keys, newest first (built per call, so tests can change the setting)."""
    return MultiFernet([Fernet(key) for key in settings.MFA_ENCRYPTION_KEYS])


def mfa_encrypt(text: str) -> str:
    return mfa_fernet().encrypt(text.encode()).decode("ascii")


def mfa_decrypt(token: str) -> str:
    """Raises ``cryptography.fernet.InvalidToken`` for clear text or an unknown key: a secret
    is never used unencrypted."""
    return mfa_fernet().decrypt(token.encode("ascii")).decode()


def mfa_is_encrypted(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


class EncryptingMFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return mfa_encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return mfa_decrypt(encrypted_text)
