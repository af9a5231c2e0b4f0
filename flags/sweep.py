"""The nightly sweep: every rule over every active patient with a plan, set-based.

Per clinic (its ``FlagSettings``), patients are taken in chunks of ``chunk_size`` ids (memory
stays bounded). A chunk costs the same number of queries however many patients it holds:

1. the chunk's patients (id, timezone, plan start);
2. one aggregate over the chunk's check-ins in the rule windows: conditional sums/counts per
   window (recent, baseline, quiet, before-quiet), one row per patient;
3. one aggregate per patient and plan week over the same rows (the last complete weeks);
4. one windowed query over ratings: each patient's N + M newest ratings, read on their newest
   rating's row with LEAD() (one row per patient); a second one, over the whole history, only
   for patients with fewer than N + M ratings in the rule windows;
5. one windowed query over pulses: the latest and (LEAD) the previous pulse per patient;
6. one query for the check-ins behind the findings (ids and when they were saved);
7. ``flags_apply`` for the chunk (its own fixed number of statements).

Patients' local "yesterday" differs by timezone. Patients are grouped by that date (a few at
most); a window condition is a date range per group, and only when there are several groups
does a row's patient timezone pick the range (no date arithmetic per row).
The decisions are made by ``flags.rules``, exactly as in the per-patient ``flags.naive``.
"""

from __future__ import annotations

import operator
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import reduce
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    Count,
    Expression,
    F,
    Func,
    IntegerField,
    Max,
    Q,
    QuerySet,
    Sum,
    Window,
)
from django.db.models.functions import Lead, RowNumber
from django.utils import timezone

from accounts.models import Clinic, Patient
from checkins.models import AlliancePulse, CheckIn

from . import rules
from .findings import Finding
from .models import FlagSettings, Rule
from .rules import Counts, Pulses, Ratings, Verdict
from .services import flags_apply


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
class PatientRef:
    """A patient as the evaluators need them: the plan start and their local yesterday."""

    pk: int
    timezone: str
    starts_on: date
    as_of: date


@dataclass
class SweepResult:
    patients: int = 0
    findings: int = 0
    opened: int = 0
    updated: int = 0
    chunks: int = 0
    per_rule: Counter = field(default_factory=Counter)


def sweep(*, now: datetime | None = None, clinic_ids: list[int] | None = None,
          chunk_size: int = 2000) -> SweepResult:
    """Evaluate every rule for the active patients with a plan of these clinics (all clinics
    when None) and apply the findings. Idempotent: a second run changes nothing."""
    now = now or timezone.now()
    result = SweepResult()
    for clinic_id in clinic_ids if clinic_ids is not None else clinics_with_patients():
        settings = FlagSettings.for_clinic(clinic_id)
        for chunk in patient_chunks(clinic_id, now=now, chunk_size=chunk_size):
            findings = evaluate_chunk(chunk, settings=settings)
            applied = flags_apply(findings=findings, patient_ids=[p.pk for p in chunk])
            result.patients += len(chunk)
            result.chunks += 1
            result.findings += len(findings)
            result.opened += applied.opened
            result.updated += applied.updated
            result.per_rule.update(f.rule for f in findings)
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
    clinic's timezone; the default hour when the clinic has no settings row)."""
    default_hour = FlagSettings._meta.get_field("sweep_hour").default
    rows = Clinic.objects.order_by("pk").values_list("pk", "timezone",
                                                     "flag_settings__sweep_hour")
    return [pk for pk, zone, hour in rows
            if sweep_hour_now(now, ZoneInfo(zone), default_hour if hour is None else hour)]


def clinics_with_patients() -> list[int]:
    return list(
        Patient.objects.filter(is_active=True, care_plan__isnull=False)
        .order_by("clinic_id").values_list("clinic_id", flat=True).distinct()
    )


