"""Reads for check-ins; callers pass a patient they obtained through accounts' scoped selectors."""

from __future__ import annotations

from datetime import date

from django.db.models import OuterRef, QuerySet, Subquery

from accounts.models import Patient

from .models import CheckIn


def checkin_on(patient: Patient, local_date: date) -> CheckIn | None:
    return (
        CheckIn.objects.filter(patient=patient, local_date=local_date)
        .select_related("pulse").prefetch_related("steps").first()
    )


def logged_dates(patient: Patient, dates: list[date]) -> set[date]:
    return set(
        CheckIn.objects.filter(patient=patient, local_date__in=dates)
        .values_list("local_date", flat=True)
    )


def with_last_checkin(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    """Annotate ``last_checkin_date`` (a subquery, so other annotations are not multiplied)."""
    latest = CheckIn.objects.filter(patient=OuterRef("pk")).order_by("-local_date")
    return patients.annotate(last_checkin_date=Subquery(latest.values("local_date")[:1]))


def recent_checkins(patient: Patient, limit: int = 30) -> QuerySet[CheckIn]:
    return (
        CheckIn.objects.filter(patient=patient)
        .select_related("side_effect_item", "pulse").order_by("-local_date")[:limit]
    )
