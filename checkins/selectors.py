"""Reads for check-ins; callers pass a patient they obtained through accounts' scoped selectors."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Protocol, TypeVar

from django.db import connection
from django.db.models import Avg, Count, OuterRef, Prefetch, QuerySet, Subquery

from accounts.models import Patient
from careplans.models import WINDOWED_FREQUENCIES, CarePlan, PlanItem, PlanRevision
from careplans.schedule import (
    AS_NEEDED,
    DueStep,
    as_needed_steps,
    dose_for,
    due_steps,
    slots_of,
    window_of,
)

from .models import AlliancePulse, CheckIn, StepLog


@dataclass(frozen=True)
class ScheduleItem:
    """A plan item as the schedule, the check-in write and reminders need it (``Schedulable``)."""

    pk: int
    revision_id: int
    key: uuid.UUID
    name: str
    position: int
    time_of_day: str
    frequency: str
    weekdays: str
    every_n_days: int | None
    ramp_every_n_days: int | None
    ramp_days: int | None
    starts_on: date
    every_n_weeks: int | None
    day_of_month: int | None
    window_days: int | None
    ends_on: date | None
    kind: str


Schedule = tuple[int | None, list[DueStep]]


@dataclass(frozen=True)
class DaySchedule:
    """What a patient's day asks: the revision in effect, the steps due (a windowed dose in
    its window included, ``DueStep.optional`` before its last day) and the as-needed steps
    the patient may log (never due)."""

    revision_id: int | None
    steps: list[DueStep]
    as_needed: list[DueStep]

    @property
    def offered(self) -> list[DueStep]:
        return [*self.steps, *self.as_needed]


def _sql(template: str) -> str:
    """Fill in table and column names from the models, so a renamed column breaks loudly."""
    def column(model: type, name: str) -> str:
        return f'"{model._meta.get_field(name).column}"'

    names = {f"{model.__name__}__{f.name}": column(model, f.name)
             for model in (CarePlan, PlanRevision, PlanItem) for f in model._meta.concrete_fields}
    tables = {f"{model.__name__}": f'"{model._meta.db_table}"'
              for model in (CarePlan, PlanRevision, PlanItem)}
    return template.format(**names, **tables, items=", ".join(
        column(PlanItem, "id" if name == "pk" else name.removesuffix("_id"))
        for name in ScheduleItem.__dataclass_fields__
    ))


# Plain SQL: these two reads run on every check-in POST, where building them through the ORM
# cost 0.7 ms of CPU against 0.15 ms (benchmarks/checkin_throughput.py).
REVISIONS_SQL = _sql(
    "SELECT c.{CarePlan__patient}, r.{PlanRevision__effective_from}, r.{PlanRevision__number}, "
    "r.{PlanRevision__id}, c.{CarePlan__starts_on} FROM {PlanRevision} r "
    "JOIN {CarePlan} c ON c.{CarePlan__id} = r.{PlanRevision__plan} "
    "WHERE c.{CarePlan__patient} IN ({{patients}}) AND r.{PlanRevision__effective_from} <= %s"
)
ITEMS_SQL = _sql("SELECT {items} FROM {PlanItem} WHERE {PlanItem__revision} IN ({{revisions}})")


def schedule_on(patient: Patient, on: date) -> Schedule:
    """The id of the plan revision in effect on ``on`` and its steps due that day."""
    return schedules_on([(patient.pk, on)])[(patient.pk, on)]


def day_schedule(patient: Patient, on: date) -> DaySchedule:
    return day_schedules([(patient.pk, on)])[(patient.pk, on)]


def schedules_on(wanted: Iterable[tuple[int, date]]) -> dict[tuple[int, date], Schedule]:
    """For each (patient id, date): the revision in effect and its steps due that day, for the
    Today page and reminder batches (``day_schedules`` without the as-needed steps)."""
    return {key: (day.revision_id, day.steps) for key, day in day_schedules(wanted).items()}


def day_schedules(wanted: Iterable[tuple[int, date]]) -> dict[tuple[int, date], DaySchedule]:
    """For each (patient id, date): the revision in effect, its steps due that day and its
    as-needed steps, for the check-in write, the Today page and reminder batches. Two narrow
    queries whatever the number of patients, and a third only when a revision holds a
    windowed dose (which check-ins logged it done: ``careplans.schedule.due_steps``'s
    ``done_on``). ``careplans.selectors.steps_due_on`` loads whole revisions, for plan pages.

    The revision is the same choice as ``careplans.selectors.revision_in_effect`` (the latest
    ``effective_from`` on or before the date, then the highest number); a test pins the two.
    """
    wanted = set(wanted)
    if not wanted:
        return {}
    in_force = _revisions_in_force(wanted)
    items = _items_of({found[2] for found in in_force.values() if found})
    done_on = _windowed_done_on(wanted, in_force, items)
    schedules: dict[tuple[int, date], DaySchedule] = {}
    for key, found in in_force.items():
        if found is None:
            schedules[key] = DaySchedule(None, [], [])
        else:
            _, _, revision_id, plan_starts_on = found
            steps = due_steps(items[revision_id], key[1], plan_starts_on=plan_starts_on,
                              done_on=done_on.get(key[0]))
            schedules[key] = DaySchedule(revision_id, steps, as_needed_steps(
                items[revision_id], key[1], plan_starts_on=plan_starts_on))
    return schedules


def _windowed_done_on(wanted: set[tuple[int, date]], in_force: dict, items: dict
                      ) -> dict[int, dict[tuple[uuid.UUID, str], list[date]]]:
    """Per patient, per (item key, slot) of a windowed item: the days of the check-ins that
    logged it done (counted logs), around the wanted dates. One query, only when needed."""
    windowed: dict[int, set[uuid.UUID]] = defaultdict(set)
    longest = 0
    for (patient_id, _), found in in_force.items():
        for item in items[found[2]] if found else ():
            if window_of(item):
                windowed[patient_id].add(item.key)
                longest = max(longest, window_of(item))
    if not windowed:
        return {}
    days = [on for patient_id, on in wanted if patient_id in windowed]
    reach = timedelta(days=longest)
    rows = StepLog.objects.filter(
        checkin__patient_id__in=list(windowed), item_key__in={k for keys in windowed.values()
                                                              for k in keys},
        checkin__local_date__range=(min(days) - reach, max(days) + reach),
        done=True, counted=True,
    ).order_by().values_list("checkin__patient_id", "item_key", "slot", "checkin__local_date")
    done_on: dict[int, dict[tuple[uuid.UUID, str], list[date]]] = defaultdict(
        lambda: defaultdict(list))
    for patient_id, key, slot, local_date in rows:
        done_on[patient_id][(key, slot)].append(local_date)
    return done_on


def _revisions_in_force(wanted: set[tuple[int, date]]) -> dict[tuple[int, date], tuple | None]:
    """(effective_from, number, revision id, plan start) in force per (patient id, date)."""
    patients = sorted({patient for patient, _ in wanted})
    sql = REVISIONS_SQL.replace("{patients}", ", ".join(["%s"] * len(patients)))
    history: dict[int, list[tuple]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*patients, max(on for _, on in wanted)])
        for patient_id, effective_from, number, revision_id, starts_on in cursor.fetchall():
            history[patient_id].append(
                (_date(effective_from), number, revision_id, _date(starts_on)))
    return {
        (patient_id, on): max(
            (revision for revision in history[patient_id] if revision[0] <= on), default=None
        )
        for patient_id, on in wanted
    }


def _items_of(revision_ids: set[int]) -> dict[int, list[ScheduleItem]]:
    items: dict[int, list[ScheduleItem]] = defaultdict(list)
    if not revision_ids:
        return items
    sql = ITEMS_SQL.replace("{revisions}", ", ".join(["%s"] * len(revision_ids)))
    with connection.cursor() as cursor:
        cursor.execute(sql, sorted(revision_ids))
        for row in cursor.fetchall():
            item = ScheduleItem(*row)
            items[item.revision_id].append(replace(
                item, key=item.key if isinstance(item.key, uuid.UUID) else uuid.UUID(item.key),
                starts_on=_date(item.starts_on),
                ends_on=_date(item.ends_on) if item.ends_on else None,
            ))
    return items


@dataclass(frozen=True)
class MissedDose:
    """A dose of a dated step (every few weeks, monthly, once) whose window closed without it
    being logged done: its last day passed with no done log in any check-in of its window."""

    patient_id: int
    item_key: uuid.UUID
    name: str
    kind: str
    slot: str
    scheduled_on: date
    last_day: date


def missed_doses(patient_ids: Iterable[int], start: date, end: date) -> list[MissedDose]:
    """The doses of these patients whose window's last day is from ``start`` to ``end``
    (patient-local dates) and that were never logged done, by patient, last day and name.

    The schedule's own rule (``careplans.schedule.dose_for``) over the revisions in effect
    on each of those days, set-based: one query for the patients with a dated step, the two
    of ``day_schedules``, and one for the done logs; no query per patient or day."""
    patient_ids = list(patient_ids)
    with_dated = set(
        PlanItem.objects.filter(revision__plan__patient_id__in=patient_ids,
                                frequency__in=WINDOWED_FREQUENCIES)
        .order_by().values_list("revision__plan__patient_id", flat=True).distinct())
    if not with_dated:
        return []
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    in_force = _revisions_in_force({(patient, day) for patient in with_dated for day in days})
    items = _items_of({found[2] for found in in_force.values() if found})
    candidates = set()
    for (patient_id, day), found in in_force.items():
        for item in items[found[2]] if found else ():
            if item.frequency not in WINDOWED_FREQUENCIES:
                continue
            dose = dose_for(item, day, plan_starts_on=found[3])
            if dose is not None and dose[1] == day:
                candidates.update(
                    MissedDose(patient_id, item.key, item.name, item.kind, slot, *dose)
                    for slot in slots_of(item))
    if not candidates:
        return []
    done = set(StepLog.objects.filter(
        checkin__patient_id__in={c.patient_id for c in candidates},
        item_key__in={c.item_key for c in candidates}, done=True, counted=True,
        checkin__local_date__range=(min(c.scheduled_on for c in candidates), end),
    ).order_by().values_list("checkin__patient_id", "item_key", "slot", "checkin__local_date"))
    done_on: dict[tuple, list[date]] = defaultdict(list)
    for patient_id, key, slot, local_date in done:
        done_on[(patient_id, key, slot)].append(local_date)
    return sorted(
        (c for c in candidates if not any(
            c.scheduled_on <= day <= c.last_day
            for day in done_on[(c.patient_id, c.item_key, c.slot)])),
        key=lambda c: (c.patient_id, c.last_day, c.name, c.slot))


def _date(value: date | str) -> date:
    """SQLite may hand back ISO strings where PostgreSQL gives dates."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def checkin_on(patient: Patient, local_date: date) -> CheckIn | None:
    """The day's check-in with its answers, their steps' names and the side effect's step."""
    return (
        CheckIn.objects.filter(patient=patient, local_date=local_date)
        .select_related("pulse", "side_effect_item")
        .prefetch_related(Prefetch("steps", StepLog.objects.select_related("item").order_by()))
        .first()
    )


