"""Two-step verification secrets are encrypted at rest under MFA_ENCRYPTION_KEYS (a key apart
from SECRET_KEY), keys rotate, and the data migration encrypts secrets stored in clear."""

from __future__ import annotations

import importlib
from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.mfa_adapter import mfa_decrypt
from tests.factories import TOTP_SECRET, DermatologistFactory
from tests.security.conftest import code_step, password_step, sign_in, signed_in_user_id

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
BEFORE = ("accounts", "0005_clinic_currency")
ENCRYPTING = ("accounts", "0006_encrypt_mfa_secrets")


def stored_data(authenticator_id: int) -> str:
    """The row as the database holds it, past the model and its adapter."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM mfa_authenticator WHERE id = %s", [authenticator_id])
        return str(cursor.fetchone()[0])


def totp_of(user) -> Authenticator:
    return Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)


@pytest.mark.django_db
def test_totp_secret_is_not_stored_in_clear_and_the_app_still_signs_in(client):
    # given: enrolled through allauth's own TOTP.activate (the factory)
    derm = DermatologistFactory()
    # when
    row = stored_data(totp_of(derm).pk)
    sign_in(client, derm.email, mfa=True)
    # then
    assert TOTP_SECRET not in row
    assert "gAAAAA" in row  # a Fernet token
    assert signed_in_user_id(client) == str(derm.pk)


@pytest.mark.django_db
def test_recovery_codes_seed_is_not_stored_in_clear_and_a_code_still_signs_in(client):
    # given
    derm = DermatologistFactory()
    codes = RecoveryCodes.activate(derm)
    seed = mfa_decrypt(codes.instance.data["seed"])
    # when
    row = stored_data(codes.instance.pk)
    password_step(client, derm.email)
    code_step(client, codes.generate_codes()[0])
    # then
    assert seed not in row
    assert signed_in_user_id(client) == str(derm.pk)


@pytest.mark.django_db
def test_old_key_still_decrypts_and_rotate_mfa_keys_moves_every_secret_to_the_newest(
        client, settings):
    # given: secrets made under the old key
    settings.MFA_ENCRYPTION_KEYS = [OLD_KEY]
    derm = DermatologistFactory()
    recovery = RecoveryCodes.activate(derm)
    first_code = recovery.generate_codes()[0]
    # when: a new key goes in front, then every secret is re-encrypted with it
    settings.MFA_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    readable_before_rotation = mfa_decrypt(totp_of(derm).data["secret"])
    output = StringIO()
    call_command("rotate_mfa_keys", stdout=output)
    settings.MFA_ENCRYPTION_KEYS = [NEW_KEY]  # the old key retired
    # then
    assert readable_before_rotation == TOTP_SECRET
    assert "Re-encrypted 2 authenticator(s)" in output.getvalue()
    secret_token = totp_of(derm).data["secret"].encode()
    seed_token = Authenticator.objects.get(pk=recovery.instance.pk).data["seed"].encode()
    for token in (secret_token, seed_token):
        with pytest.raises(InvalidToken):
            Fernet(OLD_KEY).decrypt(token)
    assert Fernet(NEW_KEY).decrypt(secret_token).decode() == TOTP_SECRET
    assert RecoveryCodes(Authenticator.objects.get(pk=recovery.instance.pk)).generate_codes()[0] \
        == first_code
    sign_in(client, derm.email, mfa=True)
    assert signed_in_user_id(client) == str(derm.pk)


@pytest.mark.django_db
def test_rotate_mfa_keys_changes_nothing_when_a_secret_needs_a_key_no_longer_configured(
        settings):
    # given
    settings.MFA_ENCRYPTION_KEYS = [OLD_KEY]
    derm = DermatologistFactory()
    before = totp_of(derm).data
    settings.MFA_ENCRYPTION_KEYS = [NEW_KEY]
    # when / then
    with pytest.raises(CommandError, match="could not be decrypted"):
        call_command("rotate_mfa_keys")
    assert totp_of(derm).data == before


def _migrate(target: tuple[str, str] | None) -> None:
    """To ``target``, or with None back to the latest migration of every app (what the rest
    of the test session expects)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target] if target else executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_migration_encrypts_existing_clear_secrets_once_and_its_reverse_decrypts():
    # given: a TOTP secret and a recovery seed stored in clear, as before this change
    derm = DermatologistFactory(mfa=False)
    _migrate(BEFORE)
    totp = Authenticator.objects.create(user=derm, type=Authenticator.Type.TOTP,
                                        data={"secret": TOTP_SECRET})
    seed = "ab" * 40
    recovery = Authenticator.objects.create(user=derm, type=Authenticator.Type.RECOVERY_CODES,
                                            data={"seed": seed, "used_mask": 0})
    try:
        # when
        _migrate(ENCRYPTING)
        encrypted = {pk: Authenticator.objects.get(pk=pk).data for pk in (totp.pk, recovery.pk)}
        migration = importlib.import_module("accounts.migrations.0006_encrypt_mfa_secrets")
        migration.encrypt_secrets(apps, None)  # a second run
        again = {pk: Authenticator.objects.get(pk=pk).data for pk in (totp.pk, recovery.pk)}
        # then
        assert TOTP_SECRET not in stored_data(totp.pk)
        assert seed not in stored_data(recovery.pk)
        assert mfa_decrypt(encrypted[totp.pk]["secret"]) == TOTP_SECRET
        assert mfa_decrypt(encrypted[recovery.pk]["seed"]) == seed
        assert encrypted[recovery.pk]["used_mask"] == 0
        assert again == encrypted  # idempotent: not encrypted twice
        # and when reversed
        _migrate(BEFORE)
        assert Authenticator.objects.get(pk=totp.pk).data == {"secret": TOTP_SECRET}
        assert Authenticator.objects.get(pk=recovery.pk).data == {"seed": seed, "used_mask": 0}
    finally:
        _migrate(None)
