import sys
from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandParser

from demo import seeding


class Command(BaseCommand):
    help = (
        "Create (idempotently) the demo clinic, clinicians and patients, each patient with a "
        "profile and a back-dated care plan."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--patients", type=int, default=32,
            help="Synthetic patients besides patient@demo.test (default 32).",
        )

    def handle(self, *args: object, patients: int, **options: object) -> None:
        summary = seeding.seed_demo(
            patients=patients,
            progress=self._progress(patients, "patients"),
            plan_progress=self._progress(patients, "plans"),
        )
        # Counts only: the seed never prints anything about a patient's health.
        self.stdout.write(
            f"Demo clinic '{summary.clinic.name}': {summary.total_patients} patients "
            f"({summary.created_patients} new), {summary.created_plans} new care plans."
        )

    def _progress(self, total: int, label: str) -> Callable[[int, int], None] | None:
        if total < 2000:
            return None

        def report(done: int, todo: int) -> None:
            width = 30
            filled = int(width * done / max(todo, 1))
            sys.stderr.write(
                f"\r  {label:<8} [{'#' * filled}{'.' * (width - filled)}] {done}/{todo}"
            )
            if done >= todo:
                sys.stderr.write("\n")
            sys.stderr.flush()

        return report
