"""Presentation of flag evidence: the numbers a rule compared, as words a reader can scan."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import template

register = template.Library()

# Words for the short forms a rule's number names may use; anything else is shown as written.
WORDS = {"pct": "percent", "min": "minimum", "max": "maximum", "avg": "average"}
UNITS = {"percent": "%", "pct": "%", "points": " points"}


def number_label(key: str) -> str:
    """'recent_percent' -> 'Recent %'; 'baseline_min_logged' -> 'Baseline minimum logged'."""
    words = [WORDS.get(word, word) for word in str(key).split("_") if word]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def number_text(value: Any, key: str = "") -> str:
    """A number, list or nested dict of the evidence as short text. Rules store steps as
    ``[done, due]`` and dates as ISO strings."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        text = f"{value:g}" if float(value).is_integer() else f"{value:.1f}"
        return text + next((unit for end, unit in UNITS.items() if key.endswith(end)), "")
    if isinstance(value, list | tuple):
        if key.endswith("steps") and len(value) == 2 and all(isinstance(v, int) for v in value):
            return f"{value[0]} of {value[1]} steps done"
        parts = [number_text(v) for v in value]
        separator = "; " if any(isinstance(v, dict) for v in value) else ", "
        return separator.join(f"({p})" if isinstance(v, dict) else p
                              for v, p in zip(value, parts, strict=True)) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{number_label(k)}: {number_text(v, str(k))}" for k, v in value.items())
    if isinstance(value, str) and len(value) == 10:
        return iso_day(value)
    return str(value)


@register.filter
def evidence_numbers(numbers: Any) -> list[tuple[str, str]]:
    """(label, value) rows of an evidence ``numbers`` dict, in the rule's own order."""
    if not isinstance(numbers, dict):
        return []
    return [(number_label(key), number_text(value, str(key))) for key, value in numbers.items()]


@register.filter
def steps_percent(done: int, due: int) -> str:
    """'67%' of a day's steps; '' when nothing was due."""
    return f"{(200 * done + due) // (2 * due)}%" if due else ""


@register.filter
def iso_day(value: Any) -> str:
    """An evidence date ('2026-11-03') as 'Tue 3 Nov 2026'; anything else as given."""
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    return f"{day:%a} {day.day} {day:%b %Y}"