def patient_chunks(clinic_id: int, *, now: datetime, chunk_size: int
                   ) -> Iterator[list[PatientRef]]:
    """The clinic's active patients with a plan, ``chunk_size`` at a time by id (keyset)."""
    zones: dict[str, date] = {}  # timezone -> local yesterday at ``now``
    last_pk = 0
    while True:
        rows = list(
            Patient.objects.filter(clinic_id=clinic_id, is_active=True,
                                   care_plan__isnull=False, pk__gt=last_pk)
            .order_by("pk").values_list("pk", "timezone", "care_plan__starts_on")[:chunk_size]
        )
        if not rows:
            return
        for _, zone, _ in rows:
            if zone not in zones:
                zones[zone] = rules.local_yesterday(now, ZoneInfo(zone))
        yield [PatientRef(pk, zone, starts_on, zones[zone]) for pk, zone, starts_on in rows]
        if len(rows) < chunk_size:
            return
        last_pk = rows[-1][0]


# --- One chunk -----------------------------------------------------------------------------


class Yesterdays:
    """The chunk's patients grouped by their local yesterday (a few dates at most: time zones
    span about a day), turned into date conditions that hold per row without arithmetic."""

    def __init__(self, patients: Sequence[PatientRef]) -> None:
        by_date: dict[date, set[str]] = defaultdict(set)
        for p in patients:
            by_date[p.as_of].add(p.timezone)
        self.zones = {day: sorted(zones) for day, zones in sorted(by_date.items())}
        self.latest = max(self.zones)

    def days_before(self, lo: int, hi: int | None, patient: str = "patient__") -> Q:
        """Rows dated ``lo`` to ``hi`` days (None: any number) before their patient's yesterday."""
        conditions = []
        for day, zones in self.zones.items():
            condition = Q(local_date__lte=day - timedelta(days=lo))
            if hi is not None:
                condition &= Q(local_date__gte=day - timedelta(days=hi))
            if len(self.zones) > 1:  # only then does the patient's timezone matter
                condition &= Q(**{f"{patient}timezone__in": zones})
            conditions.append(condition)
        return reduce(operator.or_, conditions)

    def since(self, days: int) -> date:
        """The earliest date ``days`` days before any of the yesterdays (an index bound)."""
        return min(self.zones) - timedelta(days=days)


def evaluate_chunk(patients: Sequence[PatientRef], *, settings: FlagSettings) -> list[Finding]:
    """All findings about these patients (of one clinic), in a fixed number of queries."""
    if not patients:
        return []
    s = settings
    ids = _members(patients, s.clinic_id)
    days = Yesterdays(patients)
    windows = _window_rows(ids, days, s)
    weeks = _week_rows(ids, days, s)
    ratings = _rating_rows(ids, patients, days, s)
    pulses = _pulse_rows(ids, days)

    verdicts: dict[int, list[Verdict]] = {}
    for p in patients:
        found = _window_verdicts(p, windows.get(p.pk, {}), weeks.get(p.pk, {}), s)
        found += [verdict for verdict in (
            rules.satisfaction_drop(ratings.get(p.pk), p.as_of, s),
            rules.alliance_drop(pulses.get(p.pk), p.as_of, s),
        ) if verdict is not None]
        if found:
            verdicts[p.pk] = found

    behind = _checkins_behind(verdicts, ratings, pulses, days)
    findings: list[Finding] = []
    for p in patients:
        found = [_finding(p, verdict, behind[p.pk], ratings.get(p.pk), pulses.get(p.pk))
                 for verdict in verdicts.get(p.pk, [])]
        findings += rules.with_at_risk(found, p.as_of, s)
    return rules.order(findings)


Members = QuerySet[Patient] | list[int]


def _members(patients: Sequence[PatientRef], clinic_id: int) -> Members:
    """The chunk as a subquery (its id range, same filter as the chunk query): the queries
    below then carry no list of thousands of ids."""
    pks = [p.pk for p in patients]
    return Patient.objects.filter(
        clinic_id=clinic_id, is_active=True, care_plan__isnull=False,
        pk__gte=min(pks), pk__lte=max(pks)).values("pk")


# --- Query 2: window aggregates over check-ins ----------------------------------------------


