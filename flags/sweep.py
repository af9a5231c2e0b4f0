"""The nightly sweep: every rule over every active patient with a plan, set-based.

Per clinic (its ``FlagSettings``), patients are grouped by their local "yesterday" (time zones
differ: at one instant a clinic's patients live on up to three dates), and each group is taken
in chunks of ``chunk_size`` patient ids (memory stays bounded). Every patient of a chunk shares
one yesterday, so every window is a plain date range. A chunk costs the same number of queries
however many patients it holds. First, the chunk's patients (id, plan start), keyset-paginated.
Then, on PostgreSQL, ``flags.sweep_pg`` (four queries returning only the patients a rule may
flag, the evidence's check-in ids aggregated in SQL). Elsewhere (SQLite), the portable ORM
queries below:

1. one aggregate over the chunk's check-ins: conditional sums/counts per rule window (recent,
   baseline, quiet, before-quiet), one row per patient;
2. one aggregate per patient and plan week (the last complete weeks; a superset filter keeps
   only weeks that could be under the curve);
3. one windowed query over ratings: each patient's N + M newest ratings, read on their newest
   rating's row with LEAD() (one row per patient); a second one, over the whole history, only
   for patients with fewer than N + M ratings in the rule windows;
4. one windowed query over pulses: the latest and (LEAD) the previous pulse per patient;
5. one query for the check-ins behind the findings (ids and when they were saved).

Then ``flags_apply`` for the chunk (its own fixed number of statements). Plus one query per
clinic for its settings and one for the time zones of its patients. The decisions are made by
``flags.rules``, exactly as in the per-patient ``flags.naive``, whichever path gathered the
numbers (``tests/flags/test_sweep_property.py`` runs on both databases).
"""

from __future__ import annotations

import gc
import logging
import operator
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import reduce
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, F, Func, IntegerField, Max, Q, QuerySet, Sum, Window
from django.db.models.functions import Lead, RowNumber

from accounts.models import Clinic, Patient
from accounts.timezones import known_zone_names, zone_or_utc
from checkins.models import AlliancePulse, CheckIn
from core.periodic import each_isolated

from . import rules, sweep_pg
from .findings import Finding
from .models import FlagSettings, Rule
from .rules import Counts, Pulses, Ratings, Verdict
from .services import flags_apply

logger = logging.getLogger(__name__)

TASK = "flags sweep"


class DaysBetween(Func):
    """Whole days from ``start`` to ``end`` (``end - start``) of two DATE expressions."""

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


@dataclass(frozen=True)
class Chunk:
    """Patients of one clinic sharing one local yesterday (``as_of``), by ascending id."""

    clinic_id: int
    as_of: date
    zones: tuple[str, ...]  # the time zones whose yesterday is ``as_of``
    plan_starts: dict[int, date]  # patient id -> CarePlan.starts_on

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
        settings = FlagSettings.for_clinic(clinic_id)
        for chunk in patient_chunks(clinic_id, now=now, chunk_size=chunk_size):
            findings = evaluate_chunk(chunk, settings=settings)
            applied = flags_apply(findings=findings, patient_ids=chunk.patient_ids, now=now)
            result.patients += len(chunk.plan_starts)
            result.chunks += 1
            result.findings += len(findings)
            result.opened += applied.opened
            result.updated += applied.updated
            result.per_rule.update(f.rule for f in findings)

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


def patient_chunks(clinic_id: int, *, now: datetime, chunk_size: int) -> Iterator[Chunk]:
    """The clinic's evaluated patients grouped by their local yesterday at ``now``, each group
    ``chunk_size`` patients at a time by id (keyset pagination)."""
    zones = _evaluated(clinic_id).order_by("timezone").values_list(
        "timezone", flat=True).distinct()
    groups: dict[date, list[str]] = defaultdict(list)
    # A patient zone that is not a zone (a row written around validation) leaves out only
    # the patients in it, logged; the clinic's other patients are swept.
    yesterdays = each_isolated(
        zones, lambda zone: (rules.local_yesterday(now, ZoneInfo(zone)), zone), task=TASK,
        what=lambda _zone: f"clinic {clinic_id}'s patients in one time zone")
    for as_of, zone in yesterdays:
        groups[as_of].append(zone)
    for as_of, in_group in sorted(groups.items()):
        last_pk = 0
        while True:
            rows = list(
                _evaluated(clinic_id).filter(timezone__in=in_group, pk__gt=last_pk)
                .order_by("pk").values_list("pk", "care_plan__starts_on")[:chunk_size]
            )
            if rows:
                yield Chunk(clinic_id, as_of, tuple(in_group), dict(rows))
            if len(rows) < chunk_size:
                break
            last_pk = rows[-1][0]


