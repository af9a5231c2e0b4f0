import sys
from collections.abc import Callable
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import Clinic, Patient
from checkins.models import CheckIn
from demo import seed
from reminders.models import EVERY_DAY, ReminderSettings

# Demo patients whose reminder is moved to a couple of minutes after seeding (their local time),
# so that reminders land in the outbox while the demo runs instead of at 20:00.
SOON_REMINDERS = 4
SOON_AFTER = timedelta(minutes=2)


class Command(BaseCommand):
    help = (
        "Create (idempotently) the demo clinic, clinicians and patients, each patient with a "
        "profile, a back-dated care plan and weeks of daily check-ins."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--patients", type=int, default=32,
            help="Synthetic patients besides patient@demo.test (default 32).",
        )
        parser.add_argument(
            "--days", type=int, default=seed.HISTORY_DAYS,
            help="Days of check-in history per patient, never before the plan starts "
                 f"(default {seed.HISTORY_DAYS}; 0 for none).",
        )
        parser.add_argument(
            "--no-flags", action="store_false", dest="flags",
            help="Skip raising flags for the seeded history (benchmarks time the sweep).",
        )

    def handle(self, *args: object, patients: int, days: int, flags: bool,
               **options: object) -> None:
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        summary = seed.seed_demo(
            now=timezone.now(), patients=patients, days=days, flags=flags,
            progress=self._progress(patients, "patients"),
            plan_progress=self._progress(patients, "plans"),
            history_progress=self._progress(patients, "history"),
        )
        # Counts only: the seed never prints anything about a patient's health.
        self.stdout.write(
            f"Demo clinic '{summary.clinic.name}': {summary.total_patients} patients "
            f"({summary.created_patients} new), {summary.created_plans} new care plans, "
            f"{summary.created_checkins} new check-ins for {summary.history_patients} patients, "
            f"{summary.opened_flags} new flags; {summary.catalogue_items} new catalogue items and "
            f"{summary.regimen_templates} new regimen templates; {summary.created_photos} new "
            f"photos; {summary.created_conversations} new conversations and "
            f"{summary.reply_templates} new reply templates."
        )
        soon = self._reminders_soon(summary.clinic)
        self.stdout.write(f"Reminders for {soon} demo patients (patient@demo.test first) are due "
                          f"in about {SOON_AFTER.seconds // 60} minutes; they land in the outbox.")
        self.stdout.write(
            f"Two-step verification for {seed.DERM_EMAIL}, {seed.STAFF_EMAIL} and "
            f"{seed.ADMIN_EMAIL}: add the secret {seed.DEMO_TOTP_SECRET} to an authenticator "
            f"app (current code: {seed.demo_totp_code()})."
        )

    def _reminders_soon(self, clinic: Clinic) -> int:
        """Set a few demo patients' reminder to a couple of minutes from now in their own time:
        the first ones with a plan who have not checked in today (three queries in all)."""
        now = timezone.now()  # after the seeding, which can take minutes
        at = now + SOON_AFTER
        candidates = list(Patient.objects.filter(clinic=clinic, care_plan__isnull=False)
                          .order_by("pk")[:SOON_REMINDERS * 4])
        recent = set(CheckIn.objects.filter(
            patient__in=candidates, local_date__gte=now.date() - timedelta(days=1),
        ).values_list("patient_id", "local_date"))
        # Not a patient whose local midnight falls before ``at``: a reminder set just after it
        # would already have passed for their new day, and be due at once.
        chosen = [p for p in candidates if (p.pk, p.local_date(now)) not in recent
                  and p.local_date(at) == p.local_date(now)][:SOON_REMINDERS]
        ReminderSettings.objects.bulk_create(
            [ReminderSettings(patient=patient, enabled=True, weekdays=EVERY_DAY,
                              local_time=timezone.localtime(at, patient.zone).time().replace(
                                  second=0, microsecond=0))
             for patient in chosen],
            update_conflicts=True, unique_fields=["patient"],
            update_fields=["enabled", "weekdays", "local_time", "updated_at"],
        )
        return len(chosen)

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