class SavedAnswer(Protocol):
    item_key: uuid.UUID
    slot: str


Answer = TypeVar("Answer", bound=SavedAnswer)
StepKey = tuple[uuid.UUID, str]


def step_key(step: DueStep) -> StepKey:
    """A step across plan revisions: a revision gives every step a new item but keeps its key."""
    return step.item.key, step.slot


def match_answers(
    saved: Iterable[Answer], steps: Iterable[DueStep]
) -> tuple[dict[StepKey, Answer], list[Answer]]:
    """Saved answers of a day matched to the steps due now, by item key and slot: those that
    match, and those of steps a later revision took out of that day (kept as history)."""
    due = {step_key(step) for step in steps}
    matched: dict[StepKey, Answer] = {}
    no_longer_due: list[Answer] = []
    for answer in saved:
        key = (answer.item_key, answer.slot)
        if key in due:
            matched[key] = answer
        else:
            no_longer_due.append(answer)
    return matched, no_longer_due


@dataclass(frozen=True)
class SavedDay:
    """A saved check-in read against the steps due on its day now. After a same-day plan
    revision the steps are new items with the same keys: the answers follow the keys."""

    checkin: CheckIn
    answers: dict[tuple[int, str], StepLog]  # (item id now, slot) -> the saved answer
    new_steps: list[DueStep]  # due now but not answered: added since the check-in
    no_longer_due: list[StepLog]  # answered, then taken out of the day's plan
    side_effect_item_id: int | None  # the step the side effect was put down to, as it is now