# --- One chunk -----------------------------------------------------------------------------


def evaluate_chunk(chunk: Chunk, *, settings: FlagSettings) -> list[Finding]:
    """All findings about the chunk's patients, in a fixed number of queries: PostgreSQL's
    own SQL there (``flags.sweep_pg``), the portable ORM queries below elsewhere."""
    with _collector_paused():
        if connection.vendor == "postgresql":
            return sweep_pg.evaluate_chunk(chunk, settings=settings)
        return _evaluate_chunk_orm(chunk, settings=settings)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one chunk. A chunk allocates tens of thousands
    of short-lived rows, dicts and strings and no reference cycles to speak of, so the
    collections they would trigger find nothing and cost ~15 % of the chunk's Python time.
    Memory stays bounded by the chunk; the collector resumes after it."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _evaluate_chunk_orm(chunk: Chunk, *, settings: FlagSettings) -> list[Finding]:
    s, as_of = settings, chunk.as_of
    members = chunk.members()
    w = rules.windows_for(as_of, s)
    windows = _window_rows(members, w, s)
    weeks = _week_rows(members, as_of, s)
    ratings = _rating_rows(members, chunk, s)
    pulses = _pulse_rows(members, as_of)

    verdicts: dict[int, list[Verdict]] = {}
    for pk, starts_on in chunk.plan_starts.items():
        found = _window_verdicts(starts_on, windows.get(pk, {}), weeks.get(pk, {}), w, s)
        found += [verdict for verdict in (
            rules.satisfaction_drop(ratings.get(pk), as_of, s),
            rules.alliance_drop(pulses.get(pk), as_of, s),
        ) if verdict is not None]
        if found:
            verdicts[pk] = found

    behind = _checkins_behind(verdicts, ratings, pulses, as_of)
    findings: list[Finding] = []
    for pk, found in verdicts.items():
        made = [_finding(pk, verdict, as_of, behind[pk], ratings.get(pk), pulses.get(pk))
                for verdict in found]
        findings += rules.with_at_risk(made, as_of, s)
    return rules.order(findings)


# --- Query 1: window aggregates over check-ins ----------------------------------------------


def _window_rows(members: QuerySet[Patient], w: rules.Windows, s: FlagSettings
                 ) -> dict[int, dict[str, Any]]:
    """Per patient: steps done/due and days logged in the recent and baseline windows; days
    logged in the quiet window and in the window before it (and the last of those)."""
    prior = Q(local_date__range=w.prior)
    aggregates: dict[str, Any] = {
        "quiet": Count("local_date", filter=Q(local_date__range=w.quiet)),
        "prior": Count("local_date", filter=prior),
        "last_prior": Max("local_date", filter=prior),
    }
    for name in ("recent", "baseline"):
        inside = Q(local_date__range=getattr(w, name))
        aggregates |= {f"{name}_done": Sum("steps_done", filter=inside),
                       f"{name}_due": Sum("steps_due", filter=inside),
                       f"{name}_logged": Count("local_date", filter=inside)}
    rows = (
        CheckIn.objects.order_by()
        .filter(patient_id__in=members,
                local_date__range=(w.as_of - timedelta(days=rules.lookback_days(s)), w.as_of))
        .values("patient_id").annotate(**aggregates)
    )
    return {row["patient_id"]: row for row in rows}


def _counts(row: dict[str, Any], name: str) -> Counts:
    return Counts(done=row.get(f"{name}_done") or 0, due=row.get(f"{name}_due") or 0,
                  logged=row.get(f"{name}_logged") or 0)


# --- Query 2: plan-week aggregates ------------------------------------------------------------


