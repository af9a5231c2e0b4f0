"""The nightly sweep: every rule over every active patient with a plan, set-based.

Per clinic (its ``FlagSettings``), patients are grouped by their local "yesterday" (time zones
differ: at one instant a clinic's patients live on up to three dates), and each group is taken
in chunks of ``chunk_size`` patient ids (memory stays bounded). A chunk costs four queries
however many patients it holds, on SQLite and PostgreSQL alike (portable ORM queries, one path):

1. the chunk's patients (id, plan start, time zone), keyset-paginated;
2. their check-ins of the last ``rules.LOOKBACK_DAYS`` days, one row per check-in (steps done
   and due, rating, partnership answer or pulse total, when it was saved);
3. when each (patient, rule)'s last flag was resolved (the rule's evidence restarts after it);
4. when the check-ins behind the findings were saved (one query per 5,000 of them);
5. "Missed injection" (``missed_dose_findings``): one query for the chunk's patients with a
   dated step (every few weeks, monthly, once), and only when there are some, three more
   (their revisions and items in effect, their done logs) and the check-ins of the windows.

The rows become per-patient day arrays (``rules.Histories``) and ``flags.rules`` decides, with
NumPy over the whole chunk at once; then ``flags_apply`` (its own fixed number of statements).
Plus one query per clinic for its settings and one for the time zones of its patients.

Two paths share this code. ``sweep`` runs every chunk in this process (``manage.py
sweep_flags``, tests). The hourly task (``flags.tasks``) plans the chunks as ``ChunkRange``s
(``sweep_plan``: ids only, one light query per chunk) and publishes one task per range; each
task reads its range back (``patient_chunks(..., within=)``: the same patients) and runs
``sweep_range``, so the worker processes share the night's chunks.
"""

from __future__ import annotations

import gc
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.db import connection
from django.db.models import DateField, F, Func, IntegerField, Max, QuerySet, Value

from accounts.models import Clinic, Patient
from accounts.timezones import known_zone_names, zone_or_utc
from checkins.models import CheckIn
from checkins.selectors import missed_doses
from core.periodic import each_isolated

from . import rules
from .findings import Finding
from .models import Flag, FlagSettings, State
from .services import flags_apply

logger = logging.getLogger(__name__)

TASK = "flags sweep"


@dataclass(frozen=True)
class Chunk:
    """Patients of one clinic sharing one local yesterday (``as_of``), by ascending id."""

    clinic_id: int
    as_of: date
    zones: tuple[str, ...]  # the time zones whose yesterday is ``as_of``
    plan_starts: dict[int, date]  # patient id -> CarePlan.starts_on
    patient_zones: dict[int, str] = field(default_factory=dict)  # patient id -> time zone

    @property
    def patient_ids(self) -> list[int]:
        return list(self.plan_starts)

    def members(self) -> QuerySet[Patient]:
        """The chunk as a subquery (the chunk query's filter over its id range): the queries
        below then carry no list of thousands of ids."""
        return _evaluated(self.clinic_id).filter(
            timezone__in=self.zones, pk__gte=min(self.plan_starts),
            pk__lte=max(self.plan_starts)).values("pk")


@dataclass
class SweepResult:
    patients: int = 0
    findings: int = 0
    opened: int = 0
    updated: int = 0
    chunks: int = 0
    skipped_clinics: int = 0  # their sweep failed (logged); the others were swept
    per_rule: Counter = field(default_factory=Counter)


def sweep(*, now: datetime, clinic_ids: list[int] | None = None,
          chunk_size: int = 2000) -> SweepResult:
    """Evaluate every rule for the active patients with a plan of these clinics (all clinics
    when None) as of ``now`` and apply the findings. Idempotent: a second run changes nothing.
    A clinic whose sweep fails is logged (its id, the error's class) and the others are swept."""
    result = SweepResult()
    clinics = clinic_ids if clinic_ids is not None else clinics_with_patients()

    def sweep_clinic(clinic_id: int) -> None:
        _sweep_chunks(patient_chunks(clinic_id, now=now, chunk_size=chunk_size),
                      settings=FlagSettings.for_clinic(clinic_id), now=now, result=result)

    swept = each_isolated(clinics, sweep_clinic, task=TASK, what=lambda pk: f"clinic {pk}")
    result.skipped_clinics = len(clinics) - len(swept)
    return result


