"""A plan step's schedule as FHIR R4 activities with a ``scheduledTiming`` each.

The schedule's meaning is ``careplans/schedule.py``; this module says the same in FHIR words:

- every Timing carries ``code`` with our schedule kind (``SCHEDULE_KIND_SYSTEM``: daily,
  weekdays, every-n-days, every-n-weeks, monthly, once, as-needed) so a reader never has to
  infer the kind from the numbers, and ``repeat.when`` MORN / EVE (a "both" step is
  ``frequency`` 2 a day at MORN and EVE);
- daily: 1 a day; weekdays: ``dayOfWeek`` (Monday=0 is ``mon``); every N days: ``period`` N
  ``d``; every N weeks: ``period`` N ``wk`` from the first dose (``boundsPeriod.start``);
- monthly: ``period`` 1 ``mo``; R4's Timing has no day of the month, so it is the extension
  ``DAY_OF_MONTH`` (past a short month's end: its last day, as the portal counts);
- once: ``event`` [the date], ``count`` 1, and ``boundsPeriod`` from the date to its window's
  last day;
- a window (every N weeks, monthly, once) is the extension ``DOSE_WINDOW_DAYS`` (days after a
  due date in which a late dose still counts);
- a course: ``boundsPeriod.end`` is its last day (inclusive);
- a ramp-up is a phase with another rhythm, which one Timing cannot say: the step becomes two
  activities, the ramp-up (every ``ramp_every_n_days`` days, bounded to the ramp-up's days)
  and the steady schedule from the day after, both with the element id ``item-<key>`` (the
  ramp-up's suffixed ``-ramp-up``) so a reader sees they are one step (every N days/weeks
  still count from the step's first day, ``starts_on``, as the portal does);
- as needed: CarePlan has no ``asNeeded``; the Timing has no rhythm at all (no frequency,
  period, event), only its bounds and the kind code ``as-needed`` (text "As needed").
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from interop.canonical import BASE

SCHEDULE_KIND_SYSTEM = BASE + "CodeSystem/schedule-kind"
DAY_OF_MONTH = BASE + "StructureDefinition/day-of-month"
DOSE_WINDOW_DAYS = BASE + "StructureDefinition/dose-window-days"

WEEKDAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KIND_CODES = {
    "daily": ("daily", "Every day"),
    "weekdays": ("weekdays", "On chosen days of the week"),
    "every_n_days": ("every-n-days", "Every few days"),
    "every_n_weeks": ("every-n-weeks", "Every few weeks"),
    "monthly": ("monthly", "Once a month"),
    "once": ("once", "Once, on a date"),
    "as_needed": ("as-needed", "As needed"),
}
WHEN = {"morning": ["MORN"], "evening": ["EVE"], "both": ["MORN", "EVE"]}
WINDOWED = ("every_n_weeks", "monthly", "once")


def _kind_code(frequency: str) -> dict[str, Any]:
    code, text = KIND_CODES.get(frequency, KIND_CODES["daily"])
    return {"coding": [{"system": SCHEDULE_KIND_SYSTEM, "code": code, "display": text}],
            "text": text}


def _bounds(start: date, end: date | None) -> dict[str, str]:
    period = {"start": start.isoformat()}
    if end is not None:
        period["end"] = end.isoformat()
    return period


def steady_timing(item: dict[str, Any], start: date) -> dict[str, Any]:
    """The step's own schedule from ``start`` (its first day, or the day after a ramp-up)."""
    frequency = item["frequency"]
    per_day = 2 if item["time_of_day"] == "both" else 1
    repeat: dict[str, Any] = {"boundsPeriod": _bounds(start, item["ends_on"])}
    extensions = []
    if frequency == "as_needed":
        return {"code": _kind_code(frequency), "repeat": repeat}
    if frequency == "once":
        window = item["window_days"] or 0
        last = start + timedelta(days=window)
        if item["ends_on"] is not None:
            last = min(last, item["ends_on"])
        repeat = {"boundsPeriod": _bounds(start, last), "count": 1}
    elif frequency == "weekdays":
        repeat.update(frequency=per_day, period=1, periodUnit="d",
                      dayOfWeek=[WEEKDAY_CODES[int(d)] for d in sorted(set(item["weekdays"]))])
    elif frequency == "every_n_days":
        repeat.update(frequency=per_day, period=max(item["every_n_days"] or 1, 1),
                      periodUnit="d")
    elif frequency == "every_n_weeks":
        repeat.update(frequency=per_day, period=max(item["every_n_weeks"] or 1, 1),
                      periodUnit="wk")
    elif frequency == "monthly":
        repeat.update(frequency=per_day, period=1, periodUnit="mo")
        extensions.append({"url": DAY_OF_MONTH,
                           "valuePositiveInt": item["day_of_month"] or item["starts_on"].day})
    else:  # daily
        repeat.update(frequency=per_day, period=1, periodUnit="d")
    repeat["when"] = WHEN[item["time_of_day"]]
    if frequency in WINDOWED and item["window_days"]:
        extensions.append({"url": DOSE_WINDOW_DAYS, "valueUnsignedInt": item["window_days"]})
    timing: dict[str, Any] = {"code": _kind_code(frequency), "repeat": repeat}
    if frequency == "once":
        timing["event"] = [start.isoformat()]
    if extensions:
        timing["extension"] = extensions
    return timing


def ramp_up_timing(item: dict[str, Any]) -> dict[str, Any]:
    """The ramp-up phase: every ``ramp_every_n_days`` days over its ``ramp_days`` days."""
    start = item["starts_on"]
    last = start + timedelta(days=item["ramp_days"] - 1)
    if item["ends_on"] is not None:
        last = min(last, item["ends_on"])
    per_day = 2 if item["time_of_day"] == "both" else 1
    return {
        "code": _kind_code("every_n_days"),
        "repeat": {"boundsPeriod": _bounds(start, last), "frequency": per_day,
                   "period": max(item["ramp_every_n_days"] or 1, 1), "periodUnit": "d",
                   "when": WHEN[item["time_of_day"]]},
    }


def has_ramp_up(item: dict[str, Any]) -> bool:
    return bool(item["ramp_days"]) and bool(item["ramp_every_n_days"])


def steady_start_after_ramp_up(item: dict[str, Any]) -> date:
    """The steady phase's first day. The schedule (``careplans.schedule.scheduled_on``) counts
    an every-N-days or every-N-weeks rhythm from the step's start, ramp-up included, so the
    first dose after the ramp-up is the first day of that rhythm on or after its end."""
    ramp_days = item["ramp_days"]
    period = _period_days(item)
    if period is None:
        return item["starts_on"] + timedelta(days=ramp_days)
    return item["starts_on"] + timedelta(days=-(-ramp_days // period) * period)


def _period_days(item: dict[str, Any]) -> int | None:
    if item["frequency"] == "every_n_days":
        return max(item["every_n_days"] or 1, 1)
    if item["frequency"] == "every_n_weeks":
        return 7 * max(item["every_n_weeks"] or 1, 1)
    return None


def phases(item: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(element id, timing) of each phase of a step: its ramp-up if any, then its schedule."""
    element_id = f"item-{item['key']}"
    if not has_ramp_up(item):
        return [(element_id, steady_timing(item, item["starts_on"]))]
    steady_start = steady_start_after_ramp_up(item)
    found = [(f"{element_id}-ramp-up", ramp_up_timing(item))]
    if item["ends_on"] is None or steady_start <= item["ends_on"]:
        found.append((element_id, steady_timing(item, steady_start)))
    return found