def _week_rows(members: QuerySet[Patient], as_of: date, s: FlagSettings
               ) -> dict[int, dict[int, Counts]]:
    """Per patient and plan week (1 = the 7 days from the plan's start): done, due, logged,
    over the weeks that can be compared. Only weeks that could be below the curve come back
    (a superset: logged enough, under the curve's highest point less the margin); the rule
    decides on the exact numbers."""
    top = max(s.expected_week1_percent, s.expected_final_percent) - s.expected_margin_points
    starts_on = "patient__care_plan__starts_on"
    rows = (
        CheckIn.objects.order_by()
        .filter(patient_id__in=members, local_date__gte=F(starts_on),
                local_date__range=(as_of - timedelta(days=rules.plan_weeks_days(s)), as_of))
        .annotate(week=DaysBetween("local_date", starts_on) / 7 + 1)
        .values("patient_id", "week")
        .annotate(done=Sum("steps_done"), due=Sum("steps_due"), logged=Count("local_date"))
        .filter(logged__gte=s.expected_min_logged_days, done__lt=(top + 1) * F("due") / 100.0)
        .values_list("patient_id", "week", "done", "due", "logged")
    )
    weeks: dict[int, dict[int, Counts]] = defaultdict(dict)
    for pk, week, done, due, logged in rows:
        weeks[pk][week] = Counts(done, due, logged)
    return weeks


def _window_verdicts(starts_on: date, row: dict[str, Any], weeks: dict[int, Counts],
                     w: rules.Windows, s: FlagSettings) -> list[Verdict]:
    compared = [(week, weeks.get(week, Counts()))
                for week in rules.compared_plan_weeks(starts_on, w.as_of, s)]
    found = (
        rules.adherence_drop(_counts(row, "recent"), _counts(row, "baseline"), w, s),
        rules.below_expected(starts_on, compared, w.as_of, s),
        rules.gone_quiet(row.get("quiet") or 0, row.get("prior") or 0, row.get("last_prior"),
                         w, s),
    )
    return [verdict for verdict in found if verdict is not None]


# --- Query 3: ratings, windowed ---------------------------------------------------------------

# Each patient's rows, newest first (what LEAD() reads further down).
NEWEST_FIRST = {"partition_by": [F("patient_id")], "order_by": [F("local_date").desc()]}


def _rating_rows(members: QuerySet[Patient], chunk: Chunk, s: FlagSettings
                 ) -> dict[int, Ratings]:
    """Per patient: the last N ratings up to yesterday and the M before them.

    The history is long and the ratings needed are usually recent, so the rows first read are
    those of the rule windows; patients with fewer than N + M ratings there are read again
    over their whole history (a second query, for those patients only)."""
    wanted = s.satisfaction_recent_count + s.satisfaction_previous_count
    since = chunk.as_of - timedelta(days=rules.lookback_days(s))
    rated = _newest_ratings(members, chunk.as_of, wanted, since=since)
    again = [pk for pk in chunk.plan_starts if len(rated.get(pk, ())) < wanted]
    if again:
        rated |= _newest_ratings(again, chunk.as_of, wanted, since=None)
    return {pk: ratings for pk, newest in rated.items()
            if (ratings := Ratings.from_newest_first(newest, s)) is not None}


def _newest_ratings(members: QuerySet[Patient] | list[int], as_of: date, count: int,
                    since: date | None) -> dict[int, list[tuple[date, int]]]:
    """Per patient, their ``count`` newest (date, rating) pairs up to ``as_of``, newest first:
    read on each patient's newest rating, LEAD() bringing the older ones (one row each)."""
    rated = CheckIn.objects.order_by().filter(
        patient_id__in=members, satisfaction__isnull=False, local_date__lte=as_of)
    if since is not None:
        rated = rated.filter(local_date__gte=since)
    older = {}
    for k in range(1, count):
        older[f"d{k}"] = Window(Lead("local_date", k), **NEWEST_FIRST)
        older[f"s{k}"] = Window(Lead("satisfaction", k), **NEWEST_FIRST)
    rows = (
        rated.annotate(rn=Window(RowNumber(), **NEWEST_FIRST), **older).filter(rn=1)
        .values_list("patient_id", "local_date", "satisfaction", *older)
    )
    return {pk: [(day, value) for day, value in zip(pairs[::2], pairs[1::2], strict=True)
                 if day is not None]
            for pk, *pairs in rows}


