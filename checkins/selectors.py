"""Reads for check-ins; callers pass a patient they obtained through accounts' scoped selectors."""

from __future__ import annotations

from datetime import date

from django.db.models import OuterRef, QuerySet, Subquery

from accounts.models import Patient
from careplans.models import PlanItem, PlanRevision
from careplans.schedule import DueStep, due_steps

from .models import CheckIn

# What ``due_steps`` reads of an item, plus the key a step log records. The check-in write loads
# nothing else: names, costs and the revision's JSON are for pages, not for the write.
SCHEDULE_FIELDS = (
    "id", "key", "position", "time_of_day", "frequency", "weekdays", "every_n_days",
    "ramp_every_n_days", "ramp_days", "starts_on",
)


def schedule_on(patient: Patient, on: date) -> tuple[int | None, list[DueStep]]:
    """The id of the plan revision in effect on ``on`` and its steps due that day, for the
    check-in write: two narrow queries without ``Meta.ordering`` joins (the hot path of every
    check-in POST; ``careplans.selectors.steps_due_on`` loads whole revisions for pages).

    The revision is the same choice as ``careplans.selectors.revision_in_effect`` (the latest
    ``effective_from`` on or before ``on``, then the highest number); a test pins the two.
    """
    found = (
        PlanRevision.objects.filter(plan__patient=patient, effective_from__lte=on)
        .order_by("-effective_from", "-number").values_list("pk", "plan__starts_on").first()
    )
    if found is None:
        return None, []
    revision_id, plan_starts_on = found
    items = PlanItem.objects.filter(revision_id=revision_id).order_by().only(*SCHEDULE_FIELDS)
    return revision_id, due_steps(list(items), on, plan_starts_on=plan_starts_on)


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
