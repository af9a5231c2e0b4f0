"""Run the flag sweep now, for every clinic or one, and print counts (never health data)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import Clinic
from flags.sweep import sweep


class Command(BaseCommand):
    help = "Evaluate the flag rules now (all clinics, or --clinic ID) and apply the findings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", type=int, help="Only this clinic (its id).")
        parser.add_argument("--chunk-size", type=int, default=2000)

    def handle(self, *args: object, clinic: int | None, chunk_size: int,
               **options: object) -> None:
        if clinic is not None and not Clinic.objects.filter(pk=clinic).exists():
            raise CommandError(f"No clinic with id {clinic}.")
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.")
        started = time.perf_counter()
        result = sweep(now=timezone.now(), clinic_ids=[clinic] if clinic is not None else None,
                       chunk_size=chunk_size)
        per_rule = ", ".join(f"{rule}: {n}" for rule, n in sorted(result.per_rule.items()))
        self.stdout.write(
            f"Swept {result.patients} patients in {result.chunks} chunks "
            f"({time.perf_counter() - started:.2f} s). Findings: {result.findings}"
            f"{f' ({per_rule})' if per_rule else ''}. "
            f"Flags opened: {result.opened}, updated: {result.updated}."
        )