def evaluate(*, now: datetime, clinic_ids: list[int] | None = None,
             chunk_size: int = 2000) -> list[Finding]:
    """The sweep's findings without applying them (tests and the benchmark compare them)."""
    findings: list[Finding] = []
    for clinic_id in clinic_ids if clinic_ids is not None else clinics_with_patients():
        settings = FlagSettings.for_clinic(clinic_id)
        for chunk in patient_chunks(clinic_id, now=now, chunk_size=chunk_size):
            findings += evaluate_chunk(chunk, settings=settings)
    return rules.order(findings)


# --- Which clinics, which patients ---------------------------------------------------------


def sweep_hour_now(now: datetime, zone: ZoneInfo, hour: int) -> bool:
    """Whether an hourly run at ``now`` is the clinic's sweep run: the local hour is
    ``hour``, or that hour did not exist today (a daylight-saving gap) and this is the first
    run after it. A repeated hour (the clocks going back) runs twice; the sweep is idempotent."""
    local, hour_ago = now.astimezone(zone), (now - timedelta(hours=1)).astimezone(zone)
    if local.hour == hour:
        return True
    return hour_ago.date() == local.date() and hour_ago.hour < hour < local.hour


def clinics_due(now: datetime) -> list[int]:
    """Clinics whose nightly sweep is due in the hour of ``now`` (FlagSettings.sweep_hour in the
    clinic's timezone; the default hour when the clinic has no settings row).

    A clinic whose stored zone is not a zone (saved before the field was validated) is still
    swept, its hour read in UTC, and logged: its patients' flags must not stop (their windows
    follow the patients' own zones, not the clinic's). Any other failure skips that clinic."""
    default_hour = FlagSettings._meta.get_field("sweep_hour").default
    rows = Clinic.objects.order_by("pk").values_list("pk", "timezone",
                                                     "flag_settings__sweep_hour")

    def is_due(row: tuple[int, str, int | None]) -> bool:
        pk, zone, hour = row
        if zone not in known_zone_names():
            logger.warning("%s: clinic %s has no valid time zone; its sweep hour is read in UTC",
                           TASK, pk)
        return sweep_hour_now(now, zone_or_utc(zone), default_hour if hour is None else hour)

    due = each_isolated(rows, lambda row: (row[0], is_due(row)), task=TASK,
                        what=lambda row: f"clinic {row[0]}")
    return [pk for pk, is_due_now in due if is_due_now]


def clinics_with_patients() -> list[int]:
    return list(
        Patient.objects.filter(is_active=True, care_plan__isnull=False)
        .order_by("clinic_id").values_list("clinic_id", flat=True).distinct()
    )


def _evaluated(clinic_id: int) -> QuerySet[Patient]:
    """Who the rules look at: the clinic's active patients with a care plan."""
    return Patient.objects.filter(clinic_id=clinic_id, is_active=True, care_plan__isnull=False)


@dataclass(frozen=True)
class ChunkRange:
    """A chunk by reference, what a chunk task carries: the clinic, the local yesterday and
    the first and last patient id (ids and a date only: no health data in a broker message).
    ``patient_chunks(..., within=)`` reads the same patients back."""

    clinic_id: int
    as_of: date
    first_id: int
    last_id: int
    patients: int = 0  # at planning time; the task re-reads who is in the range


