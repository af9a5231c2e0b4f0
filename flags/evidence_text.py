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

from django.utils.translation import gettext, ngettext

from checkins.models import PARTNERSHIP_QUESTIONS

from . import wording
from .findings import REPORTED_IN_MESSAGE
from .models import Rule, Sensitivity, Severity
from .wording import iso_day, num

Rows = list[tuple[str, str]]


def evidence_rows(evidence: Any) -> Rows:
    """(label, value) rows of a flag's evidence, in reading order, in the reader's language."""
    if not isinstance(evidence, dict) or not isinstance(evidence.get("numbers"), dict):
        return []
    writer = ROWS.get(str(evidence.get("rule")))
    return writer(evidence["numbers"], evidence.get("windows") or []) if writer else []


# --- Small pieces ------------------------------------------------------------------------------


def _change(difference: float | None, *, points: bool) -> str:
    """'down 45 points', 'up 0.23', 'no change'."""
    if difference is None:
        return ""
    if difference == 0:
        return gettext("no change")
    size = round(abs(difference), 2)
    values = {"size": num(size)}
    # Plural forms take whole numbers: a fraction reads as the plural ("0.5 points").
    count = int(size) if float(size).is_integer() else 2
    if points:
        if difference < 0:
            return ngettext("down %(size)s point", "down %(size)s points", count) % values
        return ngettext("up %(size)s point", "up %(size)s points", count) % values
    return (gettext("down %(size)s") if difference < 0 else gettext("up %(size)s")) % values


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


def _of_steps(steps: Any) -> str:
    """' (12 of 30)' when the evidence holds the steps."""
    if isinstance(steps, list) and len(steps) == 2:
        return gettext(" (%(done)s of %(due)s)") % {"done": steps[0], "due": steps[1]}
    return ""


def _steps(percent: float | None, steps: Any, logged: Any, days: int | None) -> str:
    """'40% of steps done (12 of 30), 5 of 7 days logged'."""
    parts = []
    if percent is None:
        parts.append(gettext("no steps due on the days logged") if logged
                     else gettext("no check-ins"))
    else:
        parts.append(gettext("%(percent)s%% of steps done") % {"percent": num(percent)}
                     + _of_steps(steps))
    if logged is not None:
        parts.append(ngettext("%(logged)s of %(count)s day logged",
                              "%(logged)s of %(count)s days logged", days) % {
            "logged": logged, "count": days} if days else
            ngettext("%(count)s day logged", "%(count)s days logged", logged) % {
                "count": logged})
    return ", ".join(parts)


def _severity(value: Any) -> str:
    try:
        return gettext("%(severity)s severity") % {"severity": Severity(value).label.lower()}
    except ValueError:
        return ""


def _found(triggered: Any, reasons: dict[str, str]) -> str:
    """The branches that fired, in words ('fell 20 points or more; under 50%')."""
    found = [reasons[name] for name in triggered or [] if name in reasons]
    return "; ".join(found)


def _keep(rows: list[tuple[str, str | None]]) -> Rows:
    return [(label, value) for label, value in rows if value]


# --- One writer per rule -----------------------------------------------------------------------
# The writers of evidence from before the per-patient statistics (flags written then stay
# readable): fixed windows compared with thresholds.


def _adherence(n: dict[str, Any], windows: list[Any]) -> Rows:
    # The recent window ends on as_of; the baseline ends before it.
    spans = _spans(windows)
    recent_days = spans[-1] if spans else None
    baseline_days = spans[0] if len(spans) > 1 else None
    threshold, floor = n.get("drop_threshold_points"), n.get("floor_percent")
    drop = n.get("drop_points")
    change = _change(-drop if drop is not None else None, points=True)
    if drop is None and n.get("min_baseline_logged") is not None:
        logged, needed = n.get("baseline_logged_days") or 0, n["min_baseline_logged"]
        change = (gettext("not compared: %(logged)s days logged before (%(needed)s needed)")
                  % {"logged": logged, "needed": needed} if logged < needed
                  else gettext("not compared: no steps due before"))
    rows = [
        (ngettext("Last %(count)s day", "Last %(count)s days", recent_days) % {
            "count": recent_days} if recent_days else gettext("Recent days"),
         _steps(n.get("recent_percent"), n.get("recent_steps"), n.get("recent_logged_days"),
                recent_days) if "recent_percent" in n else None),
        (ngettext("The %(count)s day before", "The %(count)s days before", baseline_days) % {
            "count": baseline_days} if baseline_days else gettext("The days before"),
         _steps(n.get("baseline_percent"), n.get("baseline_steps"),
                n.get("baseline_logged_days"), baseline_days)
         if "baseline_percent" in n else None),
        (gettext("Change"), change),
        (gettext("Why it was flagged"), _found(n.get("triggered_by"), {
            "drop": gettext("fell %(points)s points or more") % {"points": threshold},
            "floor": gettext("under %(percent)s%%") % {"percent": floor}})),
    ]
    if None not in (threshold, floor, n.get("min_recent_logged"), n.get("min_baseline_logged")):
        rows.append((gettext("Flags when"), gettext(
            "adherence falls %(points)s points or more (with %(before)s or more days logged "
            "before) or is under %(floor)s%%, with %(recent)s or more of the last %(days)s days "
            "logged") % {"points": threshold, "before": n["min_baseline_logged"], "floor": floor,
                         "recent": n["min_recent_logged"],
                         "days": recent_days or gettext("recent")}))
    return _keep(rows)


