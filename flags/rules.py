"""The rules, decided on plain numbers: no queries here.

Both evaluators (``flags.sweep``, set-based, and ``flags.naive``, per patient) gather the same
numbers their own way and hand them to these functions, so the decisions, severities and
evidence cannot drift apart. Thresholds come from the clinic's ``FlagSettings``; the severity
cut-offs are constants here (documented in docs/flags.md).

Dates are patient-local. ``as_of`` is the patient's local yesterday: the last full day that
may hold data (today may not be logged yet). Windows are inclusive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from .findings import PULSES, RATINGS, STEPS, Finding, evidence, percent, window
from .models import FlagSettings, Rule, Severity

# Severity cut-offs (points are percentage points; see docs/flags.md).
ADHERENCE_HIGH_DROP_POINTS = 40
ADHERENCE_HIGH_BELOW_PERCENT = 25
BELOW_EXPECTED_MEDIUM_POINTS = 30
SATISFACTION_HIGH_MAX = 1
ALLIANCE_HIGH_BELOW = 20
ALLIANCE_HIGH_DROP_POINTS = 10
ALLIANCE_OUT_OF = 40


@dataclass(frozen=True)
class Counts:
    """Check-ins of one window: steps done and due (summed), days logged."""

    done: int = 0
    due: int = 0
    logged: int = 0

    @property
    def percent(self) -> float | None:
        return percent(self.done, self.due)


@dataclass(frozen=True)
class Verdict:
    """A rule's decision about one patient, before the check-ins behind it are attached.

    ``id_ranges``: the local-date windows whose check-ins are the evidence (rules on
    adherence and logging); the other rules name their check-ins themselves.
    """

    rule: str
    severity: int
    title: str  # what happened, by the branch of the rule that fired ("Satisfaction fell")
    summary: str
    windows: list[dict[str, str]]
    numbers: dict[str, Any]
    id_ranges: tuple[tuple[date, date], ...] = field(default=())


# --- Windows -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Windows:
    """The date windows of one evaluation (patient-local, inclusive)."""

    as_of: date
    recent: tuple[date, date]
    baseline: tuple[date, date]
    quiet: tuple[date, date]
    prior: tuple[date, date]


def windows_for(as_of: date, s: FlagSettings) -> Windows:
    recent_start = as_of - timedelta(days=s.recent_days - 1)
    quiet_start = as_of - timedelta(days=s.quiet_days - 1)
    return Windows(
        as_of=as_of,
        recent=(recent_start, as_of),
        baseline=(recent_start - timedelta(days=s.baseline_days), recent_start - timedelta(1)),
        quiet=(quiet_start, as_of),
        prior=(quiet_start - timedelta(days=s.quiet_prior_days), quiet_start - timedelta(1)),
    )


def plan_weeks_days(s: FlagSettings) -> int:
    """Days before ``as_of`` the compared plan weeks may start (the last complete one ends at
    most 6 days before ``as_of``)."""
    return 7 * s.expected_consecutive_weeks + 5


def lookback_days(s: FlagSettings) -> int:
    """Days before ``as_of`` that any window-based rule looks at (the evaluators' lower bound)."""
    return max(s.recent_days + s.baseline_days - 1, s.quiet_days + s.quiet_prior_days - 1,
               plan_weeks_days(s))


def local_yesterday(now: datetime, zone: Any) -> date:
    return now.astimezone(zone).date() - timedelta(days=1)


def _iso_range(start: date, end: date) -> str:
    return f"{start:%-d %b} to {end:%-d %b %Y}"


def _tenths(value: float) -> int:
    """A one-decimal percentage as whole tenths, so threshold comparisons are exact."""
    return round(value * 10)


# --- 1. Adherence drop -------------------------------------------------------------------


def adherence_drop_severity(recent_percent: float, drop_points: float | None) -> int:
    """Medium; high when the drop is >= 40 points or recent adherence is below 25 %."""
    if (drop_points is not None and drop_points >= ADHERENCE_HIGH_DROP_POINTS) or (
        recent_percent < ADHERENCE_HIGH_BELOW_PERCENT
    ):
        return Severity.HIGH
    return Severity.MEDIUM


def adherence_drop(recent: Counts, baseline: Counts, w: Windows, s: FlagSettings
                   ) -> Verdict | None:
    """Recent adherence at least ``adherence_drop_points`` below the baseline (enough days
    logged in both), or below ``adherence_floor_percent`` (enough recent days logged).
    Decided on the one-decimal percentages the evidence shows."""
    recent_pct, baseline_pct = recent.percent, baseline.percent
    if recent.logged < s.adherence_min_recent_logged or recent_pct is None:
        return None
    drop_tenths = None
    if baseline.logged >= s.adherence_min_baseline_logged and baseline_pct is not None:
        drop_tenths = _tenths(baseline_pct) - _tenths(recent_pct)
    drop = drop_tenths / 10 if drop_tenths is not None else None
    # A fall is a fall: never an equal or a higher number, whatever the threshold is set to.
    dropped = drop_tenths is not None and drop_tenths > 0 and \
        drop_tenths >= s.adherence_drop_points * 10
    below_floor = _tenths(recent_pct) < s.adherence_floor_percent * 10
    if not (dropped or below_floor):
        return None
    recent_text = f"{recent_pct:g}% in the last {s.recent_days} days ({recent.logged} days logged)"
    baseline_text = "" if baseline_pct is None else \
        f"{baseline_pct:g}% in the {s.baseline_days} days before ({baseline.logged} logged)"
    if dropped:
        title = "Adherence fell"
        summary = f"Adherence fell {drop:g} points, from {baseline_text} to {recent_text}."
    else:
        # Compared with the baseline (enough days logged) and that was under the floor too.
        stayed = drop is not None and _tenths(baseline_pct) < s.adherence_floor_percent * 10
        title = "Adherence has stayed low" if stayed else "Adherence is low"
        summary = f"Adherence under {s.adherence_floor_percent}%: {recent_text}"
        summary += f", {baseline_text}." if baseline_text else "."
    return Verdict(
        rule=Rule.ADHERENCE_DROP, severity=adherence_drop_severity(recent_pct, drop),
        title=title, summary=summary,
        windows=[window(f"last {s.recent_days} days", *w.recent, signal=STEPS),
                 window(f"the {s.baseline_days} days before", *w.baseline, signal=STEPS)],
        numbers={
            "recent_percent": recent_pct, "baseline_percent": baseline_pct,
            "drop_points": drop, "recent_logged_days": recent.logged,
            "baseline_logged_days": baseline.logged,
            "recent_steps": [recent.done, recent.due], "baseline_steps": [baseline.done,
                                                                         baseline.due],
            "triggered_by": [name for name, hit in (("drop", dropped), ("floor", below_floor))
                             if hit],
            "drop_threshold_points": s.adherence_drop_points,
            "floor_percent": s.adherence_floor_percent,
            "min_recent_logged": s.adherence_min_recent_logged,
            "min_baseline_logged": s.adherence_min_baseline_logged,
        },
        id_ranges=((w.baseline[0], w.recent[1]),),
    )


# --- 2. Below the expected curve ---------------------------------------------------------


def expected_percent(week: int, s: FlagSettings) -> float:
    """Expected adherence in plan week ``week`` (1-based) for topical regimens: linear from
    ``expected_week1_percent`` in week 1 to ``expected_final_percent`` in
    ``expected_final_week``, flat after (Carroll et al. 2004, PMID 15280839)."""
    if week >= s.expected_final_week:
        return float(s.expected_final_percent)
    span = max(s.expected_final_week - 1, 1)
    fall = (s.expected_week1_percent - s.expected_final_percent) * (max(week, 1) - 1) / span
    return round(s.expected_week1_percent - fall, 1)


def below_curve_bar(week: int, s: FlagSettings) -> int:
    """The one-decimal adherence, in tenths, that plan week ``week`` must be under to be more
    than ``expected_margin_points`` below the curve (exactly the margin does not count)."""
    return _tenths(expected_percent(week, s)) - s.expected_margin_points * 10


def complete_plan_weeks(starts_on: date, as_of: date) -> int:
    """Plan weeks (week 1 = the 7 days from ``starts_on``) that ended on or before ``as_of``."""
    return max(((as_of - starts_on).days + 1) // 7, 0)


def plan_week_range(starts_on: date, week: int) -> tuple[date, date]:
    start = starts_on + timedelta(days=7 * (week - 1))
    return start, start + timedelta(days=6)


def compared_plan_weeks(starts_on: date, as_of: date, s: FlagSettings) -> list[int]:
    """The last ``expected_consecutive_weeks`` complete plan weeks, oldest first ([] if the
    plan is too young)."""
    last = complete_plan_weeks(starts_on, as_of)
    first = last - s.expected_consecutive_weeks + 1
    return list(range(first, last + 1)) if first >= 1 else []


def below_expected_severity(latest_below_points: float) -> int:
    """Low; medium when the latest week is more than 30 points below the curve."""
    return Severity.MEDIUM if latest_below_points > BELOW_EXPECTED_MEDIUM_POINTS else \
        Severity.LOW


def below_expected(starts_on: date, weeks: Sequence[tuple[int, Counts]], as_of: date,
                   s: FlagSettings) -> Verdict | None:
    """``weeks``: (plan week, its counts) for ``compared_plan_weeks``, oldest first. Flag when
    each is logged on enough days and more than ``expected_margin_points`` below the curve."""
    if not weeks or len(weeks) < s.expected_consecutive_weeks:
        return None
    rows = []
    for week, counts in weeks:
        actual = counts.percent
        if counts.logged < s.expected_min_logged_days or actual is None:
            return None
        if _tenths(actual) >= below_curve_bar(week, s):
            return None
        expected = expected_percent(week, s)
        below = (_tenths(expected) - _tenths(actual)) / 10
        rows.append({"week": week, "percent": actual, "expected_percent": expected,
                     "below_points": below, "logged_days": counts.logged,
                     "steps": [counts.done, counts.due]})
    ranges = tuple(plan_week_range(starts_on, week) for week, _ in weeks)
    described = ", ".join(f"{r['percent']:g}% in plan week {r['week']} "
                          f"(expected {r['expected_percent']:g}%)" for r in rows)
    return Verdict(
        rule=Rule.BELOW_EXPECTED, severity=below_expected_severity(rows[-1]["below_points"]),
        title="Adherence below the expected curve",
        summary=f"Adherence {described}: more than {s.expected_margin_points} points below "
                f"the expected curve.",
        windows=[window(f"plan week {week}", *rng, signal=STEPS)
                 for (week, _), rng in zip(weeks, ranges, strict=True)],
        numbers={
            "weeks": rows, "plan_starts_on": starts_on.isoformat(),
            "margin_points": s.expected_margin_points,
            "min_logged_days": s.expected_min_logged_days,
            "curve": {"week1_percent": s.expected_week1_percent,
                      "final_percent": s.expected_final_percent,
                      "final_week": s.expected_final_week,
                      "source": "Carroll et al. 2004, PMID 15280839"},
        },
        id_ranges=ranges,
    )


# --- 3. Satisfaction drop ----------------------------------------------------------------


@dataclass(frozen=True)
class Ratings:
    """The latest ratings up to ``as_of``: the last ``satisfaction_recent_count`` and the up
    to ``satisfaction_previous_count`` before them (sums, counts, the dates they span)."""

    last_sum: int
    last_count: int
    last_max: int
    last_first: date
    latest: date
    previous_sum: int = 0
    previous_count: int = 0
    previous_first: date | None = None
    previous_last: date | None = None

    @classmethod
    def from_newest_first(cls, rated: Sequence[tuple[date, int]], s: FlagSettings
                          ) -> Ratings | None:
        """From (local date, rating) pairs, newest first (the per-patient form)."""
        last = rated[: s.satisfaction_recent_count]
        previous = rated[s.satisfaction_recent_count:
                         s.satisfaction_recent_count + s.satisfaction_previous_count]
        if not last:
            return None
        return cls(
            last_sum=sum(r for _, r in last), last_count=len(last),
            last_max=max(r for _, r in last), last_first=last[-1][0], latest=last[0][0],
            previous_sum=sum(r for _, r in previous), previous_count=len(previous),
            previous_first=previous[-1][0] if previous else None,
            previous_last=previous[0][0] if previous else None,
        )


def satisfaction_drop_severity(last_max: int) -> int:
    """Medium; high when the last ratings are all 1."""
    return Severity.HIGH if last_max <= SATISFACTION_HIGH_MAX else Severity.MEDIUM


def satisfaction_drop(r: Ratings | None, as_of: date, s: FlagSettings) -> Verdict | None:
    """The mean of the last ratings at least ``satisfaction_drop`` below the mean of the ones
    before, or all of the last ratings <= ``satisfaction_low``. Means compared exactly (not
    the rounded means the evidence shows)."""
    if r is None or r.last_count < s.satisfaction_recent_count:
        return None
    # last_sum/last_count <= previous_sum/previous_count - drop, in whole tenths (exact), and
    # strictly lower: a fall is a fall, whatever the threshold is set to.
    drop_tenths = round(s.satisfaction_drop * 10)
    dropped = r.previous_count > 0 and (
        10 * r.last_sum * r.previous_count
        <= 10 * r.previous_sum * r.last_count - drop_tenths * r.last_count * r.previous_count
    ) and r.last_sum * r.previous_count < r.previous_sum * r.last_count
    low = r.last_max <= s.satisfaction_low
    if not (dropped or low):
        return None
    last_mean = round(r.last_sum / r.last_count, 2)
    previous_mean = round(r.previous_sum / r.previous_count, 2) if r.previous_count else None
    last_text = f"{last_mean:g}/5 over the last {r.last_count} ratings"
    previous_text = "" if previous_mean is None else \
        f"{previous_mean:g}/5 over the {r.previous_count} ratings before"
    if dropped:
        title = "Satisfaction fell"
        summary = f"Mean satisfaction fell from {previous_text} to {last_text}."
    else:
        # The ratings before were low on average too (exact: sum <= low x count).
        stayed = r.previous_count > 0 and r.previous_sum <= s.satisfaction_low * r.previous_count
        title = "Satisfaction has stayed low" if stayed else "Satisfaction is low"
        summary = f"The last {r.last_count} ratings were all " + (
            "1/5" if r.last_max == 1 else f"{r.last_max}/5 or lower (mean {last_mean:g}/5)")
        summary += f"; the {r.previous_count} before averaged {previous_mean:g}/5." \
            if previous_mean is not None else "."
    windows = [window(f"last {r.last_count} ratings", r.last_first, r.latest, signal=RATINGS)]
    if previous_mean is not None:
        windows.append(window(f"the {r.previous_count} ratings before", r.previous_first,
                              r.previous_last, signal=RATINGS))
    return Verdict(
        rule=Rule.SATISFACTION_DROP, severity=satisfaction_drop_severity(r.last_max),
        title=title, summary=summary, windows=windows,
        numbers={
            "last_mean": last_mean, "last_count": r.last_count, "last_max": r.last_max,
            "previous_mean": previous_mean,
            "previous_count": r.previous_count, "latest_rating_date": r.latest.isoformat(),
            "triggered_by": [name for name, hit in (("drop", dropped), ("low", low)) if hit],
            "drop_threshold": float(s.satisfaction_drop), "low_threshold": s.satisfaction_low,
        },
    )


# --- 4. Alliance drop --------------------------------------------------------------------


@dataclass(frozen=True)
class Pulses:
    """The latest pulse up to ``as_of`` and the one before it (if any)."""

    latest_total: int
    latest_date: date
    latest_checkin: int
    previous_total: int | None = None
    previous_date: date | None = None
    previous_checkin: int | None = None

    @property
    def checkin_ids(self) -> list[int]:
        return [pk for pk in (self.latest_checkin, self.previous_checkin) if pk is not None]


def alliance_drop_severity(total: int, drop: int | None) -> int:
    """Medium; high when the total is below 20/40 or it fell by 10 points or more."""
    if total < ALLIANCE_HIGH_BELOW or (drop is not None and drop >= ALLIANCE_HIGH_DROP_POINTS):
        return Severity.HIGH
    return Severity.MEDIUM


def alliance_drop(p: Pulses | None, as_of: date, s: FlagSettings) -> Verdict | None:
    """Latest pulse total below ``alliance_floor``, or ``alliance_drop_points`` or more below
    the previous pulse."""
    if p is None:
        return None
    drop = p.previous_total - p.latest_total if p.previous_total is not None else None
    dropped = drop is not None and drop > 0 and drop >= s.alliance_drop_points
    below = p.latest_total < s.alliance_floor
    if not (dropped or below):
        return None
    out_of = ALLIANCE_OUT_OF
    latest_text = f"{p.latest_total}/{out_of} on {p.latest_date:%-d %b %Y}"
    previous_text = f"{p.previous_total}/{out_of} on {p.previous_date:%-d %b %Y}" \
        if p.previous_date is not None else ""
    if dropped:
        title = "Alliance pulse fell"
        summary = f"Alliance pulse fell {drop} points, from {previous_text} to {latest_text}."
    else:
        stayed = p.previous_total is not None and p.previous_total < s.alliance_floor
        title = "Alliance pulse has stayed low" if stayed else "Alliance pulse is low"
        summary = f"Alliance pulse {latest_text}, under {s.alliance_floor}/{out_of}"
        summary += f"; the pulse before was {previous_text}." if previous_text else "."
    windows = [window("latest pulse", p.latest_date, p.latest_date, signal=PULSES)]
    if p.previous_date is not None:
        windows.append(window("previous pulse", p.previous_date, p.previous_date,
                              signal=PULSES))
    return Verdict(
        rule=Rule.ALLIANCE_DROP, severity=alliance_drop_severity(p.latest_total, drop),
        title=title, summary=summary, windows=windows,
        numbers={
            "latest_total": p.latest_total, "latest_date": p.latest_date.isoformat(),
            "previous_total": p.previous_total,
            "previous_date": p.previous_date.isoformat() if p.previous_date else None,
            "drop_points": drop, "out_of": ALLIANCE_OUT_OF,
            "triggered_by": [name for name, hit in (("drop", dropped), ("floor", below)) if hit],
            "floor": s.alliance_floor, "drop_threshold_points": s.alliance_drop_points,
        },
    )


# --- 5. Gone quiet -----------------------------------------------------------------------


def gone_quiet_severity(prior_logged: int, prior_days: int) -> int:
    """Low; medium when the patient had logged every day of the prior window."""
    return Severity.MEDIUM if prior_logged >= prior_days else Severity.LOW


def gone_quiet(quiet_logged: int, prior_logged: int, last_checkin: date | None, w: Windows,
               s: FlagSettings) -> Verdict | None:
    """No check-in in the last ``quiet_days`` days by a patient who logged at least
    ``quiet_prior_min_logged`` of the ``quiet_prior_days`` days before them."""
    if quiet_logged or prior_logged < s.quiet_prior_min_logged or last_checkin is None:
        return None
    return Verdict(
        rule=Rule.GONE_QUIET,
        severity=gone_quiet_severity(prior_logged, s.quiet_prior_days),
        title="Stopped checking in",
        summary=f"No check-in for {s.quiet_days} days (last on {last_checkin:%-d %b %Y}), "
                f"after {prior_logged} of the {s.quiet_prior_days} days before were logged.",
        windows=[window("days without a check-in", *w.quiet, signal=STEPS),
                 window(f"the {s.quiet_prior_days} days before", *w.prior, signal=STEPS)],
        numbers={
            "quiet_days": s.quiet_days, "prior_days": s.quiet_prior_days,
            "prior_logged_days": prior_logged, "prior_min_logged": s.quiet_prior_min_logged,
            "last_checkin_date": last_checkin.isoformat(),
        },
        id_ranges=(w.prior,),
    )


# --- Findings ----------------------------------------------------------------------------


def finding(patient_id: int, verdict: Verdict, as_of: date, checkin_ids: Sequence[int],
            evidence_at: datetime) -> Finding:
    return Finding(
        patient_id=patient_id, rule=verdict.rule, severity=verdict.severity,
        evidence=evidence(rule=verdict.rule, title=verdict.title, summary=verdict.summary,
                          as_of=as_of, windows=verdict.windows, numbers=verdict.numbers,
                          checkin_ids=list(checkin_ids)),
        evidence_at=evidence_at,
    )


# --- 7. Alliance at risk -----------------------------------------------------------------

_NEWEST_DATA = {Rule.SATISFACTION_DROP: "latest_rating_date",
                Rule.ALLIANCE_DROP: "latest_date"}


def alliance_at_risk(findings: Sequence[Finding], as_of: date, s: FlagSettings
                     ) -> Finding | None:
    """An adherence finding together with a satisfaction or alliance-pulse finding whose newest
    data is at most ``at_risk_within_days`` days before ``as_of``. Always high."""
    by_rule = {f.rule: f for f in findings}
    adherence = by_rule.get(Rule.ADHERENCE_DROP)
    if adherence is None:
        return None
    companions = []
    for rule, key in _NEWEST_DATA.items():
        found = by_rule.get(rule)
        if found is not None:
            newest = date.fromisoformat(found.evidence["numbers"][key])
            if (as_of - newest).days <= s.at_risk_within_days:
                companions.append((found, newest))
    if not companions:
        return None
    parts = [adherence, *(found for found, _ in companions)]
    titles = [found.evidence["title"] for found in parts]
    named = [titles[0], *(("the " if t.startswith("Alliance") else "") + t[:1].lower() + t[1:]
                          for t in titles[1:])]
    together = f"{', '.join(named[:-1])} and {named[-1]}"
    return Finding(
        patient_id=adherence.patient_id, rule=Rule.ALLIANCE_AT_RISK, severity=Severity.HIGH,
        evidence=evidence(
            rule=Rule.ALLIANCE_AT_RISK, title="Alliance at risk",
            summary=f"{together}, at the same time.", as_of=as_of,
            windows=[w for found in parts for w in found.evidence["windows"]],
            numbers={
                "components": [found.rule for found in parts],
                "component_titles": titles,
                "component_summaries": [found.evidence["summary"] for found in parts],
                "component_severities": [found.severity for found in parts],
                "newest_component_data": {found.rule: newest.isoformat()
                                          for found, newest in companions},
                "within_days": s.at_risk_within_days,
            },
            checkin_ids=sorted({pk for found in parts for pk in found.evidence["checkin_ids"]}),
        ),
        evidence_at=max(found.evidence_at for found in parts),
    )


def with_at_risk(findings: list[Finding], as_of: date, s: FlagSettings) -> list[Finding]:
    """One patient's findings plus the at-risk finding they make together, if any."""
    if len(findings) < 2:  # it takes two: most patients with a finding have one
        return findings
    at_risk = alliance_at_risk(findings, as_of, s)
    return [*findings, at_risk] if at_risk is not None else findings


def order(findings: list[Finding]) -> list[Finding]:
    """A stable order for comparing the two evaluators."""
    return sorted(findings, key=lambda f: (f.patient_id, f.rule))