def _zone_groups(clinic_id: int, *, now: datetime,
                 within: ChunkRange | None = None) -> list[tuple[date, list[str]]]:
    """The zones of the clinic's evaluated patients grouped by their local yesterday at
    ``now``, by date (only ``within``'s ids and date when given)."""
    evaluated = _evaluated(clinic_id)
    if within is not None:
        evaluated = evaluated.filter(pk__range=(within.first_id, within.last_id))
    zones = evaluated.order_by("timezone").values_list("timezone", flat=True).distinct()
    groups: dict[date, list[str]] = defaultdict(list)
    # A patient zone that is not a zone (a row written around validation) leaves out only
    # the patients in it, logged; the clinic's other patients are swept.
    yesterdays = each_isolated(
        zones, lambda zone: (rules.local_yesterday(now, ZoneInfo(zone)), zone), task=TASK,
        what=lambda _zone: f"clinic {clinic_id}'s patients in one time zone")
    for as_of, zone in yesterdays:
        if within is None or as_of == within.as_of:
            groups[as_of].append(zone)
    return sorted(groups.items())


def _pages(clinic_id: int, zones: list[str], chunk_size: int, *columns: str,
           within: ChunkRange | None = None) -> Iterator[list[tuple]]:
    """``columns`` (the first is ``pk``) of the patients in ``zones``, ``chunk_size`` at a time
    by id (keyset pagination)."""
    members = _evaluated(clinic_id).filter(timezone__in=zones)
    if within is not None:
        members = members.filter(pk__lte=within.last_id)
    last_pk = within.first_id - 1 if within is not None else 0
    while True:
        rows = list(members.filter(pk__gt=last_pk).order_by("pk")
                    .values_list(*columns)[:chunk_size])
        if rows:
            yield rows
        if len(rows) < chunk_size:
            break
        last_pk = rows[-1][0]


def patient_chunks(clinic_id: int, *, now: datetime, chunk_size: int,
                   within: ChunkRange | None = None) -> Iterator[Chunk]:
    """The clinic's evaluated patients grouped by their local yesterday at ``now``, each group
    ``chunk_size`` patients at a time by id (keyset pagination); only those ``within`` a
    chunk range when given."""
    for as_of, in_group in _zone_groups(clinic_id, now=now, within=within):
        for rows in _pages(clinic_id, in_group, chunk_size, "pk", "care_plan__starts_on",
                           "timezone", within=within):
            yield Chunk(clinic_id, as_of, tuple(in_group),
                        {pk: starts for pk, starts, _ in rows},
                        {pk: zone for pk, _, zone in rows})


def chunk_ranges(clinic_id: int, *, now: datetime, chunk_size: int) -> Iterator[ChunkRange]:
    """The clinic's chunks by reference: the same groups and pages as ``patient_chunks``, ids
    only (one light query per chunk), for the sweep task to publish."""
    for as_of, in_group in _zone_groups(clinic_id, now=now):
        for rows in _pages(clinic_id, in_group, chunk_size, "pk"):
            yield ChunkRange(clinic_id, as_of, rows[0][0], rows[-1][0], len(rows))


def sweep_plan(*, now: datetime, clinic_ids: list[int] | None = None,
               chunk_size: int = 2000) -> tuple[list[ChunkRange], int]:
    """Every chunk of these clinics (all when None) as ranges, and how many clinics failed to
    plan (logged, as in ``sweep``)."""
    clinics = clinic_ids if clinic_ids is not None else clinics_with_patients()
    planned = each_isolated(
        clinics, lambda pk: list(chunk_ranges(pk, now=now, chunk_size=chunk_size)),
        task=TASK, what=lambda pk: f"clinic {pk}")
    return [part for parts in planned for part in parts], len(clinics) - len(planned)


def sweep_range(part: ChunkRange, *, now: datetime) -> SweepResult:
    """Evaluate and apply one chunk range (a chunk task's work). Idempotent like ``sweep``:
    a repeated or retried range opens nothing new (``flags_apply``). The range is re-read, so
    a patient who joined it since planning is evaluated too and one who left is not."""
    result = SweepResult()
    size = part.last_id - part.first_id + 1  # one page holds the whole range
    _sweep_chunks(patient_chunks(part.clinic_id, now=now, chunk_size=size, within=part),
                  settings=FlagSettings.for_clinic(part.clinic_id), now=now, result=result)
    return result