def _below_expected(n: dict[str, Any], windows: list[Any]) -> Rows:
    rows: list[tuple[str, str | None]] = []
    for week in n.get("weeks") or []:
        if not isinstance(week, dict) or "week" not in week:
            continue
        rows.append((gettext("Plan week %(week)s") % {"week": week["week"]}, gettext(
            "%(steps)s; expected %(expected)s%%, %(below)s points below") % {
            "steps": _steps(week.get("percent"), week.get("steps"), week.get("logged_days"), 7),
            "expected": num(week.get("expected_percent", 0)),
            "below": num(week.get("below_points", 0))}))
    rows.append((gettext("Plan started"),
                 iso_day(n["plan_starts_on"]) if "plan_starts_on" in n else None))
    if "margin_points" in n and "min_logged_days" in n:
        rows.append((gettext("Flags when"), gettext(
            "each of the last %(weeks)s complete plan weeks is more than %(margin)s points "
            "below the expected curve, with %(logged)s or more days logged in each") % {
            "weeks": len(n.get("weeks") or []), "margin": n["margin_points"],
            "logged": n["min_logged_days"]}))
    curve = n.get("curve")
    if isinstance(curve, dict) and {"week1_percent", "final_percent", "final_week"} <= set(curve):
        rows.append((gettext("Expected curve"), gettext(
            "%(first)s%% in week 1, falling evenly to %(final)s%% by week %(week)s, then flat "
            "(%(source)s)") % {"first": curve["week1_percent"], "final": curve["final_percent"],
                               "week": curve["final_week"], "source": curve.get("source", "")}))
    return _keep(rows)


def _satisfaction(n: dict[str, Any], windows: list[Any]) -> Rows:
    last_count, previous_count = n.get("last_count"), n.get("previous_count")
    last_mean, previous_mean = n.get("last_mean"), n.get("previous_mean")
    threshold, low = n.get("drop_threshold"), n.get("low_threshold")
    last = None
    if last_mean is not None:
        last = gettext("mean %(mean)s out of 5") % {"mean": num(last_mean)}
        if n.get("last_max") is not None:
            last += gettext(", highest %(highest)s") % {"highest": n["last_max"]}
        if n.get("latest_rating_date"):
            last += gettext("; newest on %(day)s") % {"day": iso_day(n["latest_rating_date"])}
    change = None
    if last_mean is not None and previous_mean is not None:
        change = _change(last_mean - previous_mean, points=False)
    rows = [
        (ngettext("Last %(count)s rating", "Last %(count)s ratings", last_count) % {
            "count": last_count} if last_count else gettext("Last ratings"), last),
        (ngettext("The %(count)s rating before", "The %(count)s ratings before",
                  previous_count) % {"count": previous_count}
         if previous_count else gettext("Ratings before"),
         gettext("mean %(mean)s out of 5") % {"mean": num(previous_mean)}
         if previous_mean is not None else gettext("none") if "previous_mean" in n else None),
        (gettext("Change"), change),
        (gettext("Why it was flagged"), _found(n.get("triggered_by"), {
            "drop": gettext("the mean fell by %(size)s or more") % {"size": num(threshold or 0)},
            "low": gettext("every one of the last %(count)s ratings was %(low)s or lower") % {
                "count": last_count, "low": low}})),
    ]
    if threshold is not None and low is not None:
        rows.append((gettext("Flags when"), gettext(
            "the mean of the last %(count)s ratings is %(size)s or more below the mean of the "
            "ratings before them, or every one of them is %(low)s or lower (1 = low, 5 = high)")
            % {"count": last_count, "size": num(threshold), "low": low}))
    return _keep(rows)


