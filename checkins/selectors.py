"""Reads for check-ins; callers pass a patient they obtained through accounts' scoped selectors."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from django.db.models import OuterRef, QuerySet, Subquery

from accounts.models import Patient
from careplans.models import PlanItem, PlanRevision
from careplans.schedule import DueStep, due_steps

from .models import CheckIn

# What ``due_steps`` reads of an item, plus the key a step log records. The check-in write loads
# nothing else: names, costs and the revision's JSON are for pages, not for the write.
SCHEDULE_FIELDS = (
    "id", "revision", "key", "position", "time_of_day", "frequency", "weekdays", "every_n_days",
    "ramp_every_n_days", "ramp_days", "starts_on",
)
Schedule = tuple[int | None, list[DueStep]]


def schedule_on(patient: Patient, on: date, *, fields: tuple[str, ...] = ()) -> Schedule:
    """The id of the plan revision in effect on ``on`` and its steps due that day."""
    return schedules_on([(patient.pk, on)], fields=fields)[(patient.pk, on)]


def schedules_on(
    wanted: Iterable[tuple[int, date]], *, fields: tuple[str, ...] = ()
) -> dict[tuple[int, date], Schedule]:
    """For each (patient id, date): the revision in effect and its steps due that day, for the
    check-in write and reminder batches. Two narrow queries whatever the number of patients,
    without ``Meta.ordering`` joins (``careplans.selectors.steps_due_on`` loads whole revisions
    for pages). Items carry ``SCHEDULE_FIELDS`` and the extra ``fields`` (e.g. ``("name",)``).

    The revision is the same choice as ``careplans.selectors.revision_in_effect`` (the latest
    ``effective_from`` on or before the date, then the highest number); a test pins the two.
    """
    wanted = set(wanted)
    if not wanted:
        return {}
    in_force = _revisions_in_force(wanted)
    items: dict[int, list[PlanItem]] = defaultdict(list)
    revision_ids = {found[2] for found in in_force.values() if found}
    for item in PlanItem.objects.filter(revision_id__in=revision_ids).order_by().only(
        *SCHEDULE_FIELDS, *fields
    ):
        items[item.revision_id].append(item)
    schedules: dict[tuple[int, date], Schedule] = {}
    for key, found in in_force.items():
        if found is None:
            schedules[key] = (None, [])
        else:
            _, _, revision_id, plan_starts_on = found
            steps = due_steps(items[revision_id], key[1], plan_starts_on=plan_starts_on)
            schedules[key] = (revision_id, steps)
    return schedules


def _revisions_in_force(wanted: set[tuple[int, date]]) -> dict[tuple[int, date], tuple | None]:
    """(effective_from, number, revision id, plan start) in force per (patient id, date)."""
    history: dict[int, list[tuple]] = defaultdict(list)
    rows = (
        PlanRevision.objects.filter(plan__patient_id__in={patient for patient, _ in wanted},
                                    effective_from__lte=max(on for _, on in wanted))
        .order_by().values_list("plan__patient_id", "effective_from", "number", "pk",
                                "plan__starts_on")
    )
    for patient_id, *revision in rows:
        history[patient_id].append(tuple(revision))
    return {
        (patient_id, on): max(
            (revision for revision in history[patient_id] if revision[0] <= on), default=None
        )
        for patient_id, on in wanted
    }


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
