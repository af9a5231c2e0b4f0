"""Which steps are due on a date: the one schedule function that check-ins, reminders and flags use.

Pure date arithmetic on calendar dates (``datetime.date``): no times, so no DST effects.
Rules, per item:
- nothing is due before the item's ``starts_on`` (nor before the plan starts);
- during a ramp-up (``ramp_days`` days from ``starts_on``), the item is due every
  ``ramp_every_n_days`` days counted from ``starts_on`` (day 0 is due), whatever its frequency;
- after the ramp-up: ``daily``; ``weekdays`` (Monday=0 … Sunday=6); ``every_n_days`` counted
  from ``starts_on``;
- an item for "both" is two steps, morning and evening.
Steps come in routine order: the morning routine, then the evening routine, each by position.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from django.utils.translation import pgettext_lazy

MORNING = "morning"
EVENING = "evening"
BOTH = "both"
SLOT_ORDER = {MORNING: 0, EVENING: 1}
# A routine's name in the reader's language (a step's slot is stored as "morning"/"evening").
SLOT_NAMES = {
    MORNING: pgettext_lazy("routine", "morning"),
    EVENING: pgettext_lazy("routine", "evening"),
    BOTH: pgettext_lazy("routine", "morning and evening"),
}


class Schedulable(Protocol):
    """What the schedule needs of an item (``PlanItem`` provides it)."""

    position: int
    time_of_day: str
    frequency: str
    weekdays: str
    every_n_days: int | None
    ramp_every_n_days: int | None
    ramp_days: int | None
    starts_on: date


@dataclass(frozen=True)
class DueStep:
    item: Schedulable
    slot: str  # "morning" or "evening"


def in_ramp_up(item: Schedulable, on: date) -> bool:
    return bool(item.ramp_days) and item.starts_on <= on < item.starts_on + timedelta(
        days=item.ramp_days
    )


def is_due(item: Schedulable, on: date, *, plan_starts_on: date | None = None) -> bool:
    """Whether the item is due on the calendar date ``on`` (either slot)."""
    if on < item.starts_on or (plan_starts_on is not None and on < plan_starts_on):
        return False
    days_since_start = (on - item.starts_on).days
    if in_ramp_up(item, on) and item.ramp_every_n_days:
        return days_since_start % item.ramp_every_n_days == 0
    if item.frequency == "weekdays":
        return str(on.weekday()) in item.weekdays
    if item.frequency == "every_n_days":
        return days_since_start % max(item.every_n_days or 1, 1) == 0
    return True


def slots_of(item: Schedulable) -> list[str]:
    return [MORNING, EVENING] if item.time_of_day == BOTH else [item.time_of_day]


def due_steps(
    items: list[Schedulable], on: date, *, plan_starts_on: date | None = None
) -> list[DueStep]:
    """The steps due on ``on``, morning routine then evening routine, each in position order."""
    steps = [
        DueStep(item=item, slot=slot)
        for item in items
        if is_due(item, on, plan_starts_on=plan_starts_on)
        for slot in slots_of(item)
    ]
    return sorted(steps, key=lambda step: (SLOT_ORDER[step.slot], step.item.position))


def due_days_per_week(item: Schedulable) -> float:
    """Steady-state (after ramp-up) days per week the item is due: for weekly summaries."""
    if item.frequency == "weekdays":
        return float(len(set(item.weekdays)))
    if item.frequency == "every_n_days":
        return 7 / max(item.every_n_days or 1, 1)
    return 7.0