def _pulse(total: Any, day: Any, out_of: Any) -> str | None:
    if total is None:
        return None
    return gettext("%(total)s out of %(out_of)s, on %(day)s") % {
        "total": total, "out_of": out_of, "day": iso_day(day)}


def _alliance(n: dict[str, Any], windows: list[Any]) -> Rows:
    out_of, floor, threshold = n.get("out_of", 40), n.get("floor"), n.get("drop_threshold_points")
    drop = n.get("drop_points")
    rows = [
        (gettext("Latest pulse"), _pulse(n.get("latest_total"), n.get("latest_date"), out_of)),
        (gettext("Previous pulse"), _pulse(n.get("previous_total"), n.get("previous_date"), out_of)
         or (gettext("none") if "previous_total" in n else None)),
        (gettext("Change"), _change(-drop if drop is not None else None, points=True)),
        (gettext("Why it was flagged"), _found(n.get("triggered_by"), {
            "drop": gettext("fell %(points)s points or more") % {"points": threshold},
            "floor": gettext("under %(floor)s out of %(out_of)s") % {
                "floor": floor, "out_of": out_of}})),
    ]
    if floor is not None and threshold is not None:
        rows.append((gettext("Flags when"), gettext(
            "the latest total (four answers of 0 to 10) is under %(floor)s out of %(out_of)s, "
            "or %(points)s or more points below the pulse before") % {
            "floor": floor, "out_of": out_of, "points": threshold}))
    return _keep(rows)


def _gone_quiet(n: dict[str, Any], windows: list[Any]) -> Rows:
    quiet, prior = n.get("quiet_days"), n.get("prior_days")
    rows = [
        (gettext("Last check-in"),
         iso_day(n["last_checkin_date"]) if n.get("last_checkin_date") else None),
        (gettext("The %(prior)s days before the last %(quiet)s") % {
            "prior": prior, "quiet": quiet},
         ngettext("%(logged)s of %(count)s day logged", "%(logged)s of %(count)s days logged",
                  prior or 0) % {"logged": n["prior_logged_days"], "count": prior}
         if n.get("prior_logged_days") is not None else None),
    ]
    if None not in (quiet, prior, n.get("prior_min_logged")):
        rows.append((gettext("Flags when"), gettext(
            "no check-in for %(quiet)s days, after %(min)s or more of the %(prior)s days before "
            "were logged") % {"quiet": quiet, "min": n["prior_min_logged"], "prior": prior}))
    return _keep(rows)


def _severe_side_effect(n: dict[str, Any], windows: list[Any]) -> Rows:
    named = n.get("item") or (gettext("not named") if "item" in n else None)
    rows = [(gettext("Side effect reported"), wording.side_effect_label(n.get("side_effect"))),
            (gettext("Step"), named)]
    if n.get("reported_in") == REPORTED_IN_MESSAGE:
        rows.append((gettext("Reported in"), gettext("a message to the care team")))
    return _keep(rows)


def _at_risk(n: dict[str, Any], windows: list[Any]) -> Rows:
    components = n.get("components") or []
    titles = n.get("component_titles") or []
    summaries = n.get("component_summaries") or []
    numbers = n.get("component_numbers") or []
    severities = n.get("component_severities") or []
    rows: list[tuple[str, str | None]] = []
    for index, rule in enumerate(components):
        title = wording.title(titles[index]) if index < len(titles) else (
            Rule(rule).label if rule in Rule.values else None)
        if not title:
            continue
        stored = summaries[index] if index < len(summaries) else ""
        sentence = wording.summary_of(rule, numbers[index] if index < len(numbers) else None,
                                      stored=stored)
        parts = [sentence.rstrip(".")] if sentence else []
        if index < len(severities) and _severity(severities[index]):
            parts.append(_severity(severities[index]))
        rows.append((title, "; ".join(parts) or gettext("found")))
    if n.get("within_days") is not None:
        rows.append((gettext("Flags when"), gettext(
            "adherence is falling while satisfaction or the partnership is falling too, with "
            "their newest answers at most %(days)s days old") % {"days": n["within_days"]}))
    return _keep(rows)


# --- Per-patient evidence (flags/rules.py since the statistics): each patient's own usual ----


