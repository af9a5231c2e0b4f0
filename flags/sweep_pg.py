"""One chunk of the sweep on PostgreSQL: the same numbers as ``flags.sweep``'s ORM queries,
gathered with PostgreSQL SQL so that only the patients a rule may flag come back.

The decisions stay in ``flags.rules``: every ``HAVING``/``WHERE`` here is a superset of its
rule (a little slack around the rounded percentages), and Python decides on the exact numbers,
so both evaluators stay identical (``tests/flags/test_sweep_property.py`` on PostgreSQL).

Per chunk (the chunk's ids travel as one array parameter, no subquery, no id list in the SQL):

1. windows: one aggregate over the chunk's check-ins in the rule windows (recent, baseline,
   quiet, before quiet, and the compared plan weeks of each patient), one row per patient that
   may have an adherence, below-expected or gone-quiet finding;
2. ratings: per patient, ``LATERAL`` the N + M newest ratings (a backward index scan that
   stops after them, however long the history), aggregated in place with their check-in ids
   and newest ``updated_at``; one row per patient whose ratings may have dropped;
3. pulses: per patient, ``LATERAL`` the two latest pulses (``LEAD``); one row per patient whose
   alliance may have dropped, with the newest ``updated_at`` of their pulses' check-ins;
4. evidence: the check-in ids (``ARRAY_AGG``) and newest ``updated_at`` of each window finding's
   date ranges, one row per range, only for the patients flagged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from . import rules
from .findings import Finding
from .models import FlagSettings
from .rules import Counts, Pulses, Ratings, Verdict

if TYPE_CHECKING:
    from .sweep import Chunk

Row = tuple[Any, ...]


def evaluate_chunk(chunk: Chunk, *, settings: FlagSettings) -> list[Finding]:
    """All findings about the chunk's patients, in at most four queries."""
    s, as_of = settings, chunk.as_of
    w = rules.windows_for(as_of, s)
    verdicts: dict[int, list[Verdict]] = defaultdict(list)
    for row in _fetch(*_windows_sql(chunk, w, s)):
        verdicts[row[0]] += _window_verdicts(chunk.plan_starts[row[0]], row, w, s)
    behind: dict[tuple[int, str], Behind] = {}  # (patient, rule): check-in ids, newest save
    for row in _fetch(*_ratings_sql(chunk, s), unsorted=True):
        if (verdict := rules.satisfaction_drop(_ratings(row), as_of, s)) is not None:
            verdicts[row[0]].append(verdict)
            behind[(row[0], verdict.rule)] = (row[10], row[11])
    for row in _fetch(*_pulses_sql(chunk, s)):
        pulses = _pulses(row)
        if (verdict := rules.alliance_drop(pulses, as_of, s)) is not None:
            verdicts[row[0]].append(verdict)
            behind[(row[0], verdict.rule)] = (pulses.checkin_ids, row[7])
    in_ranges = _evidence(verdicts)
    findings: list[Finding] = []
    for pk, found in verdicts.items():
        made = [rules.finding(pk, verdict, as_of, *(behind.get((pk, verdict.rule))
                                                    or _in_ranges(pk, verdict, in_ranges)))
                for verdict in found]
        if made:
            findings += rules.with_at_risk(made, as_of, s)
    return rules.order(findings)


def _fetch(sql: str, params: dict[str, Any], *, unsorted: bool = False) -> list[Row]:
    """The rows of one statement. ``unsorted``: planned with ``enable_sort`` off (see
    ``_ratings_sql``), in a transaction (or savepoint) of its own that is rolled back, so the
    setting cannot outlive the statement (which only reads)."""
    if not unsorted:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    with transaction.atomic(), connection.cursor() as cursor:
        # One round trip: the driver sends both statements as one string (client-side binding).
        cursor.execute("SET LOCAL enable_sort = off;" + sql, params)
        rows = cursor.fetchall()
        transaction.set_rollback(True)
    return rows


# --- 1. Window aggregates ------------------------------------------------------------------


