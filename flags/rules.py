"""The rules, decided on each patient's own history: no queries here.

``flags.sweep`` gathers a chunk of patients' last ``LOOKBACK_DAYS`` days into ``Histories``
(one row per patient, one column per patient-local day, the last column ``as_of``: the
patient's yesterday) and hands them to ``evaluate``. Each rule judges a patient against their
own usual level and spread (``flags.detect``), learnt from their reference days (the days
before the last ``MONITOR_DAYS``), and adds up the evidence of a fall over the monitored days
(a one-sided CUSUM). Thresholds a clinic may change are in ``FlagSettings`` (sensitivity,
minimum data); the statistics' constants are here, documented in docs/flags.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from . import detect, wording
from .findings import PARTNERSHIP, RATINGS, STEPS, Finding, evidence, percent, window
from .models import FlagSettings, Rule, Sensitivity, Severity

LOOKBACK_DAYS = 70  # days read per patient, ending as_of
MONITOR_DAYS = 14  # the last days, where a fall is looked for; the days before are the usual
CLIP = 3.0  # no single day adds more than this many spreads (one bad day is not a fall)

# Per signal: the spread floor (a patient who is always at 100 % still varies a little), the
# smallest fall worth a call (the mean of the monitored run below the usual level), the CUSUM
# allowance k (in usual spreads: half the fall it is tuned to, Moustakides 1986) and decision
# interval h at "balanced" sensitivity (docs/flags.md).
ADHERENCE_FLOOR, ADHERENCE_MIN_FALL, ADHERENCE_K, ADHERENCE_H = 0.15, 0.20, 0.75, 5.0
RATINGS_FLOOR, RATINGS_MIN_FALL, RATINGS_K, RATINGS_H = 0.7, 0.75, 0.75, 4.5
PARTNERSHIP_FLOOR, PARTNERSHIP_MIN_FALL, PARTNERSHIP_K, PARTNERSHIP_H = 0.75, 1.5, 1.5, 0.75
# Gone quiet: the chance of a gap this long for a patient logging as they usually do.
QUIET_MIN_DAYS = 3
QUIET_CHANCE = 0.002
QUIET_CONFIDENCE = 0.90
# Sensitivity scales every decision interval (and the quiet chance).
SENSITIVITY_SCALE = {Sensitivity.EARLIER: 0.8, Sensitivity.BALANCED: 1.0,
                     Sensitivity.FEWER: 1.25}

# Expected adherence to topical regimens by plan week (Carroll et al. 2004, PMID 15280839:
# ~85 % in week 1 to ~50 % by week 8, flat after): a patient's usual level is moved along it.
CURVE_WEEK1, CURVE_FINAL, CURVE_FINAL_WEEK = 85.0, 50.0, 8
CURVE_SOURCE = "Carroll et al. 2004, PMID 15280839"
# The patient's own reference trend is taken one standard error steeper than estimated: a
# patient following the curve with noisy days is not judged against a flatter line.
SLOPE_Z = 1.0

# Severity cut-offs (docs/flags.md).
ADHERENCE_HIGH_FALL_POINTS = 40
ADHERENCE_HIGH_BELOW_PERCENT = 25
SATISFACTION_HIGH_MAX = 1
PARTNERSHIP_HIGH_AT_MOST = 3
PARTNERSHIP_HIGH_FALL = 4
QUIET_MEDIUM_DAYS = 7


@dataclass
class Histories:
    """A chunk's patients, ``LOOKBACK_DAYS`` columns ending ``as_of`` (patient-local).

    ``adherence``: steps done ÷ due of each logged day with steps due (NaN otherwise);
    ``partnership``: the week's partnership answer, or a full pulse's mean answer (0-10);
    ``restart``: per rule, the column of the day its last flag was resolved (-1: none): a
    rule's evidence is only counted after it, so a reviewed flag is not raised again on the
    same fall."""

    as_of: date
    patient_ids: list[int]
    plan_starts: list[date]
    logged: np.ndarray
    done: np.ndarray
    due: np.ndarray
    adherence: np.ndarray
    ratings: np.ndarray
    partnership: np.ndarray
    checkin_ids: np.ndarray
    questions: dict[tuple[int, int], str] = field(default_factory=dict)
    # CheckIn.updated_at by id, of (at least) the check-ins behind the verdicts: read after
    # the rules, for the few rows they fire on (``checkins_behind``).
    saved: dict[int, datetime] = field(default_factory=dict)
    restart: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def start(self) -> date:
        return lookback_start(self.as_of)

    def day(self, col: int) -> date:
        return self.start + timedelta(days=int(col))

    def col(self, day: date) -> int:
        return (day - self.start).days

    def restart_of(self, rule: str) -> np.ndarray:
        return self.restart.get(rule, np.full(len(self.patient_ids), -1))


@dataclass(frozen=True)
class Verdict:
    """A rule's decision about one patient (row), before the check-ins behind it are named:
    ``cols``: the days whose check-ins the evidence is about."""

    rule: str
    severity: int
    title: str
    summary: str
    windows: list[dict[str, str]]
    numbers: dict[str, Any]
    cols: tuple[int, ...]
    newest: date  # the newest data behind it (alliance at risk pairs recent findings)


def lookback_start(as_of: date) -> date:
    return as_of - timedelta(days=LOOKBACK_DAYS - 1)


def checkins_behind(h: Histories, verdicts: dict[int, list[Verdict]]) -> list[int]:
    """The ids of the check-ins the verdicts' evidence names."""
    return sorted({int(pk) for row, found in verdicts.items() for verdict in found
                   for pk in h.checkin_ids[row, list(verdict.cols)] if pk})


