"""A flag's evidence in words for the clinic: each number a rule compared gets a plain label.

Staff and dermatologists never read internal names (rule values, evidence keys, "triggered
by: low"): every rule has its own rows here, written from its ``numbers`` (flags/rules.py,
docs/flags.md). Rows whose numbers are missing (evidence written by an older version) are
left out rather than shown half-made; a rule without rows here shows none. Nothing logs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.utils import formats
from django.utils.translation import npgettext, pgettext

from checkins.models import PARTNERSHIP_QUESTIONS, SideEffect

from .models import Rule, Sensitivity, Severity

Rows = list[tuple[str, str]]


def iso_day(value: Any) -> str:
    """An evidence date ('2026-11-03') as 'Tue 3 Nov 2026' (in the reader's language);
    anything else as given."""
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    return formats.date_format(day, pgettext("evidence day", "D j M Y"))


def evidence_rows(evidence: Any) -> Rows:
    """(label, value) rows of a flag's evidence, in reading order."""
    if not isinstance(evidence, dict) or not isinstance(evidence.get("numbers"), dict):
        return []
    writer = ROWS.get(str(evidence.get("rule")))
    return writer(evidence["numbers"], evidence.get("windows") or []) if writer else []


# --- Small pieces ------------------------------------------------------------------------------


def _num(value: float) -> str:
    return f"{value:g}"


def _change(difference: float | None, unit: str) -> str:
    """'down 45 points', 'up 0.23', 'no change'."""
    if difference is None:
        return ""
    if difference == 0:
        return "no change"
    return f"{'down' if difference < 0 else 'up'} {_num(round(abs(difference), 2))}{unit}"


def _spans(windows: list[Any]) -> list[int]:
    """How many days each well-formed window spans (inclusive), the earliest ending first."""
    spans = []
    for entry in windows:
        try:
            start, end = date.fromisoformat(entry["start"]), date.fromisoformat(entry["end"])
        except (KeyError, TypeError, ValueError):
            continue
        spans.append((end, (end - start).days + 1))
    return [days for _, days in sorted(spans)]


def _steps(percent: float | None, steps: Any, logged: Any, days: int | None) -> str:
    """'40% of steps done (12 of 30), 5 of 7 days logged'."""
    parts = []
    if percent is None:
        parts.append("no steps due on the days logged" if logged else "no check-ins")
    else:
        parts.append(f"{_num(percent)}% of steps done")
        if isinstance(steps, list) and len(steps) == 2:
            parts[-1] += f" ({steps[0]} of {steps[1]})"
    if logged is not None:
        parts.append(f"{logged} of {days} days logged" if days else f"{logged} days logged")
    return ", ".join(parts)


def _severity(value: Any) -> str:
    try:
        return f"{Severity(value).label.lower()} severity"
    except ValueError:
        return ""


def _found(triggered: Any, reasons: dict[str, str]) -> str:
    """The branches that fired, in words ('fell 20 points or more; under 50%')."""
    found = [reasons[name] for name in triggered or [] if name in reasons]
    return "; ".join(found)


def _keep(rows: list[tuple[str, str | None]]) -> Rows:
    return [(label, value) for label, value in rows if value]


# --- One writer per rule -----------------------------------------------------------------------


def _adherence(n: dict[str, Any], windows: list[Any]) -> Rows:
    # The recent window ends on as_of; the baseline ends before it.
    spans = _spans(windows)
    recent_days = spans[-1] if spans else None
    baseline_days = spans[0] if len(spans) > 1 else None
    threshold, floor = n.get("drop_threshold_points"), n.get("floor_percent")
    drop = n.get("drop_points")
    change = _change(-drop if drop is not None else None, " points")
    if drop is None and n.get("min_baseline_logged") is not None:
        logged, needed = n.get("baseline_logged_days") or 0, n["min_baseline_logged"]
        change = (f"not compared: {logged} days logged before ({needed} needed)"
                  if logged < needed else "not compared: no steps due before")
    rows = [
        (f"Last {recent_days} days" if recent_days else "Recent days",
         _steps(n.get("recent_percent"), n.get("recent_steps"), n.get("recent_logged_days"),
                recent_days) if "recent_percent" in n else None),
        (f"The {baseline_days} days before" if baseline_days else "The days before",
         _steps(n.get("baseline_percent"), n.get("baseline_steps"),
                n.get("baseline_logged_days"), baseline_days)
         if "baseline_percent" in n else None),
        ("Change", change),
        ("Why it was flagged", _found(n.get("triggered_by"), {
            "drop": f"fell {threshold} points or more", "floor": f"under {floor}%"})),
    ]
    if None not in (threshold, floor, n.get("min_recent_logged"), n.get("min_baseline_logged")):
        rows.append(("Flags when", (
            f"adherence falls {threshold} points or more (with {n['min_baseline_logged']} or "
            f"more days logged before) or is under {floor}%, with {n['min_recent_logged']} or "
            f"more of the last {recent_days or 'recent'} days logged")))
    return _keep(rows)


def _below_expected(n: dict[str, Any], windows: list[Any]) -> Rows:
    rows: list[tuple[str, str | None]] = []
    for week in n.get("weeks") or []:
        if not isinstance(week, dict) or "week" not in week:
            continue
        rows.append((f"Plan week {week['week']}", (
            f"{_steps(week.get('percent'), week.get('steps'), week.get('logged_days'), 7)}; "
            f"expected {_num(week.get('expected_percent', 0))}%, "
            f"{_num(week.get('below_points', 0))} points below")))
    rows.append(("Plan started", iso_day(n["plan_starts_on"]) if "plan_starts_on" in n else None))
    if "margin_points" in n and "min_logged_days" in n:
        rows.append(("Flags when", (
            f"each of the last {len(n.get('weeks') or [])} complete plan weeks is more than "
            f"{n['margin_points']} points below the expected curve, with "
            f"{n['min_logged_days']} or more days logged in each")))
    curve = n.get("curve")
    if isinstance(curve, dict) and {"week1_percent", "final_percent", "final_week"} <= set(curve):
        rows.append(("Expected curve", (
            f"{curve['week1_percent']}% in week 1, falling evenly to {curve['final_percent']}% "
            f"by week {curve['final_week']}, then flat ({curve.get('source', '')})")))
    return _keep(rows)


def _satisfaction(n: dict[str, Any], windows: list[Any]) -> Rows:
    last_count, previous_count = n.get("last_count"), n.get("previous_count")
    last_mean, previous_mean = n.get("last_mean"), n.get("previous_mean")
    threshold, low = n.get("drop_threshold"), n.get("low_threshold")
    last = None
    if last_mean is not None:
        last = f"mean {_num(last_mean)} out of 5"
        if n.get("last_max") is not None:
            last += f", highest {n['last_max']}"
        if n.get("latest_rating_date"):
            last += f"; newest on {iso_day(n['latest_rating_date'])}"
    change = None
    if last_mean is not None and previous_mean is not None:
        change = _change(last_mean - previous_mean, "")
    rows = [
        (f"Last {last_count} ratings" if last_count else "Last ratings", last),
        (f"The {previous_count} ratings before" if previous_count else "Ratings before",
         f"mean {_num(previous_mean)} out of 5" if previous_mean is not None else
         "none" if "previous_mean" in n else None),
        ("Change", change),
        ("Why it was flagged", _found(n.get("triggered_by"), {
            "drop": f"the mean fell by {_num(threshold or 0)} or more",
            "low": f"every one of the last {last_count} ratings was {low} or lower"})),
    ]
    if threshold is not None and low is not None:
        rows.append(("Flags when", (
            f"the mean of the last {last_count} ratings is {_num(threshold)} or more below the "
            f"mean of the ratings before them, or every one of them is {low} or lower "
            "(1 = low, 5 = high)")))
    return _keep(rows)


def _pulse(total: Any, day: Any, out_of: Any) -> str | None:
    return f"{total} out of {out_of}, on {iso_day(day)}" if total is not None else None


def _alliance(n: dict[str, Any], windows: list[Any]) -> Rows:
    out_of, floor, threshold = n.get("out_of", 40), n.get("floor"), n.get("drop_threshold_points")
    drop = n.get("drop_points")
    rows = [
        ("Latest pulse", _pulse(n.get("latest_total"), n.get("latest_date"), out_of)),
        ("Previous pulse", _pulse(n.get("previous_total"), n.get("previous_date"), out_of)
         or ("none" if "previous_total" in n else None)),
        ("Change", _change(-drop if drop is not None else None, " points")),
        ("Why it was flagged", _found(n.get("triggered_by"), {
            "drop": f"fell {threshold} points or more",
            "floor": f"under {floor} out of {out_of}"})),
    ]
    if floor is not None and threshold is not None:
        rows.append(("Flags when", (
            f"the latest total (four answers of 0 to 10) is under {floor} out of {out_of}, or "
            f"{threshold} or more points below the pulse before")))
    return _keep(rows)


def _gone_quiet(n: dict[str, Any], windows: list[Any]) -> Rows:
    quiet, prior = n.get("quiet_days"), n.get("prior_days")
    rows = [
        ("Last check-in", iso_day(n["last_checkin_date"]) if n.get("last_checkin_date") else None),
        (f"The {prior} days before the last {quiet}",
         f"{n['prior_logged_days']} of {prior} days logged"
         if n.get("prior_logged_days") is not None else None),
    ]
    if None not in (quiet, prior, n.get("prior_min_logged")):
        rows.append(("Flags when", (
            f"no check-in for {quiet} days, after {n['prior_min_logged']} or more of the "
            f"{prior} days before were logged")))
    return _keep(rows)


def _severe_side_effect(n: dict[str, Any], windows: list[Any]) -> Rows:
    effect = n.get("side_effect")
    label = SideEffect(effect).label if effect in SideEffect.values else None
    return _keep([("Side effect reported", label),
                  ("Step", n.get("item") or ("not named" if "item" in n else None))])


def _at_risk(n: dict[str, Any], windows: list[Any]) -> Rows:
    components = n.get("components") or []
    titles = n.get("component_titles") or []
    summaries = n.get("component_summaries") or []
    severities = n.get("component_severities") or []
    rows: list[tuple[str, str | None]] = []
    for index, rule in enumerate(components):
        title = titles[index] if index < len(titles) else (
            Rule(rule).label if rule in Rule.values else None)
        if not title:
            continue
        parts = [summaries[index].rstrip(".")] if index < len(summaries) else []
        if index < len(severities) and _severity(severities[index]):
            parts.append(_severity(severities[index]))
        rows.append((title, "; ".join(parts) or "found"))
    if n.get("within_days") is not None:
        rows.append(("Flags when", (
            "adherence is falling while satisfaction or the partnership is falling too, with "
            f"their newest answers at most {n['within_days']} days old")))
    return _keep(rows)


# --- Per-patient evidence (flags/rules.py since the statistics): each patient's own usual ----


def _evidence_strength(n: dict[str, Any]) -> str | None:
    if n.get("score") is None or n.get("threshold") is None:
        return None
    label = dict(Sensitivity.choices).get(n.get("sensitivity"), "")
    at = f" at the clinic's “{label}” sensitivity" if label else ""
    return f"{_num(n['score'])} (a flag needs {_num(n['threshold'])}{at})"


def _adherence_usual(n: dict[str, Any], windows: list[Any]) -> Rows:
    low, high = (n.get("usual_range") or [None, None])[:2]
    steps, run_steps = n.get("usual_steps") or [], n.get("run_steps") or []
    usual = (f"{_num(n['usual_percent'])}% of steps done"
             + (f" ({steps[0]} of {steps[1]})" if len(steps) == 2 else "")
             + f" over {n.get('usual_logged_days')} logged days; usual range {low}–{high}%")
    since = iso_day(n.get("since"))
    run = (f"{_num(n['run_percent'])}% of steps done"
           + (f" ({run_steps[0]} of {run_steps[1]})" if len(run_steps) == 2 else "")
           + f"; {n.get('run_below_range_days')} of {n.get('run_logged_days')} logged days "
             f"below the usual range")
    expected = n.get("expected_percent")
    rows = [
        ("Usual adherence", usual),
        (f"Since {since}", run),
        ("Last 7 days", f"{_num(n['last_7_percent'])}%, {n.get('last_7_logged_days')} days "
                        "logged" if n.get("last_7_percent") is not None else None),
        ("Change", _change(-n["fall_points"], " points") if n.get("fall_points") is not None
         else None),
        ("Expected on these days", (
            f"{_num(expected)}%: the usual level, moved along the published curve for young "
            f"plans ({n.get('curve_source', '')})") if expected is not None
         and abs(expected - n["usual_percent"]) >= 1 else None),
        ("Strength of evidence", _evidence_strength(n)),
        ("Flags when", (
            "adherence stays below the patient's own usual level by more than their usual "
            "day-to-day ups and downs, for long enough to add up (one-sided CUSUM), with the "
            "usual level learnt from at least the clinic's minimum of logged days")),
    ]
    return _keep(rows)


def _scale_usual(n: dict[str, Any], what: str, noun: str) -> Rows:
    low, high = (n.get("usual_range") or [None, None])[:2]
    out_of = n.get("out_of")
    values = n.get("run_values") or []
    dates = n.get("run_dates") or []
    questions = n.get("run_questions") or []
    listed = []
    for index, value in enumerate(values):
        part = f"{_num(value)}"
        if index < len(dates):
            part += f" on {iso_day(dates[index])}"
        if index < len(questions):
            part += f" ({PARTNERSHIP_QUESTIONS.get(questions[index], 'the full pulse, mean')})"
        listed.append(part)
    rows = [
        (f"Usual {what}", f"mean {_num(n['usual_mean'])} out of {out_of} over "
                          f"{n.get('usual_count')} {noun}; usual range {_num(low)}–{_num(high)}"),
        (f"Since {iso_day(n.get('since'))}", "; ".join(listed) or None),
        ("Change", _change(-n["fall"], "") if n.get("fall") is not None else None),
        ("Strength of evidence", _evidence_strength(n)),
        ("Flags when", (
            f"{what} stays below the patient's own usual level by more than their usual ups "
            "and downs, for long enough to add up (one-sided CUSUM)")),
    ]
    return _keep(rows)


def _chance(chance_percent: Any) -> str | None:
    """'0.8% when logging as usual'; a chance the evidence rounds to 0 reads as under 0.01%."""
    if chance_percent is None:
        return None
    shown = "under 0.01%" if chance_percent < 0.01 else f"{_num(chance_percent)}%"
    return f"{shown} when logging as usual"


def _gone_quiet_usual(n: dict[str, Any], windows: list[Any]) -> Rows:
    longest = n.get("longest_gap_before")
    return _keep([
        ("Last check-in", iso_day(n["last_checkin_date"]) if n.get("last_checkin_date")
         else None),
        ("Days without a check-in", str(n["gap_days"])),
        ("Usually logs", f"{n.get('usual_logged_percent')}% of days ({n.get('usual_logged_days')}"
                         f" of {n.get('usual_days')}); longest gap before: {longest} "
                         f"{'day' if longest == 1 else 'days'}"),
        ("Chance of a gap this long", _chance(n.get("chance_percent"))),
        ("Flags when", "a gap is longer than any in the patient's recent history and very "
                       "unlikely at their usual logging rate"),
    ])


def _by_version(usual_key: str, current: Callable[[dict[str, Any], list[Any]], Rows],
                earlier: Callable[[dict[str, Any], list[Any]], Rows]
                ) -> Callable[[dict[str, Any], list[Any]], Rows]:
    """Evidence written by the per-patient rules has ``usual_key``; older flags keep their
    own rows."""
    return lambda n, windows: (current if usual_key in n else earlier)(n, windows)


def _missed_dose(n: dict[str, Any], windows: list[Any]) -> Rows:
    """One row per missed dose ("Adalimumab 40 mg: due Mon 2 Mar 2026; counted until Thu 5
    Mar 2026; not logged"), then how many and when the rule flags."""
    rows: list[tuple[str, str | None]] = []
    for dose in n.get("doses") or []:
        if not isinstance(dose, dict) or not dose.get("item"):
            continue
        label = (pgettext("evidence", "Missed injection") if dose.get("kind") == "injection"
                 else pgettext("evidence", "Missed dated task"))
        rows.append((label, pgettext(
            "evidence", "%(item)s: due %(due)s; still counted until %(last)s; not logged done")
            % {"item": dose["item"], "due": iso_day(dose.get("scheduled_on")),
               "last": iso_day(dose.get("last_day"))}))
    if n.get("missed_count") is not None and n.get("monitor_days") is not None:
        rows.append((pgettext("evidence", "Doses missed"), npgettext(
            "evidence", "%(count)s in the last %(days)s days",
            "%(count)s in the last %(days)s days", n["missed_count"])
            % {"count": n["missed_count"], "days": n["monitor_days"]}))
    rows.append((pgettext("evidence", "Flags when"), pgettext(
        "evidence", "an injection or dated task is not logged done by the last day of its "
        "window (the days in which a late dose still counts)")))
    return _keep(rows)


ROWS: dict[str, Callable[[dict[str, Any], list[Any]], Rows]] = {
    Rule.ADHERENCE_DROP: _by_version("usual_percent", _adherence_usual, _adherence),
    Rule.BELOW_EXPECTED: _below_expected,
    Rule.SATISFACTION_DROP: _by_version(
        "usual_mean", lambda n, w: _scale_usual(n, "satisfaction", "ratings"), _satisfaction),
    Rule.ALLIANCE_DROP: _by_version(
        "usual_mean", lambda n, w: _scale_usual(n, "partnership", "answers"), _alliance),
    Rule.GONE_QUIET: _by_version("gap_days", _gone_quiet_usual, _gone_quiet),
    Rule.SEVERE_SIDE_EFFECT: _severe_side_effect,
    Rule.ALLIANCE_AT_RISK: _at_risk,
    Rule.MISSED_DOSE: _missed_dose,
}