def _windows_sql(chunk: Chunk, w: rules.Windows, s: FlagSettings) -> tuple[str, dict]:
    """Per patient: done, due, logged of recent, baseline and each compared plan week; days
    logged in the quiet window and before it (and the last of those). Only rows that may pass
    a window rule: the HAVING is each rule's test on exact fractions, with slack for the
    one-decimal rounding the rules decide on (``_tenths``: at most 0.05 a percentage)."""
    weeks = range(s.expected_consecutive_weeks)
    # Which windows a check-in is in, worked out once a row (not once an aggregate).
    in_weeks = "".join(f", c.local_date - p.week0 BETWEEN {7 * k} AND {7 * k + 6} AS w{k}"
                       for k in weeks)
    week_columns = "".join(f", {_sums(f'w{k}')}" for k in weeks)
    # Each compared week logged enough and under the highest bar of the patient's weeks.
    week_tests = " AND ".join(
        f"(COUNT(*) FILTER (WHERE w{k}) >= %(week_min)s"
        f" AND 1000 * SUM(done) FILTER (WHERE w{k}) < (bar + 1) * SUM(due) FILTER (WHERE w{k}))"
        for k in weeks) or "FALSE"
    sql = f"""
        SELECT id, {_sums("recent")}, {_sums("baseline")}, COUNT(*) FILTER (WHERE quiet),
               COUNT(*) FILTER (WHERE prior), MAX(local_date) FILTER (WHERE prior)
               {week_columns}
        FROM (SELECT p.id, p.bar, c.local_date, c.steps_done AS done, c.steps_due AS due,
                     c.local_date >= %(recent)s AS recent,
                     c.local_date BETWEEN %(base0)s AND %(base1)s AS baseline,
                     c.local_date >= %(quiet)s AS quiet,
                     c.local_date BETWEEN %(prior0)s AND %(prior1)s AS prior
                     {in_weeks}
              FROM unnest(%(ids)s::bigint[], %(week0)s::date[], %(bar)s::int[])
                   AS p(id, week0, bar)
              JOIN checkins_checkin c ON c.patient_id = p.id
                   AND c.local_date BETWEEN %(since)s AND %(as_of)s) AS x
        GROUP BY id, bar
        HAVING (COUNT(*) FILTER (WHERE recent) >= %(recent_min)s AND (
                   100 * SUM(done) FILTER (WHERE recent)
                   < %(floor)s * SUM(due) FILTER (WHERE recent)
                OR (COUNT(*) FILTER (WHERE baseline) >= %(base_min)s
                    AND SUM(due) FILTER (WHERE baseline) > 0
                    AND SUM(due) FILTER (WHERE recent) > 0
                    AND 100.0 * SUM(done) FILTER (WHERE baseline)
                            / SUM(due) FILTER (WHERE baseline)
                        - 100.0 * SUM(done) FILTER (WHERE recent)
                            / SUM(due) FILTER (WHERE recent) > %(drop)s - 0.2)))
            OR (COUNT(*) FILTER (WHERE quiet) = 0
                AND COUNT(*) FILTER (WHERE prior) >= %(prior_min)s)
            OR ({week_tests})
    """  # noqa: S608 - only integer literals are formatted in; values are parameters
    week0, bar = _compared_weeks(chunk, w.as_of, s)
    return sql, {
        "ids": _array(chunk.plan_starts), "week0": week0, "bar": bar,
        "as_of": w.as_of, "since": w.as_of - timedelta(days=rules.lookback_days(s)),
        "recent": w.recent[0], "base0": w.baseline[0], "base1": w.baseline[1], "quiet": w.quiet[0],
        "prior0": w.prior[0], "prior1": w.prior[1], "recent_min": s.adherence_min_recent_logged,
        "base_min": s.adherence_min_baseline_logged, "floor": s.adherence_floor_percent,
        "drop": s.adherence_drop_points, "prior_min": s.quiet_prior_min_logged,
        "week_min": s.expected_min_logged_days,
    }


def _sums(window: str) -> str:
    """Steps done, steps due and days logged of the check-ins in ``window``."""
    return (f"SUM(done) FILTER (WHERE {window}), SUM(due) FILTER (WHERE {window}), "
            f"COUNT(*) FILTER (WHERE {window})")