def saved_day(checkin: CheckIn | None, steps: list[DueStep]) -> SavedDay | None:
    """``checkin`` (from :func:`checkin_on`) against ``steps``, the steps offered that day now
    (``DaySchedule.offered``: due, then as needed). Only a step that must be answered is
    "new": a windowed dose before its last day and an as-needed step may stay unlogged."""
    if checkin is None:
        return None
    matched, no_longer_due = match_answers(checkin.steps.all(), steps)
    item_now = {step.item.key: step.item.pk for step in steps}
    side_effect = checkin.side_effect_item
    return SavedDay(
        checkin=checkin,
        answers={(s.item.pk, s.slot): matched[k] for s in steps if (k := step_key(s)) in matched},
        new_steps=[step for step in steps if step_key(step) not in matched
                   and not step.optional and step.slot != AS_NEEDED],
        no_longer_due=no_longer_due,
        side_effect_item_id=(
            item_now.get(side_effect.key, side_effect.pk) if side_effect is not None else None
        ),
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


# The question an alliance answer answered when it was the full pulse (all four).
FULL_PULSE = "pulse"


@dataclass(frozen=True)
class AllianceAnswer:
    """One alliance answer on the one 0-10 scale: a weekly partnership answer as itself, a full
    pulse as the mean of its four answers (``total / 4``)."""

    local_date: date
    score: float  # 0-10
    question: str  # a key of ``PARTNERSHIP_QUESTIONS``, or ``FULL_PULSE``


def alliance_answers(patient: Patient, start: date, end: date) -> list[AllianceAnswer]:
    """The patient's weekly partnership answers and full pulses from ``start`` to ``end``
    (patient-local dates, both included), by date; a pulse first on a day holding both."""
    pulses = AlliancePulse.objects.filter(
        patient=patient, local_date__range=(start, end)
    ).order_by().values_list("local_date", "total")
    weekly = CheckIn.objects.filter(
        patient=patient, local_date__range=(start, end), partnership__isnull=False
    ).order_by().values_list("local_date", "partnership", "partnership_question")
    answers = [AllianceAnswer(day, total / 4, FULL_PULSE) for day, total in pulses]
    answers += [AllianceAnswer(day, float(value), question) for day, value, question in weekly]
    return sorted(answers, key=lambda a: (a.local_date, a.question != FULL_PULSE))


@dataclass(frozen=True)
class WellbeingMeans:
    """The mean of the itch (0-10) and satisfaction (1-5) answers over some days, and how many
    answers each mean is of (None: no answer in those days)."""

    itch: float | None
    itch_answers: int
    satisfaction: float | None
    satisfaction_answers: int


def wellbeing_means(patient: Patient, start: date, end: date) -> WellbeingMeans:
    """Itch and satisfaction means from ``start`` to ``end`` (patient-local dates, both
    included), in one query; a check-in without the answer does not count."""
    row = CheckIn.objects.filter(patient=patient, local_date__range=(start, end)).aggregate(
        itch_mean=Avg("itch"), itch_answers=Count("itch"),
        satisfaction_mean=Avg("satisfaction"), satisfaction_answers=Count("satisfaction"))
    def mean(value: object) -> float | None:  # PostgreSQL's AVG is a Decimal
        return None if value is None else float(value)

    return WellbeingMeans(itch=mean(row["itch_mean"]), itch_answers=row["itch_answers"],
                          satisfaction=mean(row["satisfaction_mean"]),
                          satisfaction_answers=row["satisfaction_answers"])
