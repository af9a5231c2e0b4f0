"""Presentation of flag evidence: the numbers a rule compared, as words a reader can scan."""

from __future__ import annotations

from typing import Any

from django import template

from flags import evidence_text, wording

register = template.Library()


@register.filter
def evidence_rows(evidence: Any) -> list[tuple[str, str]]:
    """(label, value) rows of a flag's evidence, each number with a plain label."""
    return evidence_text.evidence_rows(evidence)


@register.filter
def steps_percent(done: int, due: int) -> str:
    """'67%' of a day's steps; '' when nothing was due."""
    return f"{(200 * done + due) // (2 * due)}%" if due else ""


@register.filter
def iso_day(value: Any) -> str:
    """An evidence date ('2026-11-03') as 'Tue 3 Nov 2026'; anything else as given."""
    return wording.iso_day(value)


@register.filter
def finding_summary(evidence: Any) -> str:
    """The evidence's one sentence in the reader's language (its stored words for evidence
    of an earlier version)."""
    return wording.summary(evidence)
