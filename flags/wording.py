"""A finding's words: its title, its one-sentence summary and its windows' labels, in the
reader's language, written at read time from the numbers the rule stored.

The rules store the English words too (evidence ``title``, ``summary``, each window's
``label``; flags/rules.py writes the summary with these same functions under English), so the
evidence stays readable on its own and flags written before a sentence here existed (their
numbers lack a key it needs) show the words they were stored with. One definition of each
sentence: the stored English and the page in any language come from here. Nothing logs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import formats, translation
from django.utils.translation import gettext, gettext_noop, ngettext, pgettext

from checkins.models import SideEffect

from .findings import REPORTED_IN_MESSAGE
from .models import Rule

# Every title a rule writes or wrote (evidence "title"), so each is in the catalogue.
TITLES = (
    gettext_noop("Adherence fell"), gettext_noop("Adherence has stayed low"),
    gettext_noop("Adherence is low"), gettext_noop("Adherence below the expected curve"),
    gettext_noop("Satisfaction fell"), gettext_noop("Satisfaction has stayed low"),
    gettext_noop("Satisfaction is low"), gettext_noop("Alliance pulse fell"),
    gettext_noop("Alliance pulse has stayed low"), gettext_noop("Alliance pulse is low"),
    gettext_noop("Partnership fell"), gettext_noop("Stopped checking in"),
    gettext_noop("Severe side effect reported"), gettext_noop("Alliance at risk"),
    gettext_noop("Missed injection"), gettext_noop("Missed dated task"),
)


# --- Numbers and days in the reader's language ---------------------------------------------


def num(value: float) -> str:
    """A number as the rules round it ('85', '41.4'), with the language's decimal mark."""
    return f"{value:g}".replace(".", formats.get_format("DECIMAL_SEPARATOR"))


def numbers_listed(values: Sequence[float]) -> str:
    """'2, 2, 3': the separator is the language's (a decimal comma needs another)."""
    return pgettext("between numbers in a list", ", ").join(num(v) for v in values)


