"""The check-in history: for every demo patient with a plan and no check-in yet, up to ``days``
days of check-ins up to ``now`` (never before the plan starts), with their step logs, alliance
pulses and the attention requests severe side effects leave, loaded in bulk, 500 patients per
transaction. Step logs carry ``counted`` (False: an as-needed use) and ``taken_on`` (the day a
windowed dose or an as-needed use was done) as ``checkins.services.checkin_submit`` saves them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connections, router, transaction
from django.db.models import Exists, Max, OuterRef, Subquery

from accounts.models import Clinic, Patient
from careplans.models import CarePlan, ClinicVisit, PlanItem, PlanRevision
from checkins.models import AlliancePulse, AttentionRequest, CheckIn, SideEffect, StepLog
from demo.seed.bulk import _database, _load
from demo.seed.people import DemoPatient, Progress, _patient_number
from demo.seed.timeline import _DayLog, _PatientPlan, _RevisionSteps, _Timeline

HISTORY_DAYS = 84
HISTORY_CHUNK = 500  # patients per transaction
SQLITE_LOAD_CACHE_KIB = 64 * 1024  # SQLite's page cache while loading (its default is 2 MB)
EVENING_CHECKIN = time(20, 30)  # patient-local; after it, a cohort patient has logged today
CHECKIN_COLUMNS = (
    "patient_id", "local_date", "revision_id", "steps_due", "steps_done", "satisfaction", "itch",
    "side_effect", "side_effect_item_id", "side_effect_text", "note", "partnership_question",
    "partnership", "created_at", "updated_at",
)
STEP_COLUMNS = ("checkin_id", "item_id", "item_key", "slot", "done", "skip_reason")
# Dated doses and as-needed uses; the other logs take the columns' defaults (counted, no date).
DATED_STEP_COLUMNS = (*STEP_COLUMNS, "counted", "taken_on")
PULSE_COLUMNS = ("checkin_id", "patient_id", "local_date", *AlliancePulse.QUESTIONS, "total")
ATTENTION_COLUMNS = ("patient_id", "checkin_id", "kind", "created_at", "processed_at")


class _DbValues:
    """Dates and timestamps as the database takes them, each converted once per run."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.connection = connections[router.db_for_write(CheckIn)]
        self.date_field = CheckIn._meta.get_field("local_date")
        self.time_field = CheckIn._meta.get_field("created_at")
        self.dates: dict[date, object] = {}
        self.times: dict[tuple[date, str], object] = {}

    def day(self, day: date) -> object:
        if day not in self.dates:
            self.dates[day] = self.date_field.get_db_prep_save(day, self.connection)
        return self.dates[day]

    def saved_at(self, day: date, zone: str) -> object:
        """When a check-in was saved: that evening, patient-local, never after now."""
        if (day, zone) not in self.times:
            moment = min(datetime.combine(day, EVENING_CHECKIN, tzinfo=ZoneInfo(zone)), self.now)
            self.times[day, zone] = self.time_field.get_db_prep_save(moment, self.connection)
        return self.times[day, zone]


@dataclass(frozen=True)
class _PatientLogs:
    patient: DemoPatient
    logs: list[_DayLog]


def _patients_without_history(clinic: Clinic) -> list[DemoPatient]:
    """Demo patients with a plan and not a single check-in (seeded or their own)."""
    has_checkins = Exists(CheckIn.objects.filter(patient=OuterRef("pk")))
    rows = (
        Patient.objects.filter(clinic=clinic, user__email__endswith="@demo.test",
                               care_plan__isnull=False)
        .exclude(has_checkins)
        .order_by("pk").values_list("pk", "user__email", "timezone", "dermatologist_id")
    )
    return [DemoPatient(pk, _patient_number(pk, email), zone, derm_id)
            for pk, email, zone, derm_id in rows]


