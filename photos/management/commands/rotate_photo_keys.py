"""Re-encrypt the photo diary's stored images with the newest PHOTO_ENCRYPTION_KEYS key.

Rotation: put the new key first in PHOTO_ENCRYPTION_KEYS (keep the old ones after it), restart,
run this command, then drop the old keys once it reports no file left behind.
"""

from django.core.management.base import BaseCommand, CommandError

from photos.services import photo_keys_rotate


class Command(BaseCommand):
    help = ("Re-encrypt every stored photo file with the first (newest) key of "
            "PHOTO_ENCRYPTION_KEYS.")

    def handle(self, *args: object, **options: object) -> None:
        rotated, failed = photo_keys_rotate()
        # Counts only: never a file name, a patient or a key.
        if failed:
            raise CommandError(
                f"Re-encrypted {rotated} photo file(s); {failed} could not be decrypted with any "
                "key in PHOTO_ENCRYPTION_KEYS and were left as they are. Add the key they were "
                "made with and run this again before dropping any key."
            )
        self.stdout.write(f"Re-encrypted {rotated} photo file(s) with the newest key.")