def _evidence_strength(n: dict[str, Any]) -> str | None:
    if n.get("score") is None or n.get("threshold") is None:
        return None
    label = dict(Sensitivity.choices).get(n.get("sensitivity"), "")
    values = {"score": num(n["score"]), "threshold": num(n["threshold"]), "label": label}
    if label:
        return gettext("%(score)s (a flag needs %(threshold)s at the clinic's “%(label)s” "
                       "sensitivity)") % values
    return gettext("%(score)s (a flag needs %(threshold)s)") % values


def _adherence_usual(n: dict[str, Any], windows: list[Any]) -> Rows:
    low, high = (n.get("usual_range") or [None, None])[:2]
    usual = gettext("%(percent)s%% of steps done%(steps)s over %(days)s logged days; usual "
                    "range %(low)s–%(high)s%%") % {
        "percent": num(n["usual_percent"]), "steps": _of_steps(n.get("usual_steps")),
        "days": n.get("usual_logged_days"), "low": low, "high": high}
    run = gettext("%(percent)s%% of steps done%(steps)s; %(below)s of %(days)s logged days "
                  "below the usual range") % {
        "percent": num(n["run_percent"]), "steps": _of_steps(n.get("run_steps")),
        "below": n.get("run_below_range_days"), "days": n.get("run_logged_days")}
    expected = n.get("expected_percent")
    last_7 = n.get("last_7_percent")
    rows = [
        (gettext("Usual adherence"), usual),
        (gettext("Since %(day)s") % {"day": iso_day(n.get("since"))}, run),
        (gettext("Last 7 days"), ngettext(
            "%(percent)s%%, %(count)s day logged", "%(percent)s%%, %(count)s days logged",
            n.get("last_7_logged_days") or 0) % {
            "percent": num(last_7), "count": n.get("last_7_logged_days")}
         if last_7 is not None else None),
        (gettext("Change"), _change(-n["fall_points"], points=True)
         if n.get("fall_points") is not None else None),
        (gettext("Expected on these days"), gettext(
            "%(percent)s%%: the usual level, moved along the published curve for young plans "
            "(%(source)s)") % {"percent": num(expected), "source": n.get("curve_source", "")}
         if expected is not None and abs(expected - n["usual_percent"]) >= 1 else None),
        (gettext("Strength of evidence"), _evidence_strength(n)),
        (gettext("Flags when"), gettext(
            "adherence stays below the patient's own usual level by more than their usual "
            "day-to-day ups and downs, for long enough to add up (one-sided CUSUM), with the "
            "usual level learnt from at least the clinic's minimum of logged days")),
    ]
    return _keep(rows)


def _scale_listed(n: dict[str, Any]) -> str:
    """'2 on Fri 6 Mar 2026; 3 on Sat 7 Mar 2026 (I feel heard by my dermatologist)'."""
    dates = n.get("run_dates") or []
    questions = n.get("run_questions") or []
    listed = []
    for index, value in enumerate(n.get("run_values") or []):
        part = num(value)
        if index < len(dates):
            part = gettext("%(value)s on %(day)s") % {"value": part, "day": iso_day(dates[index])}
        if index < len(questions):
            question = PARTNERSHIP_QUESTIONS.get(questions[index]) or gettext(
                "the full pulse, mean")
            part = gettext("%(value)s (%(question)s)") % {"value": part, "question": question}
        listed.append(part)
    return "; ".join(listed)


def _satisfaction_usual(n: dict[str, Any], windows: list[Any]) -> Rows:
    return _scale_usual(n, gettext("Usual satisfaction"), ngettext(
        "mean %(mean)s out of %(out_of)s over %(count)s rating; usual range %(low)s–%(high)s",
        "mean %(mean)s out of %(out_of)s over %(count)s ratings; usual range %(low)s–%(high)s",
        n.get("usual_count") or 0), gettext(
        "satisfaction stays below the patient's own usual level by more than their usual ups "
        "and downs, for long enough to add up (one-sided CUSUM)"))


def _partnership_usual(n: dict[str, Any], windows: list[Any]) -> Rows:
    return _scale_usual(n, gettext("Usual partnership"), ngettext(
        "mean %(mean)s out of %(out_of)s over %(count)s answer; usual range %(low)s–%(high)s",
        "mean %(mean)s out of %(out_of)s over %(count)s answers; usual range %(low)s–%(high)s",
        n.get("usual_count") or 0), gettext(
        "partnership stays below the patient's own usual level by more than their usual ups "
        "and downs, for long enough to add up (one-sided CUSUM)"))