def _revision_steps(plans: dict[int, tuple[int, date]]) -> dict[int, list[_RevisionSteps]]:
    """Plan id -> its revisions, by effective date then number, each with its items."""
    starts_on = dict(plans.values())
    revisions = list(PlanRevision.objects.filter(plan_id__in=starts_on)
                     .order_by("effective_from", "number")
                     .values_list("pk", "plan_id", "effective_from"))
    items: dict[int, list[PlanItem]] = {}
    for item in PlanItem.objects.filter(revision_id__in=[pk for pk, _, _ in revisions]):
        items.setdefault(item.revision_id, []).append(item)
    connection = connections[router.db_for_write(StepLog)]
    key_field = PlanItem._meta.get_field("key")
    keys = {item.pk: key_field.get_db_prep_save(item.key, connection)
            for revision_items in items.values() for item in revision_items}
    by_plan: dict[int, list[_RevisionSteps]] = {}
    for pk, plan_id, effective_from in revisions:
        by_plan.setdefault(plan_id, []).append(
            _RevisionSteps(pk, effective_from, items.get(pk, []), starts_on[plan_id], keys)
        )
    return by_plan


def _patient_plans(patients: list[DemoPatient], now: datetime) -> list[_PatientPlan]:
    last_visit = (ClinicVisit.objects.filter(patient_id=OuterRef("patient_id")).order_by()
                  .values("patient_id").annotate(last=Max("happened_on")).values("last"))
    rows = (CarePlan.objects.filter(patient_id__in=[p.pk for p in patients])
            .annotate(last_visit=Subquery(last_visit))
            .values_list("patient_id", "pk", "starts_on", "last_visit"))
    plans, visits = {}, {}
    for patient_id, plan_id, starts_on, visit_on in rows:
        plans[patient_id], visits[patient_id] = (plan_id, starts_on), visit_on
    revisions = _revision_steps(plans)
    return [
        _PatientPlan(patient, plans[patient.pk][1], tuple(revisions.get(plans[patient.pk][0], [])),
                     today=now.astimezone(ZoneInfo(patient.timezone)).date(),
                     visit_on=visits.get(patient.pk))
        for patient in patients if patient.pk in plans
    ]


def _history_days(plan: _PatientPlan, days: int, now: datetime) -> list[date]:
    """The last ``days`` days up to the patient's yesterday, from the plan start at the earliest.

    Cohort patients have logged today too once it is evening where they live; patient@demo.test
    never has, so the demo can show today's check-in.
    """
    local_now = now.astimezone(ZoneInfo(plan.patient.timezone))
    logged_today = plan.patient.number != 0 and local_now.time() >= EVENING_CHECKIN
    last = local_now.date() - timedelta(days=0 if logged_today else 1)
    first = max(plan.starts_on, last - timedelta(days=days - 1))
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _checkin_rows(histories: list[_PatientLogs], values: _DbValues) -> list[tuple]:
    return [
        (history.patient.pk, values.day(log.day), log.revision_id, len(log.answers),
         log.steps_done, log.satisfaction, log.itch, log.side_effect, log.side_effect_item_id,
         log.side_effect_text, log.note, log.partnership_question, log.partnership, saved, saved)
        for history in histories for log in history.logs
        for saved in [values.saved_at(log.day, history.patient.timezone)]
    ]


def _checkin_ids(histories: list[_PatientLogs]) -> dict[tuple[int, date], int]:
    rows = CheckIn.objects.filter(patient_id__in=[h.patient.pk for h in histories])
    return {(patient_id, day): pk
            for patient_id, day, pk in rows.values_list("patient_id", "local_date", "pk")}


def _step_rows(histories: list[_PatientLogs], ids: dict[tuple[int, date], int]) -> list[tuple]:
    """The counted logs of daily-routine steps (``STEP_COLUMNS``)."""
    return [
        (ids[history.patient.pk, log.day], step.item_id, step.key, step.slot, done, reason)
        for history in histories for log in history.logs for step, done, reason in log.answers
        if step.last_day is None
    ]


def _dated_step_rows(
    histories: list[_PatientLogs], ids: dict[tuple[int, date], int], values: _DbValues
) -> list[tuple]:
    """Windowed doses (counted; done: taken that day) and as-needed uses (not counted), in
    ``DATED_STEP_COLUMNS``."""
    rows = [
        (ids[history.patient.pk, log.day], step.item_id, step.key, step.slot, done, reason,
         True, values.day(log.day) if done else None)
        for history in histories for log in history.logs for step, done, reason in log.answers
        if step.last_day is not None
    ]
    rows += [
        (ids[history.patient.pk, log.day], step.item_id, step.key, step.slot, True, "", False,
         values.day(log.day))
        for history in histories for log in history.logs for step in log.uses
    ]
    return rows