def _window_rows(ids: Members, days: Yesterdays, s: FlagSettings
                 ) -> dict[int, dict[str, Any]]:
    """Per patient: steps done/due and days logged in the recent and baseline windows; days
    logged in the quiet window and in the window before it (and the last of those)."""
    recent, quiet = s.recent_days, s.quiet_days
    prior = days.days_before(quiet, quiet + s.quiet_prior_days - 1)
    aggregates: dict[str, Expression] = {
        "q_n": Count("local_date", filter=days.days_before(0, quiet - 1)),
        "p_n": Count("local_date", filter=prior),
        "p_last": Max("local_date", filter=prior),
    }
    for name, condition in (("r", days.days_before(0, recent - 1)),
                            ("b", days.days_before(recent, recent + s.baseline_days - 1))):
        aggregates[f"{name}_done"] = Sum("steps_done", filter=condition)
        aggregates[f"{name}_due"] = Sum("steps_due", filter=condition)
        aggregates[f"{name}_n"] = Count("local_date", filter=condition)
    rows = (
        CheckIn.objects.order_by()
        .filter(patient_id__in=ids, local_date__range=(days.since(rules.lookback_days(s)),
                                                       days.latest))
        .values("patient_id").annotate(**aggregates)
    )
    return {row["patient_id"]: row for row in rows}


# --- Query 3: plan-week aggregates ------------------------------------------------------------


def _week_rows(ids: Members, days: Yesterdays, s: FlagSettings
               ) -> dict[int, dict[int, Counts]]:
    """Per patient and plan week (1 = the 7 days from the plan's start): done, due, logged,
    over the weeks that can be compared. Only weeks that could be below the curve come back
    (a superset: logged enough, under the curve's highest point less the margin); the rule
    decides on the exact numbers."""
    top = max(s.expected_week1_percent, s.expected_final_percent) - s.expected_margin_points
    rows = (
        CheckIn.objects.order_by()
        .filter(patient_id__in=ids, local_date__range=(days.since(rules.plan_weeks_days(s)),
                                                       days.latest),
                local_date__gte=F("patient__care_plan__starts_on"))
        .annotate(week=DaysBetween("local_date", "patient__care_plan__starts_on") / 7 + 1)
        .values("patient_id", "week")
        .annotate(done=Sum("steps_done"), due=Sum("steps_due"), logged=Count("local_date"))
        .filter(logged__gte=s.expected_min_logged_days, done__lt=(top + 1) * F("due") / 100.0)
        .values_list("patient_id", "week", "done", "due", "logged")
    )
    weeks: dict[int, dict[int, Counts]] = defaultdict(dict)
    for pk, week, done, due, logged in rows:
        weeks[pk][week] = Counts(done, due, logged)
    return weeks


def _window_verdicts(p: PatientRef, row: dict[str, Any], weeks: dict[int, Counts],
                     s: FlagSettings) -> list[Verdict]:
    w = rules.windows_for(p.as_of, s)
    found = (
        rules.adherence_drop(_counts(row, "r"), _counts(row, "b"), w, s),
        rules.below_expected(p.starts_on, [
            (week, weeks.get(week, Counts()))
            for week in rules.compared_plan_weeks(p.starts_on, p.as_of, s)], p.as_of, s),
        rules.gone_quiet(row.get("q_n") or 0, row.get("p_n") or 0, row.get("p_last"), w, s),
    )
    return [verdict for verdict in found if verdict is not None]


def _counts(row: dict[str, Any], name: str) -> Counts:
    return Counts(done=row.get(f"{name}_done") or 0, due=row.get(f"{name}_due") or 0,
                  logged=row.get(f"{name}_n") or 0)


# --- Query 4: ratings, windowed ---------------------------------------------------------------

# Each patient's rows, newest first (the frames of the window functions count from here).
NEWEST_FIRST = {"partition_by": [F("patient_id")], "order_by": [F("local_date").desc()]}


