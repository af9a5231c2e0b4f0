"""Which steps are due on a date: the one schedule function that check-ins, reminders and flags use.

Pure date arithmetic on calendar dates (``datetime.date``), always the patient's own local
dates: no times, so no DST effects (a dose due on 28 March with a 3-day window counts until
31 March whatever the clocks do in between). Rules, per item:

- nothing is due before the item's ``starts_on`` (nor before the plan starts), nor after its
  ``ends_on`` (a course's last day, inclusive: a 12-week course stops asking afterwards);
- during a ramp-up (``ramp_days`` days from ``starts_on``), the item is due every
  ``ramp_every_n_days`` days counted from ``starts_on`` (day 0 is due), whatever its frequency;
- after the ramp-up: ``daily``; ``weekdays`` (Monday=0 … Sunday=6); ``every_n_days`` counted
  from ``starts_on``; ``every_n_weeks`` (injections: every 2 or 4 weeks) counted from
  ``starts_on``, the first dose; ``monthly`` on ``day_of_month`` (on the 31st: the last day of
  a shorter month), from the month of ``starts_on``; ``once`` on ``starts_on`` only;
  ``as_needed``: never due (see below);
- an item for "both" is two steps, morning and evening.

**Windows** (``window_days``, for every-N-weeks, monthly and once): a dose scheduled on day D
is due on each day D … D+W (never past ``ends_on``) until it is logged done: "due today" on D,
"late, still counts until D+W" after. It counts **once** in adherence: in the check-in of the
day it is logged done (whichever day of the window), or, never logged, as a missed step of the
window's last day (before that day it is optional: "not yet" is not a miss). The patient
records the date they did it (``StepLog.taken_on``, default the check-in's day, never before
D). A dose logged done on one day of its window is not due on its other days (``due_steps``'s
``done_on``). A window that closes without the dose is a finding for staff
("Missed injection", ``flags``).

**As needed** steps are never due: never in ``due_steps``, never in a check-in's steps due,
never reminded, never missed. ``as_needed_steps`` lists them (one per item, slot
``as_needed``) so Today can offer them in their own "When needed" group; a use is logged, not
counted.

Steps come in routine order: the morning routine, then the evening routine, each by position.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from django.utils.translation import pgettext_lazy

MORNING = "morning"
EVENING = "evening"
BOTH = "both"
AS_NEEDED = "as_needed"  # the slot of an as-needed use (also the frequency's value)
SLOT_ORDER = {MORNING: 0, EVENING: 1, AS_NEEDED: 2}
# A routine's name in the reader's language (a step's slot is stored as "morning"/"evening").
SLOT_NAMES = {
    MORNING: pgettext_lazy("routine", "morning"),
    EVENING: pgettext_lazy("routine", "evening"),
    BOTH: pgettext_lazy("routine", "morning and evening"),
    AS_NEEDED: pgettext_lazy("routine", "when needed"),
}


class Schedulable(Protocol):
    """What the schedule needs of an item (``PlanItem`` provides it)."""

    key: object
    position: int
    time_of_day: str
    frequency: str
    weekdays: str
    every_n_days: int | None
    ramp_every_n_days: int | None
    ramp_days: int | None
    starts_on: date
    every_n_weeks: int | None
    day_of_month: int | None
    window_days: int | None
    ends_on: date | None


@dataclass(frozen=True)
class DueStep:
    """A step due on ``day``. A windowed dose carries the date it was scheduled for and the
    last day it still counts on; before that last day it is ``optional`` (done counts, "not
    yet" is no miss)."""

    item: Schedulable
    slot: str  # "morning", "evening" (or "as_needed" for ``as_needed_steps``)
    day: date | None = None
    scheduled_on: date | None = None  # windowed doses only
    last_day: date | None = None  # windowed doses only: the window's last day

    @property
    def windowed(self) -> bool:
        return self.last_day is not None

    @property
    def late(self) -> bool:
        """A windowed dose shown after the day it was due."""
        return self.windowed and self.day is not None and self.day > self.scheduled_on

    @property
    def optional(self) -> bool:
        """Counted only if done: a windowed dose before its window's last day."""
        return self.windowed and self.day is not None and self.day < self.last_day


def in_ramp_up(item: Schedulable, on: date) -> bool:
    return bool(item.ramp_days) and item.starts_on <= on < item.starts_on + timedelta(
        days=item.ramp_days
    )


def month_day(year: int, month: int, day: int) -> date:
    """``day`` of that month, or the month's last day when it is shorter (31 → 30 April)."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _opt(item: Schedulable, name: str) -> object:
    """A field added with the windowed kinds; stand-ins written before them may lack it."""
    return getattr(item, name, None)


def _active(item: Schedulable, on: date, plan_starts_on: date | None) -> bool:
    ends_on = _opt(item, "ends_on")
    return not (on < item.starts_on or (plan_starts_on is not None and on < plan_starts_on)
                or (ends_on is not None and on > ends_on))


def scheduled_on(item: Schedulable, on: date) -> bool:
    """Whether the rule puts a dose on ``on`` (windows and the active span aside)."""
    days_since_start = (on - item.starts_on).days
    if in_ramp_up(item, on) and item.ramp_every_n_days:
        return days_since_start % item.ramp_every_n_days == 0
    frequency = item.frequency
    if frequency == "weekdays":
        return str(on.weekday()) in item.weekdays
    if frequency == "every_n_days":
        return days_since_start % max(item.every_n_days or 1, 1) == 0
    if frequency == "every_n_weeks":
        return days_since_start % (7 * max(_opt(item, "every_n_weeks") or 1, 1)) == 0
    if frequency == "monthly":
        return on == month_day(on.year, on.month,
                               _opt(item, "day_of_month") or item.starts_on.day)
    if frequency == "once":
        return on == item.starts_on
    return frequency != AS_NEEDED  # daily (as needed is never on the schedule)


def window_of(item: Schedulable) -> int:
    """Days after its date a dose still counts (0: none); only windowed frequencies have one."""
    if item.frequency not in ("every_n_weeks", "monthly", "once"):
        return 0
    return _opt(item, "window_days") or 0


def dose_for(item: Schedulable, on: date, *, plan_starts_on: date | None = None
             ) -> tuple[date, date] | None:
    """(scheduled date, last day it counts) of the dose due on ``on``, or None. For an item
    without a window both are ``on``."""
    if not _active(item, on, plan_starts_on):
        return None
    window = window_of(item)
    for back in range(window + 1):
        day = on - timedelta(days=back)
        if not _active(item, day, plan_starts_on):
            break
        if scheduled_on(item, day):
            last, ends_on = day + timedelta(days=window), _opt(item, "ends_on")
            return day, min(last, ends_on) if ends_on else last
    return None


def is_due(item: Schedulable, on: date, *, plan_starts_on: date | None = None) -> bool:
    """Whether the item is due on the calendar date ``on`` (either slot); a windowed dose is
    due on every day of its window (``due_steps`` leaves it out once logged done)."""
    return dose_for(item, on, plan_starts_on=plan_starts_on) is not None


def slots_of(item: Schedulable) -> list[str]:
    return [MORNING, EVENING] if item.time_of_day == BOTH else [item.time_of_day]


DoneOn = Mapping[tuple[object, str], Collection[date]]


def due_steps(
    items: list[Schedulable], on: date, *, plan_starts_on: date | None = None,
    done_on: DoneOn | None = None,
) -> list[DueStep]:
    """The steps due on ``on``, morning routine then evening routine, each in position order.

    ``done_on``: per (item key, slot), the days of the check-ins that logged it done (counted
    logs). A windowed dose logged done on another day of its window is not due on ``on``."""
    steps = []
    for item in items:
        dose = dose_for(item, on, plan_starts_on=plan_starts_on)
        if dose is None:
            continue
        scheduled, last = dose
        windowed = window_of(item) > 0
        for slot in slots_of(item):
            if windowed and any(scheduled <= day <= last and day != on for day in (
                    done_on or {}).get((_opt(item, "key"), slot), ())):
                continue
            steps.append(DueStep(item=item, slot=slot, day=on,
                                 scheduled_on=scheduled if windowed else None,
                                 last_day=last if windowed else None))
    return sorted(steps, key=lambda step: (SLOT_ORDER[step.slot], step.item.position))


def as_needed_steps(
    items: list[Schedulable], on: date, *, plan_starts_on: date | None = None
) -> list[DueStep]:
    """The as-needed steps the patient may log on ``on`` (never due), by position."""
    return [DueStep(item=item, slot=AS_NEEDED, day=on)
            for item in sorted(items, key=lambda i: i.position)
            if item.frequency == AS_NEEDED and _active(item, on, plan_starts_on)]


def due_days_per_week(item: Schedulable) -> float:
    """Steady-state (after ramp-up) days per week the item is due: for weekly summaries."""
    if item.frequency == "weekdays":
        return float(len(set(item.weekdays)))
    if item.frequency == "every_n_days":
        return 7 / max(item.every_n_days or 1, 1)
    if item.frequency == "every_n_weeks":
        return 1 / max(_opt(item, "every_n_weeks") or 1, 1)
    if item.frequency == "monthly":
        return 12 / 52
    if item.frequency in ("once", AS_NEEDED):
        return 0.0
    return 7.0
