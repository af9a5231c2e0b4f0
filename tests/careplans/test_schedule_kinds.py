"""Schedules beyond daily steps (pure, no database): every few weeks with a window in which a
late dose still counts, monthly, once, a course's end date, as needed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from careplans.schedule import (
    AS_NEEDED,
    EVENING,
    MORNING,
    as_needed_steps,
    dose_for,
    due_days_per_week,
    due_steps,
    is_due,
    month_day,
)

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 11, 23)


@dataclass(frozen=True)
class Item:
    """A stand-in satisfying the ``Schedulable`` protocol, with the dated kinds' fields."""

    name: str = "item"
    key: uuid.UUID = field(default_factory=uuid.uuid4)
    position: int = 0
    time_of_day: str = MORNING
    frequency: str = "daily"
    weekdays: str = ""
    every_n_days: int | None = None
    ramp_every_n_days: int | None = None
    ramp_days: int | None = None
    starts_on: date = MONDAY
    every_n_weeks: int | None = None
    day_of_month: int | None = None
    window_days: int | None = None
    ends_on: date | None = None


def day(n: int, start: date = MONDAY) -> date:
    return start + timedelta(days=n)


def due_offsets(item: Item, days: range) -> list[int]:
    return [n for n in days if is_due(item, day(n, item.starts_on))]


# --- every few weeks (injections) ----------------------------------------------------------------


@pytest.mark.parametrize(("weeks", "expected"), [(2, [0, 14, 28, 42]), (4, [0, 28])])
def test_an_injection_every_2_or_4_weeks_is_due_from_its_first_dose(weeks, expected):
    # given
    item = Item(frequency="every_n_weeks", every_n_weeks=weeks)
    # when / then
    assert due_offsets(item, range(50)) == expected


def test_a_window_makes_the_dose_due_on_each_day_until_its_last():
    # given: every 2 weeks, a late dose still counts for 3 days
    item = Item(frequency="every_n_weeks", every_n_weeks=2, window_days=3)
    # when / then
    assert due_offsets(item, range(20)) == [0, 1, 2, 3, 14, 15, 16, 17]
    assert dose_for(item, day(2)) == (day(0), day(3))


def test_a_windowed_dose_is_optional_before_its_last_day_and_late_after_its_date():
    # given
    item = Item(frequency="every_n_weeks", every_n_weeks=4, window_days=2)
    # when
    first, middle, last = (due_steps([item], day(n))[0] for n in range(3))
    # then
    assert (first.optional, first.late, first.scheduled_on, first.last_day) == (
        True, False, day(0), day(2))
    assert (middle.optional, middle.late) == (True, True)
    assert (last.optional, last.late) == (False, True)


def test_a_dose_logged_done_on_one_day_of_its_window_is_not_due_on_the_others():
    # given: done in the check-in of day 1
    item = Item(frequency="every_n_weeks", every_n_weeks=2, window_days=3)
    done_on = {(item.key, MORNING): [day(1)]}
    # when
    due = [n for n in range(5) if due_steps([item], day(n), done_on=done_on)]
    # then: still shown on day 1 (its answer can be changed there), on no other day
    assert due == [1]
    # and the next dose is due again
    assert due_steps([item], day(14), done_on=done_on)


def test_a_dose_done_in_the_previous_window_does_not_hide_the_next():
    item = Item(frequency="every_n_weeks", every_n_weeks=2, window_days=3)
    assert due_steps([item], day(15), done_on={(item.key, MORNING): [day(2)]})


def test_items_without_a_window_are_never_optional():
    item = Item(frequency="every_n_weeks", every_n_weeks=2)
    (step,) = due_steps([item], MONDAY)
    assert (step.windowed, step.optional, step.late) == (False, False, False)


# --- monthly and once -------------------------------------------------------------------------


@pytest.mark.parametrize(("wanted", "year", "month", "expected"), [
    (31, 2027, 2, date(2027, 2, 28)), (31, 2028, 2, date(2028, 2, 29)),
    (31, 2027, 4, date(2027, 4, 30)), (15, 2027, 4, date(2027, 4, 15)),
])
def test_a_monthly_day_past_a_short_months_end_is_its_last_day(wanted, year, month, expected):
    assert month_day(year, month, wanted) == expected


