"""What a rule found about one patient: the contract between the rule evaluators (the
set-based sweep, and the per-patient reference of the tests) and the flag lifecycle (services).

Evidence is plain JSON, deterministic (sorted ids, rounded numbers, ISO dates), so the two
evaluators can be compared for equality and a reader never needs to recompute anything.
Common keys of every evidence dict:

- ``rule``: the rule value (``Rule``)
- ``title``: what happened, in a few words, by the branch of the rule that fired
  ("Satisfaction fell" and "Satisfaction has stayed low" are different findings of one rule)
- ``summary``: one sentence for people ("Adherence fell 45 points, from 85% in the 28 days
  before (20 logged) to 40% in the last 7 days (5 days logged).")
- ``as_of``: the last patient-local date the evaluation covered (ISO)
- ``windows``: ``[{"label", "start", "end", "signal"}]`` the date windows compared (ISO,
  inclusive) and the signal each is about (``STEPS``, ``RATINGS``, ``PULSES``: what the flag
  page charts for it)
- ``numbers``: the values compared and the thresholds they were compared with
- ``checkin_ids``: the check-ins behind the finding, ascending

A severe side effect may come from a patient's message instead (``numbers["reported_in"]`` is
``REPORTED_IN_MESSAGE``); its evidence then also has ``message_ids`` and ``thread_ids``, the
messages and their conversations behind it, ascending (never a message's text).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .models import Severity


@dataclass(frozen=True)
class Finding:
    patient_id: int
    rule: str
    severity: int  # Severity value
    evidence: dict[str, Any]
    # When the newest data behind the evidence was recorded (max CheckIn.updated_at). A
    # resolved flag is followed by a new one only when this is later than its resolution.
    evidence_at: datetime


# What a window's data is: steps done on check-ins, satisfaction ratings, alliance pulse totals
# (evidence written before the weekly partnership question), partnership answers (0-10: the
# week's question, or a full pulse's mean answer).
STEPS, RATINGS, PULSES, PARTNERSHIP = "steps", "ratings", "pulses", "partnership"

# Where a severe side effect was reported when not at a check-in: in a message to the clinic.
REPORTED_IN_MESSAGE = "message"


def window(label: str, start: date, end: date, *, signal: str) -> dict[str, str]:
    return {"label": label, "start": start.isoformat(), "end": end.isoformat(),
            "signal": signal}


def percent(done: int, due: int) -> float | None:
    """Adherence as a percentage with one decimal (None when nothing was due)."""
    return round(100.0 * done / due, 1) if due else None


def evidence(
    *, rule: str, title: str, summary: str, as_of: date, windows: list[dict[str, str]],
    numbers: dict[str, Any], checkin_ids: list[int],
) -> dict[str, Any]:
    return {
        "rule": rule, "title": title, "summary": summary, "as_of": as_of.isoformat(),
        "windows": windows, "numbers": numbers, "checkin_ids": sorted(checkin_ids),
    }


__all__ = ["PARTNERSHIP", "PULSES", "RATINGS", "REPORTED_IN_MESSAGE", "STEPS", "Finding",
           "Severity", "evidence", "percent", "window"]
