"""Adherence, defined once. Charts, reminders and flags all read these numbers.

- Day adherence = steps done ÷ steps due that day.
- Window adherence = total done ÷ total due over the days in the window that have a check-in.
- Days without a check-in are "not logged" and counted separately, never as 0 % or 100 %.
- What a day's steps due are (``careplans/schedule.py``): the steps due that day; a windowed
  dose (an injection every few weeks, a monthly task with a window) counts once, on the day
  it is logged done (whichever day of its window) or, never done, as a missed step of its
  window's last day; an as-needed use is logged but never counted (``StepLog.counted``).
  A dose whose window closes on a day without a check-in is not a 0 % day (the day is not
  logged); staff see it as a "Missed injection" finding (``flags``).
Each check-in stores ``steps_due`` and ``steps_done``, so a window over many patients is one
SQL aggregate (``window_adherence_by_patient``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import Patient

from .models import CheckIn, StepLog


@dataclass(frozen=True)
class WindowAdherence:
    start: date
    end: date  # inclusive
    steps_done: int
    steps_due: int
    logged_days: int
    days: int  # days of the window the plan covered

    @property
    def rate(self) -> float | None:
        return self.steps_done / self.steps_due if self.steps_due else None

    @property
    def not_logged_days(self) -> int:
        return max(self.days - self.logged_days, 0)


def day_adherence(checkin: CheckIn) -> float | None:
    return checkin.adherence


def _covered_days(start: date, end: date, plan_start: date | None) -> int:
    first = max(start, plan_start) if plan_start else start
    return max((end - first).days + 1, 0)


def window_adherence_by_patient(
    patient_ids: Iterable[int], start: date, end: date
) -> dict[int, WindowAdherence]:
    """One aggregate query for many patients over the same local-date window."""
    patient_ids = list(patient_ids)
    rows = (
        CheckIn.objects.filter(patient_id__in=patient_ids, local_date__range=(start, end))
        .values("patient_id")
        .annotate(done=Sum("steps_done"), due=Sum("steps_due"), logged=Count("id"))
    )
    totals = {row["patient_id"]: row for row in rows}
    plan_starts = dict(
        Patient.objects.filter(pk__in=patient_ids, care_plan__isnull=False)
        .values_list("pk", "care_plan__starts_on")
    )
    return {
        pk: WindowAdherence(
            start=start, end=end,
            steps_done=totals.get(pk, {}).get("done") or 0,
            steps_due=totals.get(pk, {}).get("due") or 0,
            logged_days=totals.get(pk, {}).get("logged") or 0,
            days=_covered_days(start, end, plan_starts.get(pk)),
        )
        for pk in patient_ids
    }


def window_adherence(patient: Patient, start: date, end: date) -> WindowAdherence:
    return window_adherence_by_patient([patient.pk], start, end)[patient.pk]


def last_days(patient: Patient, days: int, *, until: date) -> WindowAdherence:
    """The window adherence of the ``days`` days ending on ``until`` (a patient-local date)."""
    return window_adherence(patient, until - timedelta(days=days - 1), until)


def rolling_adherence(
    patient: Patient, start: date, end: date, *, days: int = 7
) -> list[WindowAdherence]:
    """For each date from ``start`` to ``end``: the window adherence of that day and the
    ``days - 1`` before it. Same definition as ``window_adherence``, in one query."""
    first_needed = start - timedelta(days=days - 1)
    by_day = {
        local_date: (done, due)
        for local_date, done, due in CheckIn.objects.filter(
            patient=patient, local_date__range=(first_needed, end)
        ).values_list("local_date", "steps_done", "steps_due")
    }
    plan_start = Patient.objects.filter(pk=patient.pk).values_list(
        "care_plan__starts_on", flat=True
    ).first()
    result = []
    for offset in range((end - start).days + 1):
        last = start + timedelta(days=offset)
        window_start = last - timedelta(days=days - 1)
        logged = [by_day[d] for d in (window_start + timedelta(days=n) for n in range(days))
                  if d in by_day]
        result.append(WindowAdherence(
            start=window_start, end=last,
            steps_done=sum(done for done, _ in logged), steps_due=sum(due for _, due in logged),
            logged_days=len(logged), days=_covered_days(window_start, last, plan_start),
        ))
    return result


@dataclass(frozen=True)
class ItemAdherence:
    item_key: object
    name: str
    done: int
    due: int
    top_skip_reason: str | None  # a SkipReason value

    @property
    def rate(self) -> float | None:
        return self.done / self.due if self.due else None

    @property
    def skipped(self) -> int:
        return self.due - self.done


def item_adherence(patient: Patient, start: date, end: date) -> list[ItemAdherence]:
    """Per step (across plan revisions), most-skipped first, with the most common skip reason."""
    logs: QuerySet[StepLog] = StepLog.objects.filter(
        checkin__patient=patient, checkin__local_date__range=(start, end), counted=True
    )
    totals = logs.values("item_key").annotate(
        due=Count("id"), done=Count("id", filter=Q(done=True))
    )
    reasons: dict[object, Counter[str]] = {}
    for row in logs.filter(done=False).values("item_key", "skip_reason").annotate(n=Count("id")):
        reasons.setdefault(row["item_key"], Counter())[row["skip_reason"]] = row["n"]
    names = dict(
        logs.order_by("checkin__local_date").values_list("item_key", "item__name")
    )  # later dates overwrite: the latest name of each step
    result = [
        ItemAdherence(
            item_key=row["item_key"], name=names.get(row["item_key"], ""), done=row["done"],
            due=row["due"],
            top_skip_reason=reasons[row["item_key"]].most_common(1)[0][0]
            if row["item_key"] in reasons else None,
        )
        for row in totals
    ]
    return sorted(result, key=lambda item: (-(item.due - item.done), item.name))