def _scale_usual(n: dict[str, Any], usual_label: str, usual_text: str, flags_when: str) -> Rows:
    low, high = (n.get("usual_range") or [None, None])[:2]
    rows = [
        (usual_label, usual_text % {
            "mean": num(n["usual_mean"]), "out_of": n.get("out_of"),
            "count": n.get("usual_count"), "low": num(low), "high": num(high)}),
        (gettext("Since %(day)s") % {"day": iso_day(n.get("since"))}, _scale_listed(n) or None),
        (gettext("Change"), _change(-n["fall"], points=False)
         if n.get("fall") is not None else None),
        (gettext("Strength of evidence"), _evidence_strength(n)),
        (gettext("Flags when"), flags_when),
    ]
    return _keep(rows)


def _chance(chance_percent: Any) -> str | None:
    """'0.8% when logging as usual'; a chance the evidence rounds to 0 reads as under 0.01%."""
    if chance_percent is None:
        return None
    if chance_percent < 0.01:
        return gettext("under %(percent)s%% when logging as usual") % {"percent": num(0.01)}
    return gettext("%(percent)s%% when logging as usual") % {"percent": num(chance_percent)}


def _gone_quiet_usual(n: dict[str, Any], windows: list[Any]) -> Rows:
    longest = n.get("longest_gap_before") or 0
    return _keep([
        (gettext("Last check-in"), iso_day(n["last_checkin_date"])
         if n.get("last_checkin_date") else None),
        (gettext("Days without a check-in"), str(n["gap_days"])),
        (gettext("Usually logs"), ngettext(
            "%(percent)s%% of days (%(logged)s of %(days)s); longest gap before: %(count)s day",
            "%(percent)s%% of days (%(logged)s of %(days)s); longest gap before: %(count)s days",
            longest) % {"percent": n.get("usual_logged_percent"),
                        "logged": n.get("usual_logged_days"), "days": n.get("usual_days"),
                        "count": longest}),
        (gettext("Chance of a gap this long"), _chance(n.get("chance_percent"))),
        (gettext("Flags when"), gettext(
            "a gap is longer than any in the patient's recent history and very unlikely at "
            "their usual logging rate")),
    ])


def _missed_dose(n: dict[str, Any], windows: list[Any]) -> Rows:
    """One row per missed dose ("Adalimumab 40 mg: due Mon 2 Mar 2026; still counted until Thu
    5 Mar 2026; not logged done"), then how many and when the rule flags."""
    rows: list[tuple[str, str | None]] = []
    for dose in n.get("doses") or []:
        if not isinstance(dose, dict) or not dose.get("item"):
            continue
        label = (gettext("Missed injection") if dose.get("kind") == "injection"
                 else gettext("Missed dated task"))
        rows.append((label, gettext(
            "%(item)s: due %(due)s; still counted until %(last)s; not logged done") % {
            "item": dose["item"], "due": iso_day(dose.get("scheduled_on")),
            "last": iso_day(dose.get("last_day"))}))
    if n.get("missed_count") is not None and n.get("monitor_days") is not None:
        rows.append((gettext("Doses missed"), ngettext(
            "%(count)s in the last %(days)s days", "%(count)s in the last %(days)s days",
            n["missed_count"]) % {"count": n["missed_count"], "days": n["monitor_days"]}))
    rows.append((gettext("Flags when"), gettext(
        "an injection or dated task is not logged done by the last day of its window (the days "
        "in which a late dose still counts)")))
    return _keep(rows)


def _by_version(usual_key: str, current: Callable[[dict[str, Any], list[Any]], Rows],
                earlier: Callable[[dict[str, Any], list[Any]], Rows]
                ) -> Callable[[dict[str, Any], list[Any]], Rows]:
    """Evidence written by the per-patient rules has ``usual_key``; older flags keep their
    own rows."""
    return lambda n, windows: (current if usual_key in n else earlier)(n, windows)


ROWS: dict[str, Callable[[dict[str, Any], list[Any]], Rows]] = {
    Rule.ADHERENCE_DROP: _by_version("usual_percent", _adherence_usual, _adherence),
    Rule.BELOW_EXPECTED: _below_expected,
    Rule.SATISFACTION_DROP: _by_version("usual_mean", _satisfaction_usual, _satisfaction),
    Rule.ALLIANCE_DROP: _by_version("usual_mean", _partnership_usual, _alliance),
    Rule.GONE_QUIET: _by_version("gap_days", _gone_quiet_usual, _gone_quiet),
    Rule.SEVERE_SIDE_EFFECT: _severe_side_effect,
    Rule.ALLIANCE_AT_RISK: _at_risk,
    Rule.MISSED_DOSE: _missed_dose,
}