# --- Query 4: pulses, windowed ----------------------------------------------------------------


def _pulse_rows(members: QuerySet[Patient], as_of: date) -> dict[int, Pulses]:
    """Per patient: the latest pulse up to yesterday and (LEAD) the one before it."""

    def previous(column: str) -> Window:
        return Window(Lead(column), **NEWEST_FIRST)

    rows = (
        AlliancePulse.objects.order_by()
        .filter(patient_id__in=members, local_date__lte=as_of)
        .annotate(rn=Window(RowNumber(), **NEWEST_FIRST),
                  previous_total=previous("total"), previous_date=previous("local_date"),
                  previous_checkin=previous("checkin_id"))
        .filter(rn=1)
        .values_list("patient_id", "total", "local_date", "checkin_id", "previous_total",
                     "previous_date", "previous_checkin")
    )
    return {
        pk: Pulses(latest_total=total, latest_date=day, latest_checkin=checkin,
                   previous_total=p_total, previous_date=p_date, previous_checkin=p_checkin)
        for pk, total, day, checkin, p_total, p_date, p_checkin in rows
    }


# --- Query 5: the check-ins behind the findings -----------------------------------------------

Behind = list[tuple[int, date, bool, datetime]]  # id, local date, rated, saved


def _checkins_behind(verdicts: dict[int, list[Verdict]], ratings: dict[int, Ratings],
                     pulses: dict[int, Pulses], as_of: date) -> dict[int, Behind]:
    """One query for the check-ins behind every finding of the chunk: those in the windows of
    window findings, the rated ones compared by satisfaction findings, the pulses' ones."""
    by_rule: dict[str, list[int]] = defaultdict(list)
    for pk, found in verdicts.items():
        for verdict in found:
            by_rule["window" if verdict.id_ranges else verdict.rule].append(pk)
    conditions = []
    if by_rule["window"]:
        ranges = [rng for found in verdicts.values() for v in found for rng in v.id_ranges]
        conditions.append(Q(patient_id__in=by_rule["window"],
                            local_date__range=(min(r[0] for r in ranges),
                                               max(r[1] for r in ranges))))
    if by_rule[Rule.SATISFACTION_DROP]:
        first = min(_compared_since(ratings[pk]) for pk in by_rule[Rule.SATISFACTION_DROP])
        conditions.append(Q(patient_id__in=by_rule[Rule.SATISFACTION_DROP],
                            satisfaction__isnull=False, local_date__range=(first, as_of)))
    if by_rule[Rule.ALLIANCE_DROP]:
        conditions.append(Q(id__in=[pk for patient in by_rule[Rule.ALLIANCE_DROP]
                                    for pk in pulses[patient].checkin_ids]))
    found: dict[int, Behind] = defaultdict(list)
    if not conditions:
        return found
    rows = CheckIn.objects.order_by().filter(reduce(operator.or_, conditions)).values_list(
        "patient_id", "id", "local_date", "satisfaction", "updated_at")
    for patient, pk, day, satisfaction, saved in rows:
        found[patient].append((pk, day, satisfaction is not None, saved))
    return found


def _compared_since(r: Ratings) -> date:
    return r.previous_first or r.last_first


def _finding(patient_id: int, verdict: Verdict, as_of: date, behind: Behind,
             ratings: Ratings | None, pulses: Pulses | None) -> Finding:
    if verdict.rule == Rule.SATISFACTION_DROP and ratings is not None:
        # The compared ratings are exactly the rated check-ins between the oldest and newest.
        first = _compared_since(ratings)
        rows = [row for row in behind if row[2] and first <= row[1] <= ratings.latest]
    elif verdict.rule == Rule.ALLIANCE_DROP and pulses is not None:
        rows = [row for row in behind if row[0] in pulses.checkin_ids]
    else:
        rows = [row for row in behind
                if any(start <= row[1] <= end for start, end in verdict.id_ranges)]
    return rules.finding(patient_id, verdict, as_of, [row[0] for row in rows],
                         max(row[3] for row in rows))