def _pulse_rows(
    histories: list[_PatientLogs], ids: dict[tuple[int, date], int], values: _DbValues
) -> list[tuple]:
    return [
        (ids[history.patient.pk, log.day], history.patient.pk, values.day(log.day), *log.pulse,
         sum(log.pulse))
        for history in histories for log in history.logs if log.pulse is not None
    ]


def _attention_rows(
    histories: list[_PatientLogs], ids: dict[tuple[int, date], int], values: _DbValues
) -> list[tuple]:
    """A pending request (``processed_at`` NULL) per severe side effect, as a check-in leaves
    one: the periodic sweep hands it on, so nothing is lost."""
    return [
        (history.patient.pk, ids[history.patient.pk, log.day],
         AttentionRequest.Kind.SEVERE_SIDE_EFFECT,
         values.saved_at(log.day, history.patient.timezone), None)
        for history in histories for log in history.logs
        if log.side_effect == SideEffect.SEVERE
    ]


def _seed_history_chunk(
    patients: list[DemoPatient], days: int, pulse_interval: int, values: _DbValues
) -> int:
    histories = [
        _PatientLogs(plan.patient, _Timeline(
            plan, _history_days(plan, days, values.now), pulse_interval
        ).logs())
        for plan in _patient_plans(patients, values.now)
    ]
    _load(CheckIn, CHECKIN_COLUMNS, _checkin_rows(histories, values))
    ids = _checkin_ids(histories)
    _load(StepLog, STEP_COLUMNS, _step_rows(histories, ids))
    _load(StepLog, DATED_STEP_COLUMNS, _dated_step_rows(histories, ids, values))
    _load(AlliancePulse, PULSE_COLUMNS, _pulse_rows(histories, ids, values))
    _load(AttentionRequest, ATTENTION_COLUMNS, _attention_rows(histories, ids, values))
    return sum(len(history.logs) for history in histories)


@dataclass(frozen=True)
class HistorySummary:
    patients: int  # patients who got a history
    checkins: int


def seed_history(
    *, clinic: Clinic, now: datetime, days: int = HISTORY_DAYS, progress: Progress | None = None
) -> HistorySummary:
    """Give every demo patient with a plan and no check-in yet up to ``days`` days of daily
    check-ins up to ``now`` (never before the plan starts), in bulk, 500 patients per
    transaction."""
    patients = _patients_without_history(clinic) if days > 0 else []
    values = _DbValues(now)
    done = checkins = 0
    with _cyclic_gc_paused(), _sqlite_page_cache(SQLITE_LOAD_CACHE_KIB):
        for start in range(0, len(patients), HISTORY_CHUNK):
            chunk = patients[start:start + HISTORY_CHUNK]
            with transaction.atomic():
                _commit_without_waiting_for_disk()
                checkins += _seed_history_chunk(chunk, days, clinic.pulse_interval_days, values)
            done += len(chunk)
            if progress:
                progress(done, len(patients))
    return HistorySummary(patients=done, checkins=checkins)


def _commit_without_waiting_for_disk() -> None:
    """PostgreSQL: this transaction's commit does not wait for its WAL to be flushed (a third
    of the load time for a large cohort). A crash could lose the last chunks, never part of
    one, and re-running the seed adds them again."""
    database = _database(CheckIn)
    if database.vendor == "postgresql":
        with database.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """The history builds millions of small objects without cycles: collecting cycles meanwhile
    only costs time (a quarter of it). Reference counting still frees each chunk."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def _sqlite_page_cache(kib: int) -> Iterator[None]:
    """A larger SQLite page cache while loading: every step log updates indexes all over."""
    database = _database(CheckIn)
    if database.vendor != "sqlite":
        yield
        return
    with database.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = {-kib:d}")
    try:
        yield
    finally:
        with database.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous):d}")