def _compared_weeks(chunk: Chunk, as_of: date, s: FlagSettings) -> tuple[str, str]:
    """Per patient of the chunk (array literals): the first day of the oldest compared plan
    week, and the highest ``below_curve_bar`` of the compared weeks (NULL, NULL: the plan is
    too young). Compared weeks depend on the plan start only through the oldest one."""
    bars: dict[int, tuple[int, int]] = {}  # oldest compared week -> days in, highest bar
    first_days, highest = [], []
    for starts_on in chunk.plan_starts.values():
        weeks = rules.compared_plan_weeks(starts_on, as_of, s)
        if not weeks:
            first_days.append("NULL")
            highest.append("NULL")
            continue
        if weeks[0] not in bars:
            bars[weeks[0]] = (7 * (weeks[0] - 1),
                              max(rules.below_curve_bar(week, s) for week in weeks))
        offset, bar = bars[weeks[0]]
        first_days.append(str(starts_on + timedelta(days=offset)))
        highest.append(str(bar))
    return "{" + ",".join(first_days) + "}", "{" + ",".join(highest) + "}"


def _array(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal of ints or dates: one text parameter parses far faster
    than ``ARRAY[...]`` of thousands of constants (what the driver makes of a list)."""
    return "{" + ",".join(map(str, values)) + "}"


def _counts(row: Row, at: int) -> Counts:
    done, due, logged = row[at:at + 3]
    return Counts(done=done or 0, due=due or 0, logged=logged)


def _window_verdicts(starts_on: date, row: Row, w: rules.Windows, s: FlagSettings
                     ) -> list[Verdict]:
    """Columns: id, recent (3), baseline (3), quiet, prior, last prior, then 3 a week."""
    weeks = rules.compared_plan_weeks(starts_on, w.as_of, s)
    found = (
        rules.adherence_drop(_counts(row, 1), _counts(row, 4), w, s),
        rules.below_expected(starts_on, [(week, _counts(row, 10 + 3 * k))
                                         for k, week in enumerate(weeks)], w.as_of, s),
        rules.gone_quiet(row[7], row[8], row[9], w, s),
    )
    return [verdict for verdict in found if verdict is not None]


# --- 2. Ratings ----------------------------------------------------------------------------


def _ratings_sql(chunk: Chunk, s: FlagSettings) -> tuple[str, dict]:
    """Per patient: the last N ratings up to ``as_of`` and the M before them (sums, counts,
    dates), with the ids and newest save of those N + M check-ins. Only patients with N ratings
    that are all low or whose mean fell (the rule's own integer test).

    The N + M newest are read walking the (patient, local_date) index backwards and stopping
    after them, whatever the length of the history. Left alone, the planner prices that walk
    as random heap reads (it discounts the correlation of multi-column indexes) and reads every
    check-in of the patient by the patient index and sorts them instead: 1.6x the time on 90
    days of history, growing with it. Hence ``unsorted`` for this statement only."""
    sql = """
        SELECT p.id, r.*
        FROM unnest(%(ids)s::bigint[]) AS p(id)
        CROSS JOIN LATERAL (
            SELECT COALESCE(SUM(satisfaction) FILTER (WHERE n <= %(last)s), 0) AS last_sum,
                   COUNT(*) FILTER (WHERE n <= %(last)s) AS last_count,
                   MAX(satisfaction) FILTER (WHERE n <= %(last)s) AS last_max,
                   MIN(local_date) FILTER (WHERE n <= %(last)s) AS last_first,
                   MAX(local_date) AS latest,
                   COALESCE(SUM(satisfaction) FILTER (WHERE n > %(last)s), 0) AS previous_sum,
                   COUNT(*) FILTER (WHERE n > %(last)s) AS previous_count,
                   MIN(local_date) FILTER (WHERE n > %(last)s) AS previous_first,
                   MAX(local_date) FILTER (WHERE n > %(last)s) AS previous_last,
                   ARRAY_AGG(id) AS ids, MAX(updated_at) AS saved
            FROM (SELECT c.id, c.local_date, c.satisfaction, c.updated_at,
                         ROW_NUMBER() OVER (ORDER BY c.local_date DESC) AS n
                  FROM checkins_checkin c
                  WHERE c.patient_id = p.id AND c.satisfaction IS NOT NULL
                        AND c.local_date <= %(as_of)s
                  ORDER BY c.local_date DESC
                  LIMIT %(wanted)s) AS newest
        ) AS r
        WHERE r.last_count = %(last)s AND r.last_count > 0
              AND (r.last_max <= %(low)s
                   OR (r.previous_count > 0
                       AND 10 * r.last_sum * r.previous_count <= 10 * r.previous_sum
                           * r.last_count - %(drop)s * r.last_count * r.previous_count))
    """
    return sql, {
        "ids": _array(chunk.plan_starts), "as_of": chunk.as_of,
        "last": s.satisfaction_recent_count,
        "wanted": s.satisfaction_recent_count + s.satisfaction_previous_count,
        "low": s.satisfaction_low, "drop": round(s.satisfaction_drop * 10),
    }


def _ratings(row: Row) -> Ratings:
    return Ratings(last_sum=row[1], last_count=row[2], last_max=row[3], last_first=row[4],
                   latest=row[5], previous_sum=row[6], previous_count=row[7],
                   previous_first=row[8], previous_last=row[9])


# --- 3. Pulses -----------------------------------------------------------------------------


def _pulses_sql(chunk: Chunk, s: FlagSettings) -> tuple[str, dict]:
    """Per patient: the latest pulse up to ``as_of`` and (LEAD) the one before, read on the
    pulses' (patient, -date) index; only patients below the floor or dropping come back, with
    the newest save of their pulses' check-ins (read for those patients only)."""
    sql = """
        SELECT p.id, x.total, x.local_date, x.checkin_id, x.previous_total,
               x.previous_date, x.previous_checkin,
               (SELECT MAX(c.updated_at) FROM checkins_checkin c
                WHERE c.id IN (x.checkin_id, x.previous_checkin)) AS saved
        FROM unnest(%(ids)s::bigint[]) AS p(id)
        CROSS JOIN LATERAL (
            SELECT a.total, a.local_date, a.checkin_id,
                   LEAD(a.total) OVER newest_first AS previous_total,
                   LEAD(a.local_date) OVER newest_first AS previous_date,
                   LEAD(a.checkin_id) OVER newest_first AS previous_checkin
            FROM (SELECT a.total, a.local_date, a.checkin_id
                  FROM checkins_alliancepulse a
                  WHERE a.patient_id = p.id AND a.local_date <= %(as_of)s
                  ORDER BY a.local_date DESC
                  LIMIT 2) AS a
            WINDOW newest_first AS (ORDER BY a.local_date DESC)
            ORDER BY a.local_date DESC
            LIMIT 1
        ) AS x
        WHERE x.total < %(floor)s OR x.previous_total - x.total >= %(drop)s
    """
    return sql, {"ids": _array(chunk.plan_starts), "as_of": chunk.as_of,
                 "floor": s.alliance_floor, "drop": s.alliance_drop_points}


def _pulses(row: Row) -> Pulses:
    _, total, day, checkin, previous_total, previous_date, previous_checkin, _ = row
    return Pulses(latest_total=total, latest_date=day, latest_checkin=checkin,
                  previous_total=previous_total, previous_date=previous_date,
                  previous_checkin=previous_checkin)


# --- 4. The check-ins behind the window findings -------------------------------------------

Behind = tuple[list[int], datetime]  # check-in ids, the newest save among them
Ranges = dict[tuple[int, date, date], Behind]


def _evidence(verdicts: dict[int, list[Verdict]]) -> Ranges:
    """(patient, first, last) -> (check-in ids, newest save) of every date range behind a
    window finding of the chunk, in one query."""
    wanted = sorted({(pk, *rng) for pk, found in verdicts.items() for verdict in found
                     for rng in verdict.id_ranges})
    if not wanted:
        return {}
    sql = """
        SELECT r.patient_id, r.first, r.last, ARRAY_AGG(c.id), MAX(c.updated_at)
        FROM unnest(%(ids)s::bigint[], %(first)s::date[], %(last)s::date[])
             AS r(patient_id, first, last)
        JOIN checkins_checkin c ON c.patient_id = r.patient_id
             AND c.local_date BETWEEN r.first AND r.last
        GROUP BY r.patient_id, r.first, r.last
    """
    ids, first, last = (_array(column) for column in zip(*wanted, strict=True))
    rows = _fetch(sql, {"ids": ids, "first": first, "last": last})
    return {(pk, start, end): (checkins, saved) for pk, start, end, checkins, saved in rows}


def _in_ranges(pk: int, verdict: Verdict, in_ranges: Ranges) -> Behind:
    """The check-ins in a window finding's date ranges and the newest save among them."""
    parts = [in_ranges[(pk, *rng)] for rng in verdict.id_ranges if (pk, *rng) in in_ranges]
    return (sorted({checkin for ids, _ in parts for checkin in ids}),
            max(saved for _, saved in parts))