def _rating_rows(ids: Members, patients: Sequence[PatientRef], days: Yesterdays,
                 s: FlagSettings) -> dict[int, Ratings]:
    """Per patient: the last N ratings up to their yesterday and the M before them.

    The history is long and the ratings needed are usually recent, so the rows first read are
    those of the rule windows; patients with fewer than N + M ratings there are read again
    over their whole history (a second query, for those patients only)."""
    wanted = s.satisfaction_recent_count + s.satisfaction_previous_count
    rated = _newest_ratings(ids, days, wanted, since=days.since(rules.lookback_days(s)))
    again = [p.pk for p in patients if len(rated.get(p.pk, ())) < wanted]
    if again:
        rated |= _newest_ratings(again, days, wanted, since=None)
    return {pk: ratings for pk, newest in rated.items()
            if (ratings := Ratings.from_newest_first(newest, s)) is not None}


def _newest_ratings(ids: Members, days: Yesterdays, count: int, since: date | None
                    ) -> dict[int, list[tuple[date, int]]]:
    """Per patient, their ``count`` newest (date, rating) pairs up to their yesterday, newest
    first: read on each patient's newest rating, with LEAD() for the older ones (one row per
    patient; one window, no frames)."""
    rated = CheckIn.objects.order_by().filter(
        days.days_before(0, None), patient_id__in=ids, satisfaction__isnull=False,
        local_date__lte=days.latest)
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
    found = {}
    for pk, *pairs in rows:
        newest = list(zip(pairs[::2], pairs[1::2], strict=True))
        found[pk] = [(day, value) for day, value in newest if day is not None]
    return found


# --- Query 5: pulses, windowed ----------------------------------------------------------------


def _pulse_rows(ids: Members, days: Yesterdays) -> dict[int, Pulses]:
    """Per patient: the latest pulse up to their yesterday and (LEAD) the one before it."""

    def previous(column: str) -> Window:
        return Window(Lead(column), **NEWEST_FIRST)

    rows = (
        AlliancePulse.objects.order_by()
        .filter(days.days_before(0, None), patient_id__in=ids, local_date__lte=days.latest)
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


# --- Query 6: the check-ins behind the findings -----------------------------------------------

Behind = list[tuple[int, date, bool, datetime]]  # id, local date, rated, saved


def _checkins_behind(verdicts: dict[int, list[Verdict]], ratings: dict[int, Ratings],
                     pulses: dict[int, Pulses], days: Yesterdays) -> dict[int, Behind]:
    """One query for the check-ins behind every finding of the chunk: those in the windows of
    window findings, the rated ones compared by satisfaction findings, the pulses' ones."""
    by_rule: dict[str, list[int]] = defaultdict(list)
    for pk, found in verdicts.items():
        for verdict in found:
            by_rule["window" if verdict.id_ranges else verdict.rule].append(pk)
    ranges = [rng for found in verdicts.values() for v in found for rng in v.id_ranges]
    conditions = []
    if ranges:
        conditions.append(Q(patient_id__in=by_rule["window"],
                            local_date__range=(min(r[0] for r in ranges),
                                               max(r[1] for r in ranges))))
    if by_rule[Rule.SATISFACTION_DROP]:
        first = min(_compared_since(ratings[pk]) for pk in by_rule[Rule.SATISFACTION_DROP])
        conditions.append(Q(patient_id__in=by_rule[Rule.SATISFACTION_DROP],
                            satisfaction__isnull=False, local_date__range=(first, days.latest)))
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


def _finding(p: PatientRef, verdict: Verdict, behind: Behind, ratings: Ratings | None,
             pulses: Pulses | None) -> Finding:
    if verdict.rule == Rule.SATISFACTION_DROP and ratings is not None:
        # The compared ratings are exactly the rated check-ins between the oldest and newest.
        first = _compared_since(ratings)
        rows = [row for row in behind if row[2] and first <= row[1] <= ratings.latest]
    elif verdict.rule == Rule.ALLIANCE_DROP and pulses is not None:
        rows = [row for row in behind if row[0] in pulses.checkin_ids]
    else:
        rows = [row for row in behind
                if any(start <= row[1] <= end for start, end in verdict.id_ranges)]
    return rules.finding(p.pk, verdict, p.as_of, [row[0] for row in rows],
                         max(row[3] for row in rows))