def _sweep_chunks(chunks: Iterable[Chunk], *, settings: FlagSettings, now: datetime,
                  result: SweepResult) -> None:
    """Evaluate and apply each chunk, adding its counts to ``result`` (both paths: the
    in-process sweep and a chunk task)."""
    for chunk in chunks:
        findings = evaluate_chunk(chunk, settings=settings)
        applied = flags_apply(findings=findings, patient_ids=chunk.patient_ids, now=now)
        result.patients += len(chunk.plan_starts)
        result.chunks += 1
        result.findings += len(findings)
        result.opened += applied.opened
        result.updated += applied.updated
        result.per_rule.update(f.rule for f in findings)


# --- One chunk -----------------------------------------------------------------------------


def evaluate_chunk(chunk: Chunk, *, settings: FlagSettings) -> list[Finding]:
    """All findings about the chunk's patients, in a fixed number of queries."""
    with _collector_paused():
        histories = histories_of(chunk)
        verdicts = rules.evaluate(histories, settings)
        ids = rules.checkins_behind(histories, verdicts)
        histories.saved = _saved_at(ids)
        return rules.order(rules.findings_of(histories, verdicts, settings)
                           + missed_dose_findings(chunk))


def missed_dose_findings(chunk: Chunk) -> list[Finding]:
    """A "Missed injection" finding per patient of the chunk with a dose whose window closed
    in the monitored days (up to ``as_of``) without being logged done. Set-based: the
    queries of ``checkins.selectors.missed_doses`` and one for the check-ins of those
    windows, whatever the number of patients."""
    start = chunk.as_of - timedelta(days=rules.MONITOR_DAYS - 1)
    doses = missed_doses(chunk.patient_ids, start, chunk.as_of)
    if not doses:
        return []
    by_patient: dict[int, list] = defaultdict(list)
    for dose in doses:
        by_patient[dose.patient_id].append(dose)
    checkins = CheckIn.objects.filter(
        patient_id__in=list(by_patient),
        local_date__range=(min(d.scheduled_on for d in doses), chunk.as_of),
    ).order_by().values_list("pk", "patient_id", "local_date")
    ids: dict[int, list[int]] = defaultdict(list)
    for pk, patient_id, local_date in checkins:
        if any(d.scheduled_on <= local_date <= d.last_day for d in by_patient[patient_id]):
            ids[patient_id].append(pk)
    findings = []
    for patient_id, missed in by_patient.items():
        zone = zone_or_utc(chunk.patient_zones.get(patient_id, "UTC"))
        closed = max(d.last_day for d in missed) + timedelta(days=1)
        findings.append(rules.missed_dose_finding(
            patient_id, missed, chunk.as_of, ids[patient_id],
            datetime.combine(closed, datetime.min.time(), zone)))
    return findings


def _saved_at(ids: list[int]) -> dict[int, datetime]:
    """When each of these check-ins was saved (one query per 5,000 ids: only the check-ins
    behind the findings, a few per flagged patient)."""
    saved: dict[int, datetime] = {}
    for start in range(0, len(ids), 5000):
        saved.update(CheckIn.objects.filter(pk__in=ids[start:start + 5000]).order_by(
        ).values_list("pk", "updated_at"))
    return saved


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one chunk. A chunk allocates tens of thousands
    of short-lived rows and no reference cycles to speak of, so the collections they would
    trigger find nothing and cost time. Memory stays bounded by the chunk; the collector
    resumes after it."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


class DaysBetween(Func):
    """Whole days from ``start`` to ``end`` (``end - start``) of two DATE expressions: the
    check-in's column in the chunk's arrays, computed by the database (no date objects made)."""

    output_field = IntegerField()
    arity = 2  # (end, start)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        return self.as_sql(compiler, connection, template="(%(expressions)s::date)",
                           arg_joiner="::date - ", **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        # julianday() of a date is an exact .5 value, so the difference is a whole number.
        return self.as_sql(compiler, connection,
                           template="CAST(julianday(%(expressions)s) AS INTEGER)",
                           arg_joiner=") - julianday(", **extra)


