"""When a patient's reminder is due: pure functions of an instant and the patient's settings.

A reminder is due on the patient-local date ``D`` once the patient's local reminder time on
``D`` has passed. Times are resolved with ``zoneinfo`` so the patient's wall clock is honoured
across daylight-saving changes:
- a time that does not exist on the spring-forward day (e.g. 02:30 in London) is read with the
  offset in force before the jump (``fold=0``), so it fires at 03:30 new time, still that day;
- a time that occurs twice on the fall-back day fires at its first occurrence (``fold=0``).
"Once" itself is guaranteed by the delivery record unique on (patient, local date, kind).
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class ReminderTiming:
    enabled: bool
    local_time: time
    weekdays: str  # digits, Monday=0
    timezone: str


def local_date_at(instant: datetime, timezone: str) -> date:
    return instant.astimezone(ZoneInfo(timezone)).date()


def reminder_instant(local_date: date, local_time: time, timezone: str) -> datetime:
    """The UTC instant of ``local_time`` on ``local_date`` in ``timezone`` (see module doc)."""
    wall = datetime.combine(local_date, local_time, tzinfo=ZoneInfo(timezone))
    # Round-trip through UTC normalises a non-existent wall time to a real instant.
    return wall.astimezone(UTC)


def due_local_date(instant: datetime, timing: ReminderTiming) -> date | None:
    """The patient-local date a reminder is due for at ``instant``, or None if none is due yet.

    Only the patient's current local date is considered; missed days are not sent late.
    """
    if not timing.enabled:
        return None
    local_date = local_date_at(instant, timing.timezone)
    if str(local_date.weekday()) not in timing.weekdays:
        return None
    if instant < reminder_instant(local_date, timing.local_time, timing.timezone):
        return None
    return local_date


# The preview looks at today and the week ahead: every chosen weekday at least once.
PREVIEW_DAYS = 8


def upcoming_reminders(instant: datetime, timing: ReminderTiming) -> list[tuple[date, datetime]]:
    """(patient-local date, instant) of each reminder time after ``instant`` in the preview
    window, on the chosen weekdays; none when reminders are off."""
    if not timing.enabled:
        return []
    today = local_date_at(instant, timing.timezone)
    upcoming = []
    for offset in range(PREVIEW_DAYS):
        day = today + timedelta(days=offset)
        at = reminder_instant(day, timing.local_time, timing.timezone)
        if str(day.weekday()) in timing.weekdays and at > instant:
            upcoming.append((day, at))
    return upcoming


def next_reminder(instant: datetime, timing: ReminderTiming, *,
                  without: Container[date] = ()) -> datetime | None:
    """The next instant a reminder would go out (for the settings page preview), passing over
    the local dates in ``without`` (days that will get no reminder whatever the time)."""
    return next((at for day, at in upcoming_reminders(instant, timing) if day not in without),
                None)
