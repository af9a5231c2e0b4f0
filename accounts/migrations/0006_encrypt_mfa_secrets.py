"""Encrypt existing two-step verification secrets at rest (issue 13, point 2).

allauth's MFA adapter stored TOTP secrets (data["secret"]), recovery-code seeds (data["seed"])
and imported recovery codes (data["migrated_codes"]) in clear; accounts.mfa_adapter now keeps
them as Fernet tokens under settings.MFA_ENCRYPTION_KEYS. Self-contained on purpose (no import
of accounts code, which may change later). Idempotent: a value that is already a token (it
decrypts with a configured key) is left alone; a token no configured key opens stops the
migration rather than being encrypted twice. The reverse decrypts.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import migrations

FIELDS = ("secret", "seed")
LIST_FIELDS = ("migrated_codes",)
TOKEN_PREFIX = "gAAAAA"  # Fernet's version byte; base32 secrets and hex seeds never start so


def _fernet():
    return MultiFernet([Fernet(key) for key in settings.MFA_ENCRYPTION_KEYS])


def _encrypted(fernet, value, pk):
    if value.startswith(TOKEN_PREFIX):
        try:
            fernet.decrypt(value.encode("ascii"))
        except InvalidToken:
            raise RuntimeError(
                f"mfa.Authenticator {pk}: its secret is encrypted with a key that is not in "
                "MFA_ENCRYPTION_KEYS; add that key and migrate again."
            ) from None
        return value
    return fernet.encrypt(value.encode()).decode("ascii")


def _decrypted(fernet, value, pk):
    if not value.startswith(TOKEN_PREFIX):
        return value
    try:
        return fernet.decrypt(value.encode("ascii")).decode()
    except InvalidToken:
        raise RuntimeError(
            f"mfa.Authenticator {pk}: its secret cannot be decrypted with MFA_ENCRYPTION_KEYS."
        ) from None


def _convert(apps, convert):
    Authenticator = apps.get_model("mfa", "Authenticator")
    fernet = _fernet()
    for authenticator in Authenticator.objects.order_by("pk").iterator():
        data = dict(authenticator.data or {})
        before = dict(data)
        for name in FIELDS:
            if isinstance(data.get(name), str):
                data[name] = convert(fernet, data[name], authenticator.pk)
        for name in LIST_FIELDS:
            if isinstance(data.get(name), list):
                data[name] = [convert(fernet, value, authenticator.pk) for value in data[name]]
        if data != before:
            Authenticator.objects.filter(pk=authenticator.pk).update(data=data)


def encrypt_secrets(apps, schema_editor):
    _convert(apps, _encrypted)


def decrypt_secrets(apps, schema_editor):
    _convert(apps, _decrypted)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_clinic_currency"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_secrets, decrypt_secrets)]