def test_a_monthly_task_is_due_on_its_day_of_each_month_from_its_start():
    # given: a blood test on the 31st, from 10 January 2027
    item = Item(frequency="monthly", day_of_month=31, starts_on=date(2027, 1, 10))
    # when
    due = [d for d in (date(2027, 1, 10) + timedelta(days=n) for n in range(120))
           if is_due(item, d)]
    # then
    assert due == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]


def test_a_monthly_task_without_a_day_uses_its_start_day():
    item = Item(frequency="monthly", starts_on=date(2027, 1, 12))
    assert is_due(item, date(2027, 3, 12))
    assert not is_due(item, date(2027, 3, 13))


def test_a_one_date_task_is_due_on_its_date_and_its_window_only():
    item = Item(frequency="once", starts_on=date(2027, 5, 4), window_days=1)
    due = [d for d in (date(2027, 5, 1) + timedelta(days=n) for n in range(60)) if is_due(item, d)]
    assert due == [date(2027, 5, 4), date(2027, 5, 5)]


def test_a_window_is_ignored_on_daily_steps():
    item = Item(frequency="daily", window_days=3)
    (step,) = due_steps([item], MONDAY)
    assert not step.windowed


# --- courses -------------------------------------------------------------------------------------


def test_a_twelve_week_course_stops_asking_after_its_end_date():
    # given: daily for 12 weeks (the end date inclusive)
    item = Item(frequency="daily", ends_on=day(83))
    # when / then
    assert is_due(item, day(83))
    assert not any(is_due(item, day(n)) for n in range(84, 200))


def test_a_window_never_reaches_past_the_course_end():
    # given: the last dose two days before the end, with a 5-day window
    item = Item(frequency="every_n_weeks", every_n_weeks=2, window_days=5, ends_on=day(16))
    # then: the late dose counts until the end date, and not after
    assert dose_for(item, day(15)) == (day(14), day(16))
    assert not is_due(item, day(17))


# --- as needed ---------------------------------------------------------------------------------


def test_an_as_needed_step_is_never_due_but_offered_while_active():
    # given
    item = Item(frequency=AS_NEEDED, time_of_day=EVENING, ends_on=day(10))
    # then
    assert not any(is_due(item, day(n)) for n in range(30))
    assert due_steps([item], day(3)) == []
    (offered,) = as_needed_steps([item], day(3))
    assert (offered.item, offered.slot) == (item, AS_NEEDED)
    assert as_needed_steps([item], day(11)) == []
    assert as_needed_steps([item], day(-1)) == []


@pytest.mark.parametrize(("item", "per_week"), [
    (Item(frequency="every_n_weeks", every_n_weeks=2), 0.5),
    (Item(frequency="monthly", day_of_month=1), 12 / 52),
    (Item(frequency="once"), 0.0),
    (Item(frequency=AS_NEEDED), 0.0),
])
def test_days_per_week_of_the_new_kinds(item, per_week):
    assert due_days_per_week(item) == pytest.approx(per_week)


# --- daylight saving inside an injection window -----------------------------------------------


@pytest.mark.parametrize("change", [date(2027, 3, 28), date(2027, 10, 31)])
def test_a_clock_change_inside_the_window_shifts_no_day(change):
    # given: a dose due the Saturday before London's clock change, counted for 2 more days
    saturday = change - timedelta(days=1)
    item = Item(frequency="every_n_weeks", every_n_weeks=2, window_days=2, starts_on=saturday)
    # when: every half hour (UTC) from Friday noon to Wednesday noon, read in the patient's zone
    instants = [datetime(saturday.year, saturday.month, saturday.day, 12, tzinfo=UTC)
                - timedelta(days=1) + timedelta(minutes=30 * n) for n in range(5 * 48)]
    due_local_days = sorted({instant.astimezone(LONDON).date() for instant in instants
                             if is_due(item, instant.astimezone(LONDON).date())})
    # then: Saturday, Sunday (the change) and Monday, whatever the clocks did
    assert due_local_days == [saturday, change, change + timedelta(days=1)]
    assert dose_for(item, change + timedelta(days=1)) == (saturday, change + timedelta(days=1))
