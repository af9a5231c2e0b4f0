"""Send a task through the configured broker and wait until a worker has written its row."""

import time
import uuid

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.models import Heartbeat
from core.tasks import heartbeat_record


class Command(BaseCommand):
    help = "Round-trip a task through the broker and a worker; exits non-zero on timeout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=30.0)

    def handle(self, *args: object, timeout: float, **options: object) -> None:
        key = f"ping:{uuid.uuid4().hex}"
        started = time.monotonic()
        heartbeat_record.delay_on_commit(key)
        while time.monotonic() - started < timeout:
            if Heartbeat.objects.filter(key=key).exists():
                elapsed_ms = (time.monotonic() - started) * 1000
                self.stdout.write(f"Task round-trip OK in {elapsed_ms:.0f} ms ({key}).")
                return
            time.sleep(0.2)
        raise CommandError(f"No worker wrote {key} within {timeout:.0f} s.")