def iso(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def iso_day(value: Any) -> str:
    """An evidence date ('2026-11-03') as 'Tue 3 Nov 2026'; anything else as given."""
    day = iso(value)
    if day is None:
        return str(value or "")
    return formats.date_format(day, pgettext("evidence day", "D j M Y"))


def short_day(day: date) -> str:
    """'3 Nov': a date within the last few weeks."""
    return formats.date_format(day, pgettext("evidence day without year", "j M"))


def year_day(day: date) -> str:
    """'3 Nov 2026'."""
    return formats.date_format(day, pgettext("evidence day without weekday", "j M Y"))


# --- Titles ----------------------------------------------------------------------------------


def title(stored: Any) -> str:
    """A stored title in the reader's language (as stored when the catalogue lacks it)."""
    return gettext(str(stored)) if stored else ""


def _mid_sentence(text: str) -> str:
    """A title inside a sentence: lower-cased first letter where the language does that
    (German keeps its nouns capitalised)."""
    lower = pgettext("lower-case the first letter of a finding's title inside a sentence? "
                     "yes or no", "yes") == "yes"
    return text[:1].lower() + text[1:] if lower else text


# --- Summaries, one per rule -----------------------------------------------------------------


def _adherence(n: dict[str, Any], evidence: dict[str, Any]) -> str:
    low, high = n["usual_range"][:2]
    values = {"low": num(low), "high": num(high), "below": n["run_below_range_days"],
              "count": n["run_logged_days"], "since": short_day(iso(n["since"])),
              "run": num(n["run_percent"]), "usual": num(n["usual_percent"])}
    if n["last_7_percent"] is None:
        return ngettext(
            "Adherence below the usual range (%(low)s–%(high)s%%) on %(below)s of the "
            "%(count)s logged day since %(since)s: %(run)s%% (usual %(usual)s%%).",
            "Adherence below the usual range (%(low)s–%(high)s%%) on %(below)s of the "
            "%(count)s logged days since %(since)s: %(run)s%% (usual %(usual)s%%).",
            values["count"]) % values
    return ngettext(
        "Adherence below the usual range (%(low)s–%(high)s%%) on %(below)s of the "
        "%(count)s logged day since %(since)s: %(run)s%% (usual %(usual)s%%); last 7 days "
        "%(week)s%%.",
        "Adherence below the usual range (%(low)s–%(high)s%%) on %(below)s of the "
        "%(count)s logged days since %(since)s: %(run)s%% (usual %(usual)s%%); last 7 days "
        "%(week)s%%.",
        values["count"]) % {**values, "week": num(n["last_7_percent"])}


def _scale_values(n: dict[str, Any]) -> dict[str, Any]:
    low, high = n["usual_range"][:2]
    return {"low": num(low), "high": num(high), "out_of": n["out_of"],
            "below": n["run_below_range"], "count": len(n["run_values"]),
            "since": short_day(iso(n["since"])), "values": numbers_listed(n["run_values"]),
            "usual": num(n["usual_mean"])}


def _satisfaction(n: dict[str, Any], evidence: dict[str, Any]) -> str:
    values = _scale_values(n)
    return ngettext(
        "Satisfaction below the usual range (%(low)s–%(high)s of %(out_of)s): %(below)s of "
        "%(count)s rating since %(since)s (%(values)s; usual %(usual)s).",
        "Satisfaction below the usual range (%(low)s–%(high)s of %(out_of)s): %(below)s of "
        "%(count)s ratings since %(since)s (%(values)s; usual %(usual)s).",
        values["count"]) % values


def _partnership(n: dict[str, Any], evidence: dict[str, Any]) -> str:
    values = _scale_values(n)
    return ngettext(
        "Partnership answers below the usual range (%(low)s–%(high)s of %(out_of)s): "
        "%(below)s of %(count)s answer since %(since)s (%(values)s; usual %(usual)s).",
        "Partnership answers below the usual range (%(low)s–%(high)s of %(out_of)s): "
        "%(below)s of %(count)s answers since %(since)s (%(values)s; usual %(usual)s).",
        values["count"]) % values


def _gone_quiet(n: dict[str, Any], evidence: dict[str, Any]) -> str:
    gap = ngettext("No check-in for %(count)s day (last on %(day)s)",
                   "No check-in for %(count)s days (last on %(day)s)", n["gap_days"]) % {
        "count": n["gap_days"], "day": year_day(iso(n["last_checkin_date"]))}
    usual = ngettext(
        "usually logs %(percent)s%% of days (%(logged)s of %(days)s), and the longest gap "
        "before was %(count)s day",
        "usually logs %(percent)s%% of days (%(logged)s of %(days)s), and the longest gap "
        "before was %(count)s days", n["longest_gap_before"]) % {
        "percent": n["usual_logged_percent"], "logged": n["usual_logged_days"],
        "days": n["usual_days"], "count": n["longest_gap_before"]}
    return gettext("%(gap)s; %(usual)s.") % {"gap": gap, "usual": usual}


def _severe_side_effect(n: dict[str, Any], evidence: dict[str, Any]) -> str:
    day = iso_day(evidence["as_of"])
    if n.get("reported_in") == REPORTED_IN_MESSAGE:
        if n["item"]:
            return gettext("Severe side effect reported in a message on %(day)s (step: "
                           "%(item)s).") % {"day": day, "item": n["item"]}
        return gettext("Severe side effect reported in a message on %(day)s.") % {"day": day}
    if n["item"]:
        return gettext("Severe side effect reported for %(day)s (step: %(item)s).") % {
            "day": day, "item": n["item"]}
    return gettext("Severe side effect reported for %(day)s.") % {"day": day}


def _at_risk(n: dict[str, Any], evidence: dict[str, Any]) -> str:
    named = [title(t) for t in n["component_titles"]]
    named = [named[0], *(_mid_sentence(t) for t in named[1:])]
    if len(named) == 2:
        return gettext("%(first)s and %(second)s, at the same time.") % {
            "first": named[0], "second": named[1]}
    return gettext("%(first)s, %(second)s and %(third)s, at the same time.") % {
        "first": named[0], "second": named[1], "third": ", ".join(named[2:])}


def _missed_dose(n: dict[str, Any], evidence: dict[str, Any]) -> str:
    latest = n["doses"][-1]
    values = {"item": latest["item"], "due": short_day(iso(latest["scheduled_on"])),
              "last": short_day(iso(latest["last_day"])), "count": n["missed_count"],
              "days": n["monitor_days"]}
    if n["missed_count"] > 1:
        return gettext("%(item)s due %(due)s was not logged by %(last)s, the last day it "
                       "counted; %(count)s doses missed in the last %(days)s days.") % values
    return gettext("%(item)s due %(due)s was not logged by %(last)s, the last day it "
                   "counted.") % values


@dataclass(frozen=True)
class _Summary:
    needs: frozenset[str]  # the numbers it reads: evidence without one keeps its stored words
    write: Callable[[dict[str, Any], dict[str, Any]], str]


_SCALE_NEEDS = frozenset({"usual_range", "out_of", "run_below_range", "run_values", "since",
                          "usual_mean"})
SUMMARIES = {
    Rule.ADHERENCE_DROP: _Summary(frozenset({
        "usual_range", "run_below_range_days", "run_logged_days", "since", "run_percent",
        "usual_percent", "last_7_percent"}), _adherence),
    Rule.SATISFACTION_DROP: _Summary(_SCALE_NEEDS, _satisfaction),
    Rule.ALLIANCE_DROP: _Summary(_SCALE_NEEDS, _partnership),
    Rule.GONE_QUIET: _Summary(frozenset({
        "gap_days", "last_checkin_date", "usual_logged_percent", "usual_logged_days",
        "usual_days", "longest_gap_before"}), _gone_quiet),
    Rule.SEVERE_SIDE_EFFECT: _Summary(frozenset({"side_effect", "item"}), _severe_side_effect),
    Rule.ALLIANCE_AT_RISK: _Summary(frozenset({"component_titles"}), _at_risk),
    Rule.MISSED_DOSE: _Summary(frozenset({"doses", "missed_count", "monitor_days"}),
                               _missed_dose),
}


def summary_of(rule: Any, numbers: Any, *, as_of: Any = None, stored: Any = "") -> str:
    """One sentence about a finding in the reader's language, from its numbers; the stored
    sentence when the numbers are of an earlier version."""
    writer = SUMMARIES.get(rule)
    if writer is None or not isinstance(numbers, dict) or not writer.needs <= numbers.keys():
        return str(stored or "")
    if rule == Rule.SEVERE_SIDE_EFFECT and iso(as_of) is None:
        return str(stored or "")
    return writer.write(numbers, {"as_of": as_of})


def summary(evidence: Any) -> str:
    """The summary of a flag's evidence, in the reader's language."""
    if not isinstance(evidence, dict):
        return ""
    return summary_of(evidence.get("rule"), evidence.get("numbers"), as_of=evidence.get("as_of"),
                      stored=evidence.get("summary"))


def english_summary(rule: str, numbers: dict[str, Any], *, as_of: date | None = None) -> str:
    """The sentence the evidence stores (English, whatever language the sweep runs in)."""
    with translation.override("en"):
        return summary_of(rule, numbers, as_of=as_of.isoformat() if as_of else None)


# --- Window labels ---------------------------------------------------------------------------

_FIXED_LABELS = {
    "usual": gettext_noop("Usual"), "days without a check-in": gettext_noop(
        "Days without a check-in"),
    "previous pulse": gettext_noop("Previous pulse"), "latest pulse": gettext_noop(
        "Latest pulse"),
    "recent": gettext_noop("Recent"), "quiet": gettext_noop("Quiet"),
    "before": gettext_noop("Before"), "baseline": gettext_noop("Baseline"),
}


def _days_label(match: re.Match[str], start: date) -> str:
    count = int(match[1])
    return ngettext("Last %(count)s day", "Last %(count)s days", count) % {"count": count}


def _days_before_label(match: re.Match[str], start: date) -> str:
    count = int(match[1])
    return ngettext("The %(count)s day before", "The %(count)s days before", count) % {
        "count": count}


def _ratings_label(match: re.Match[str], start: date) -> str:
    count = int(match[1])
    return ngettext("Last %(count)s rating", "Last %(count)s ratings", count) % {"count": count}


def _ratings_before_label(match: re.Match[str], start: date) -> str:
    count = int(match[1] or match[2])
    return ngettext("The %(count)s rating before", "The %(count)s ratings before", count) % {
        "count": count}


# Labels a rule writes or wrote with a number or a date in them.
_PATTERN_LABELS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], date], str]], ...] = (
    (re.compile(r"since .+"), lambda m, start: gettext("Since %(day)s") % {
        "day": short_day(start)}),
    (re.compile(r"window of the .+ dose"), lambda m, start: gettext(
        "Window of the %(day)s dose") % {"day": short_day(start)}),
    (re.compile(r"plan week (\d+)"), lambda m, start: gettext("Plan week %(week)s") % {
        "week": m[1]}),
    (re.compile(r"last (\d+) days"), _days_label),
    (re.compile(r"the (\d+) days before"), _days_before_label),
    (re.compile(r"last (\d+) ratings"), _ratings_label),
    (re.compile(r"(?:the (\d+) ratings before|previous (\d+) ratings)"), _ratings_before_label),
)


def window_label(label: Any, start: date) -> str:
    """An evidence window's label ('usual', 'since 3 Nov') in the reader's language, starting
    with a capital; a label no rule wrote, as stored."""
    text = str(label or "").strip()
    if text.lower() in _FIXED_LABELS:
        return gettext(_FIXED_LABELS[text.lower()])
    for pattern, write in _PATTERN_LABELS:
        match = pattern.fullmatch(text.lower())
        if match:
            return write(match, start)
    return text[:1].upper() + text[1:] if text else gettext("Period")


def side_effect_label(value: Any) -> str | None:
    return SideEffect(value).label if value in SideEffect.values else None