# One row per check-in: plain integers and text, so the rows go straight into arrays.
CHECKIN_COLUMNS = ("patient_id", "col", "id", "steps_done", "steps_due", "satisfaction",
                   "partnership", "partnership_question", "pulse__total")


def histories_of(chunk: Chunk) -> rules.Histories:
    """The chunk's last ``LOOKBACK_DAYS`` days as arrays (rules.Histories): one query for the
    check-ins (read through a plain cursor: 600,000 rows for 10,000 patients), one for the
    resolved flags."""
    ids = np.array(chunk.patient_ids)
    start = rules.lookback_start(chunk.as_of)
    shape = (len(ids), rules.LOOKBACK_DAYS)
    h = rules.Histories(
        as_of=chunk.as_of, patient_ids=chunk.patient_ids,
        plan_starts=[chunk.plan_starts[pk] for pk in chunk.patient_ids],
        logged=np.zeros(shape, dtype=bool), done=np.zeros(shape, dtype=np.int32),
        due=np.zeros(shape, dtype=np.int32), adherence=np.full(shape, np.nan),
        ratings=np.full(shape, np.nan), partnership=np.full(shape, np.nan),
        checkin_ids=np.zeros(shape, dtype=np.int64),
    )
    members = chunk.members()
    # The id range again, on the check-ins' own column: the planner then reads the chunk's
    # patients through the (patient, local_date) index instead of every patient's last 70
    # days (at 100,000 patients, 0.7 s a chunk).
    query = CheckIn.objects.filter(
        patient_id__gte=min(chunk.plan_starts), patient_id__lte=max(chunk.plan_starts),
        patient__in=members, local_date__range=(start, chunk.as_of),
    ).annotate(col=DaysBetween(F("local_date"), Value(start, output_field=DateField()))
               ).values_list(*CHECKIN_COLUMNS).order_by()
    sql, params = query.query.get_compiler(using=query.db).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if rows:
        _fill(h, ids, rows)
    h.restart = _restarts(chunk, members, h, {pk: row for row, pk in enumerate(ids.tolist())})
    return h


def _nullable(values: tuple) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _fill(h: rules.Histories, ids: np.ndarray, rows: list[tuple]) -> None:
    pk, col, checkin, done, due, rating, answer, question, pulse = zip(*rows, strict=True)
    row = np.searchsorted(ids, np.array(pk))  # the chunk's ids are ascending
    col = np.array(col)
    h.logged[row, col] = True
    h.done[row, col], h.due[row, col] = done, due
    due_array = np.array(due, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        h.adherence[row, col] = np.where(due_array > 0, np.array(done) / due_array, np.nan)
    h.ratings[row, col] = _nullable(rating)
    pulses, answers = _nullable(pulse), _nullable(answer)
    h.partnership[row, col] = np.where(np.isnan(pulses), answers, pulses / 4)
    h.checkin_ids[row, col] = checkin
    for index in np.flatnonzero(np.isnan(pulses) & ~np.isnan(answers)):
        h.questions[(int(row[index]), int(col[index]))] = question[index]


def _restarts(chunk: Chunk, members: QuerySet[Patient], h: rules.Histories,
              row_of: dict[int, int]) -> dict[str, np.ndarray]:
    """Per rule: the column of the patient-local day its last flag was resolved (-1: none in
    the days read)."""
    restart: dict[str, np.ndarray] = {}
    resolved = Flag.objects.filter(
        patient__in=members, state=State.RESOLVED, resolved_at__isnull=False,
    ).values("patient_id", "rule").annotate(last=Max("resolved_at")).order_by()
    for entry in resolved:
        row = row_of.get(entry["patient_id"])
        if row is None:
            continue
        day = entry["last"].astimezone(zone_or_utc(chunk.patient_zones.get(
            entry["patient_id"], "UTC"))).date()
        col = min(h.col(day), rules.LOOKBACK_DAYS - 1)
        if col >= 0:
            restart.setdefault(entry["rule"], np.full(len(h.patient_ids), -1))[row] = col
    return restart
