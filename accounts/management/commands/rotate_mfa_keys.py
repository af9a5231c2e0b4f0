"""Re-encrypt two-step verification secrets with the newest MFA_ENCRYPTION_KEYS key.

Rotation: put the new key first in MFA_ENCRYPTION_KEYS (keep the old ones after it), restart,
run this command, then drop the old keys.
"""

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError

from accounts.services import authenticator_secrets_rotate


class Command(BaseCommand):
    help = "Re-encrypt every MFA secret with the first (newest) key of MFA_ENCRYPTION_KEYS."

    def handle(self, *args: object, **options: object) -> None:
        try:
            count = authenticator_secrets_rotate()
        except InvalidToken:
            raise CommandError(
                "A two-step verification secret could not be decrypted with any key in "
                "MFA_ENCRYPTION_KEYS; nothing was changed. Add the key it was made with."
            ) from None
        self.stdout.write(f"Re-encrypted {count} authenticator(s) with the newest key.")