def local_yesterday(now: datetime, zone: Any) -> date:
    return now.astimezone(zone).date() - timedelta(days=1)


def _h(base: float, s: FlagSettings) -> float:
    return base * SENSITIVITY_SCALE[s.sensitivity]


def _day(d: date) -> str:
    return f"{d:%-d %b}"


def _pct(value: float) -> int:
    return round(100 * value)


# --- Evaluate a chunk ------------------------------------------------------------------------


def evaluate(h: Histories, s: FlagSettings) -> dict[int, list[Verdict]]:
    """Every rule over every row: {row: verdicts}. The statistics run on all rows at once;
    evidence is written only for the rows a rule fires on."""
    found: dict[int, list[Verdict]] = {}
    for verdicts in (adherence_fell(h, s), satisfaction_fell(h, s), partnership_fell(h, s),
                     gone_quiet(h, s)):
        for row, verdict in verdicts:
            found.setdefault(row, []).append(verdict)
    return found


def _reference(values: np.ndarray) -> np.ndarray:
    return values[:, : LOOKBACK_DAYS - MONITOR_DAYS]


FIRST_MONITORED = LOOKBACK_DAYS - MONITOR_DAYS


def _run(values: np.ndarray, row: int, start: int) -> list[int]:
    """The columns of the run (from ``start`` to the end) that hold a value."""
    return [col for col in range(start, values.shape[1]) if not np.isnan(values[row, col])]


# --- 1. Adherence fell ---------------------------------------------------------------------


def expected_percent(week: int) -> float:
    """Expected adherence (%) in plan week ``week`` (1-based): linear from 85 % in week 1 to
    50 % in week 8, flat after (Carroll et al. 2004)."""
    if week >= CURVE_FINAL_WEEK:
        return CURVE_FINAL
    fall = (CURVE_WEEK1 - CURVE_FINAL) * (max(week, 1) - 1) / (CURVE_FINAL_WEEK - 1)
    return CURVE_WEEK1 - fall


