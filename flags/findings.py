"""What a rule found about one patient: the contract between the rule evaluators (the
set-based sweep and the naive per-patient loop) and the flag lifecycle (services).

Evidence is plain JSON, deterministic (sorted ids, rounded numbers, ISO dates), so the two
evaluators can be compared for equality and a reader never needs to recompute anything.
Common keys of every evidence dict:

- ``rule``: the rule value (``Rule``)
- ``summary``: one sentence for people ("Adherence 40% in the last 7 days, 85% in the 28 before")
- ``as_of``: the last patient-local date the evaluation covered (ISO)
- ``windows``: ``[{"label", "start", "end"}]`` the date windows compared (ISO, inclusive)
- ``numbers``: the values compared and the thresholds they were compared with
- ``checkin_ids``: the check-ins behind the finding, ascending
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


def window(label: str, start: date, end: date) -> dict[str, str]:
    return {"label": label, "start": start.isoformat(), "end": end.isoformat()}


def percent(done: int, due: int) -> float | None:
    """Adherence as a percentage with one decimal (None when nothing was due)."""
    return round(100.0 * done / due, 1) if due else None


def evidence(
    *, rule: str, summary: str, as_of: date, windows: list[dict[str, str]],
    numbers: dict[str, Any], checkin_ids: list[int],
) -> dict[str, Any]:
    return {
        "rule": rule, "summary": summary, "as_of": as_of.isoformat(), "windows": windows,
        "numbers": numbers, "checkin_ids": sorted(checkin_ids),
    }


__all__ = ["Finding", "Severity", "evidence", "percent", "window"]