def plan_week(starts_on: date, day: date) -> int:
    return max((day - starts_on).days // 7 + 1, 1)


def curve_by_day(h: Histories) -> np.ndarray:
    """Per row and column: the published curve's expected adherence (a share) on that day of
    the patient's plan (``expected_percent`` of its plan week)."""
    start = np.array([(starts - h.start).days for starts in h.plan_starts])
    week = np.maximum((np.arange(LOOKBACK_DAYS)[None, :] - start[:, None]) // 7 + 1, 1)
    fall = (CURVE_WEEK1 - CURVE_FINAL) * (np.minimum(week, CURVE_FINAL_WEEK) - 1) / (
        CURVE_FINAL_WEEK - 1)
    return (CURVE_WEEK1 - fall) / 100


def _reference_weighted_mean(h: Histories, values: np.ndarray) -> np.ndarray:
    """Per row: the mean of ``values`` (one per column, or per row and column) over the
    reference days, weighted by the steps due on each (as the pooled usual level is)."""
    weights = np.nan_to_num(_reference(h.due))
    values = np.broadcast_to(values, h.due.shape)[:, :FIRST_MONITORED]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (weights * values).sum(axis=1) / weights.sum(axis=1)


def expected_adherence(h: Histories, usual_level: np.ndarray) -> np.ndarray:
    """Per row and day: the adherence expected of the patient. Their usual level, moved by the
    fall they were already on in their reference days (their trend, taken at its steepest
    plausible value), but never by more than the published curve expects between their
    reference days and that day of their plan (Carroll et al. 2004): a patient who follows
    the curve is not 'falling', a steady patient who starts to slide is, and a patient
    already sliding faster than the curve is judged against the curve."""
    trend = detect.slope(_reference(h.adherence))
    steepest = np.minimum(np.nan_to_num(trend.value - SLOPE_Z * trend.error), 0.0)
    columns = np.arange(LOOKBACK_DAYS, dtype=float)
    reference_mid = _reference_weighted_mean(h, columns)
    own = steepest[:, None] * (columns[None, :] - reference_mid[:, None])
    curve = curve_by_day(h)
    by_curve = curve - _reference_weighted_mean(h, curve)[:, None]
    return usual_level[:, None] + np.maximum(own, np.minimum(by_curve, 0.0))


def adherence_fell(h: Histories, s: FlagSettings) -> list[tuple[int, Verdict]]:
    ref_done = _reference(h.done).sum(axis=1)
    ref_due = _reference(h.due).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.where(ref_due > 0, ref_done / ref_due, np.nan)
    usual = detect.usual(_reference(h.adherence), floor=ADHERENCE_FLOOR, mean=pooled)
    enough = usual.count >= s.min_usual_logged_days
    expected = expected_adherence(h, np.where(enough, pooled, np.nan))
    cusum = detect.cusum_below(h.adherence, expected=expected, scale=usual.scale,
                               k=ADHERENCE_K,
                               first_col=FIRST_MONITORED,
                               restart_after=h.restart_of(Rule.ADHERENCE_DROP), clip=CLIP)
    threshold = _h(ADHERENCE_H, s)
    out = []
    for row in np.flatnonzero(cusum.score >= threshold):
        cols = _run(h.adherence, row, int(cusum.run_start[row]))
        done, due = int(h.done[row, cols].sum()), int(h.due[row, cols].sum())
        if len(cols) < 2 or np.mean(expected[row, cols]) - done / due < ADHERENCE_MIN_FALL:
            continue
        out.append((int(row), _adherence_verdict(h, s, int(row), cols, usual,
                                                 float(np.mean(expected[row, cols])),
                                                 float(cusum.score[row]), threshold)))
    return out


def _adherence_verdict(h: Histories, s: FlagSettings, row: int, cols: list[int],
                       usual: detect.Usual, expected: float, score: float, threshold: float
                       ) -> Verdict:
    ref_cols = [c for c in range(FIRST_MONITORED) if not np.isnan(h.adherence[row, c])]
    ref_done = int(h.done[row, ref_cols].sum())
    ref_due = int(h.due[row, ref_cols].sum())
    usual_pct = percent(ref_done, ref_due)
    sd = float(usual.sd[row])
    low, high = max(_pct(usual.mean[row] - sd), 0), min(_pct(usual.mean[row] + sd), 100)
    done, due = int(h.done[row, cols].sum()), int(h.due[row, cols].sum())
    run_pct = percent(done, due)
    below = sum(1 for c in cols if _pct(h.adherence[row, c]) < low)
    week = [c for c in range(LOOKBACK_DAYS - 7, LOOKBACK_DAYS) if h.logged[row, c]]
    week_done, week_due = int(h.done[row, week].sum()), int(h.due[row, week].sum())
    week_pct = percent(week_done, week_due)
    since = h.day(cols[0])
    fall = round(float(usual_pct) - float(run_pct), 1)
    expected_pct = round(100 * expected, 1)
    numbers = {
        "usual_percent": usual_pct, "usual_range": [low, high],
        "usual_logged_days": len(ref_cols), "usual_steps": [ref_done, ref_due],
        "expected_percent": expected_pct, "since": since.isoformat(),
        "run_percent": run_pct, "run_logged_days": len(cols),
        "run_below_range_days": below, "run_steps": [done, due], "fall_points": fall,
        "last_7_percent": week_pct, "last_7_logged_days": len(week),
        "score": round(score, 1), "threshold": round(threshold, 1),
        "sensitivity": s.sensitivity, "curve_source": CURVE_SOURCE,
    }
    severity = Severity.HIGH if fall >= ADHERENCE_HIGH_FALL_POINTS or (
        run_pct < ADHERENCE_HIGH_BELOW_PERCENT) else Severity.MEDIUM
    return Verdict(
        rule=Rule.ADHERENCE_DROP, severity=severity, title="Adherence fell",
        summary=wording.english_summary(Rule.ADHERENCE_DROP, numbers),
        windows=[window("usual", h.day(ref_cols[0]), h.day(ref_cols[-1]), signal=STEPS),
                 window(f"since {_day(since)}", since, h.as_of, signal=STEPS)],
        numbers=numbers,
        cols=tuple(cols), newest=h.day(cols[-1]),
    )


# --- 2. Satisfaction and 3. partnership fell ------------------------------------------------------


@dataclass(frozen=True)
class _Scale:
    rule: str
    floor: float
    min_fall: float
    k: float
    h: float
    minimum: str  # the FlagSettings field: values needed to learn the usual level
    out_of: int
    signal: str


SATISFACTION = _Scale(Rule.SATISFACTION_DROP, RATINGS_FLOOR, RATINGS_MIN_FALL, RATINGS_K,
                      RATINGS_H, "min_usual_ratings", 5, RATINGS)
PARTNERSHIP_SCALE = _Scale(Rule.ALLIANCE_DROP, PARTNERSHIP_FLOOR, PARTNERSHIP_MIN_FALL,
                           PARTNERSHIP_K, PARTNERSHIP_H, "min_usual_answers", 10, PARTNERSHIP)


def satisfaction_fell(h: Histories, s: FlagSettings) -> list[tuple[int, Verdict]]:
    return _scale_fell(h, s, h.ratings, SATISFACTION)


def partnership_fell(h: Histories, s: FlagSettings) -> list[tuple[int, Verdict]]:
    return _scale_fell(h, s, h.partnership, PARTNERSHIP_SCALE)


def _scale_fell(h: Histories, s: FlagSettings, values: np.ndarray, scale: _Scale
                ) -> list[tuple[int, Verdict]]:
    usual = detect.usual(_reference(values), floor=scale.floor)
    enough = usual.count >= getattr(s, scale.minimum)
    expected = np.where(enough, usual.mean, np.nan)
    cusum = detect.cusum_below(values, expected=expected, scale=usual.scale, k=scale.k,
                               first_col=FIRST_MONITORED,
                               restart_after=h.restart_of(scale.rule))
    threshold = _h(scale.h, s)
    out = []
    for row in np.flatnonzero(cusum.score >= threshold):
        cols = _run(values, row, int(cusum.run_start[row]))
        run_mean = float(np.mean(values[row, cols]))
        if expected[row] - run_mean < scale.min_fall:
            continue
        out.append((int(row), _scale_verdict(h, s, int(row), values, cols, usual, scale,
                                             float(cusum.score[row]), threshold)))
    return out


def _scale_verdict(h: Histories, s: FlagSettings, row: int, values: np.ndarray,
                   cols: list[int], usual: detect.Usual, scale: _Scale, score: float,
                   threshold: float) -> Verdict:
    ref_cols = [c for c in range(FIRST_MONITORED) if not np.isnan(values[row, c])]
    mean, sd = float(usual.mean[row]), float(usual.sd[row])
    low, high = max(round(mean - sd, 1), 0.0), min(round(mean + sd, 1), float(scale.out_of))
    run = [float(values[row, c]) for c in cols]
    run_mean = round(sum(run) / len(run), 2)
    below = sum(1 for v in run if v < low)
    since, latest = h.day(cols[0]), h.day(cols[-1])
    usual_mean = round(mean, 2)
    if scale.rule == Rule.SATISFACTION_DROP:
        title = "Satisfaction fell"
        severity = Severity.HIGH if max(run) <= SATISFACTION_HIGH_MAX else Severity.MEDIUM
    else:
        title = "Partnership fell"
        severity = Severity.HIGH if max(run) <= PARTNERSHIP_HIGH_AT_MOST or (
            mean - run_mean >= PARTNERSHIP_HIGH_FALL) else Severity.MEDIUM
    numbers: dict[str, Any] = {
        "usual_mean": usual_mean, "usual_range": [low, high], "usual_count": len(ref_cols),
        "out_of": scale.out_of, "since": since.isoformat(), "run_values": run,
        "run_dates": [h.day(c).isoformat() for c in cols], "run_mean": run_mean,
        "run_below_range": below, "fall": round(usual_mean - run_mean, 2),
        "newest_date": latest.isoformat(), "score": round(score, 1),
        "threshold": round(threshold, 1), "sensitivity": s.sensitivity,
    }
    if scale.rule == Rule.ALLIANCE_DROP:
        numbers["run_questions"] = [h.questions.get((row, c), "pulse") for c in cols]
    return Verdict(
        rule=scale.rule, severity=severity, title=title,
        summary=wording.english_summary(scale.rule, numbers),
        windows=[window("usual", h.day(ref_cols[0]), h.day(ref_cols[-1]), signal=scale.signal),
                 window(f"since {_day(since)}", since, h.as_of, signal=scale.signal)],
        numbers=numbers, cols=tuple(cols), newest=latest,
    )


# --- 4. Stopped checking in --------------------------------------------------------------------


def gone_quiet(h: Histories, s: FlagSettings) -> list[tuple[int, Verdict]]:
    """No check-in for a run of days that this patient, logging as they usually do, would
    almost never leave: longer than their longest gap in the reference days, and with a
    chance ``(1 - rate)^days`` under ``QUIET_CHANCE`` at a low bound of their logging rate."""
    gap = detect.trailing_gap(h.logged)
    last = LOOKBACK_DAYS - 1 - gap  # the last logged column (-1 when none)
    first = np.argmax(h.logged, axis=1)  # the first check-in read
    days = np.maximum(last - first + 1, 0)
    logged_days = h.logged.sum(axis=1)
    rate_low = detect.logging_rate_low(logged_days, days, confidence=QUIET_CONFIDENCE)
    longest = detect.longest_gap(h.logged, first=first, last=last)
    with np.errstate(divide="ignore"):
        chance = np.power(1 - rate_low, gap)
    restart = h.restart_of(Rule.GONE_QUIET)
    allowed = QUIET_CHANCE / SENSITIVITY_SCALE[s.sensitivity] ** 4
    fires = ((gap >= QUIET_MIN_DAYS) & (gap > longest) & (chance <= allowed)
             & (logged_days >= s.min_usual_logged_days) & (last > restart) & (last >= 0))
    out = []
    for row in np.flatnonzero(fires):
        out.append((int(row), _quiet_verdict(h, s, int(row), int(gap[row]), int(last[row]),
                                             int(first[row]), int(longest[row]),
                                             float(chance[row]))))
    return out


def _quiet_verdict(h: Histories, s: FlagSettings, row: int, gap: int, last: int, first: int,
                   longest: int, chance: float) -> Verdict:
    logged = int(h.logged[row].sum())
    days = last - first + 1
    usual_pct = round(100 * logged / days)
    last_day = h.day(last)
    week = [c for c in range(max(first, last - 6), last + 1) if h.logged[row, c]]
    numbers = {
        "gap_days": gap, "last_checkin_date": last_day.isoformat(),
        "usual_logged_percent": usual_pct, "usual_logged_days": logged,
        "usual_days": days, "longest_gap_before": longest,
        "chance_percent": round(100 * chance, 3), "sensitivity": s.sensitivity,
    }
    return Verdict(
        rule=Rule.GONE_QUIET,
        severity=Severity.MEDIUM if gap >= QUIET_MEDIUM_DAYS else Severity.LOW,
        title="Stopped checking in", summary=wording.english_summary(Rule.GONE_QUIET, numbers),
        windows=[window("usual", h.day(first), last_day, signal=STEPS),
                 window("days without a check-in", last_day + timedelta(days=1), h.as_of,
                        signal=STEPS)],
        numbers=numbers,
        cols=tuple(week), newest=h.as_of,
    )


# --- Findings ----------------------------------------------------------------------------------


def finding(patient_id: int, verdict: Verdict, as_of: date, checkin_ids: Sequence[int],
            evidence_at: datetime) -> Finding:
    return Finding(
        patient_id=patient_id, rule=verdict.rule, severity=verdict.severity,
        evidence=evidence(rule=verdict.rule, title=verdict.title, summary=verdict.summary,
                          as_of=as_of, windows=verdict.windows, numbers=verdict.numbers,
                          checkin_ids=list(checkin_ids)),
        evidence_at=evidence_at,
    )


def findings_of(h: Histories, verdicts: dict[int, list[Verdict]], s: FlagSettings
                ) -> list[Finding]:
    """The findings of a chunk: each verdict with the check-ins behind it (ids, and the
    newest save among them), plus the alliance-at-risk finding they make together."""
    findings: list[Finding] = []
    for row, found in verdicts.items():
        made = []
        for verdict in found:
            cols = list(verdict.cols)
            ids = [int(pk) for pk in h.checkin_ids[row, cols] if pk]
            at = max((h.saved[pk] for pk in ids), default=datetime.combine(
                h.as_of, datetime.min.time(), UTC))
            made.append((finding(h.patient_ids[row], verdict, h.as_of, ids, at),
                         verdict.newest))
        findings += with_at_risk(made, h.as_of, s)
    return order(findings)


# --- 5. Alliance at risk -------------------------------------------------------------------------

_COMPANIONS = (Rule.SATISFACTION_DROP, Rule.ALLIANCE_DROP)


def alliance_at_risk(found: Sequence[tuple[Finding, date]], as_of: date, s: FlagSettings
                     ) -> Finding | None:
    """An adherence finding together with a satisfaction or partnership finding whose newest
    data is at most ``at_risk_within_days`` days before ``as_of``. Always high."""
    by_rule = {f.rule: (f, newest) for f, newest in found}
    if Rule.ADHERENCE_DROP not in by_rule:
        return None
    companions = [by_rule[rule] for rule in _COMPANIONS if rule in by_rule
                  and (as_of - by_rule[rule][1]).days <= s.at_risk_within_days]
    if not companions:
        return None
    parts = [by_rule[Rule.ADHERENCE_DROP][0], *(f for f, _ in companions)]
    titles = [f.evidence["title"] for f in parts]
    numbers = {
        "components": [f.rule for f in parts], "component_titles": titles,
        "component_summaries": [f.evidence["summary"] for f in parts],
        # The parts' numbers, so each part's sentence is written in the reader's language.
        "component_numbers": [f.evidence["numbers"] for f in parts],
        "component_severities": [f.severity for f in parts],
        "newest_component_data": {f.rule: newest.isoformat() for f, newest in companions},
        "within_days": s.at_risk_within_days,
    }
    return Finding(
        patient_id=parts[0].patient_id, rule=Rule.ALLIANCE_AT_RISK, severity=Severity.HIGH,
        evidence=evidence(
            rule=Rule.ALLIANCE_AT_RISK, title="Alliance at risk",
            summary=wording.english_summary(Rule.ALLIANCE_AT_RISK, numbers), as_of=as_of,
            windows=[w for f in parts for w in f.evidence["windows"]],
            numbers=numbers,
            checkin_ids=sorted({pk for f in parts for pk in f.evidence["checkin_ids"]}),
        ),
        evidence_at=max(f.evidence_at for f in parts),
    )


def with_at_risk(found: list[tuple[Finding, date]], as_of: date, s: FlagSettings
                 ) -> list[Finding]:
    """One patient's findings plus the at-risk finding they make together, if any."""
    findings = [f for f, _ in found]
    if len(found) < 2:
        return findings
    at_risk = alliance_at_risk(found, as_of, s)
    return [*findings, at_risk] if at_risk is not None else findings


# --- 6. Missed injection (or dated task) ------------------------------------------------------


def missed_dose_finding(patient_id: int, doses: Sequence[Any], as_of: date,
                        checkin_ids: Sequence[int], evidence_at: datetime) -> Finding:
    """One patient's doses (``checkins.selectors.MissedDose``) whose window closed in the
    last ``MONITOR_DAYS`` days without being logged done. An injection is at least medium, a
    dated task (a blood test, a repeat prescription) low; two or more missed are high.
    ``evidence_at``: when the newest of those windows closed (a flag resolved after that is
    raised again only by a later missed dose)."""
    doses = sorted(doses, key=lambda d: (d.last_day, d.name))
    injection = any(d.kind == "injection" for d in doses)
    title = "Missed injection" if injection else "Missed dated task"
    numbers = {
        "doses": [{"item": d.name, "kind": d.kind, "slot": d.slot,
                   "scheduled_on": d.scheduled_on.isoformat(),
                   "last_day": d.last_day.isoformat()} for d in doses],
        "missed_count": len(doses), "monitor_days": MONITOR_DAYS,
    }
    severity = (Severity.HIGH if len(doses) > 1
                else Severity.MEDIUM if injection else Severity.LOW)
    return Finding(
        patient_id=patient_id, rule=Rule.MISSED_DOSE, severity=severity,
        evidence=evidence(
            rule=Rule.MISSED_DOSE, title=title,
            summary=wording.english_summary(Rule.MISSED_DOSE, numbers), as_of=as_of,
            windows=[window(f"window of the {_day(d.scheduled_on)} dose", d.scheduled_on,
                            d.last_day, signal=STEPS) for d in doses],
            numbers=numbers,
            checkin_ids=list(checkin_ids),
        ),
        evidence_at=evidence_at,
    )


def order(findings: list[Finding]) -> list[Finding]:
    """A stable order (tests compare findings)."""
    return sorted(findings, key=lambda f: (f.patient_id, f.rule))
