"""The schedule: which steps are due on a calendar date, in routine order (pure, no database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from careplans.schedule import (
    BOTH,
    EVENING,
    MORNING,
    DueStep,
    due_days_per_week,
    due_steps,
    in_ramp_up,
    is_due,
    slots_of,
)

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 11, 23)  # a real Monday; the week runs to Sunday 2026-11-29


@dataclass(frozen=True)
class Item:
    """A stand-in satisfying the ``Schedulable`` protocol."""

    name: str = "item"
    position: int = 0
    time_of_day: str = MORNING
    frequency: str = "daily"
    weekdays: str = ""
    every_n_days: int | None = None
    ramp_every_n_days: int | None = None
    ramp_days: int | None = None
    starts_on: date = MONDAY


def day(n: int, start: date = MONDAY) -> date:
    return start + timedelta(days=n)


def dates_from(first: date, count: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]


def due_days(item: Item, days: range, **kwargs) -> list[int]:
    """Day offsets (from the item's start) on which the item is due."""
    return [n for n in days if is_due(item, day(n, item.starts_on), **kwargs)]


# --- daily -------------------------------------------------------------------------------------


def test_daily_item_is_due_every_day_from_its_start():
    item = Item(frequency="daily", starts_on=date(2026, 11, 1))

    assert due_days(item, range(0, 45)) == list(range(0, 45))


def test_unknown_or_blank_frequency_behaves_as_daily():
    assert all(is_due(Item(frequency=""), day(n)) for n in range(10))


# --- weekdays ----------------------------------------------------------------------------------


def test_the_reference_week_starts_on_a_monday():
    # The weekday tests below rely on it.
    assert MONDAY.weekday() == 0
    assert day(6).weekday() == 6


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2026, 11, 23), True),  # Monday
        (date(2026, 11, 24), False),  # Tuesday
        (date(2026, 11, 25), True),  # Wednesday
        (date(2026, 11, 26), False),  # Thursday
        (date(2026, 11, 27), True),  # Friday
        (date(2026, 11, 28), False),  # Saturday
        (date(2026, 11, 29), False),  # Sunday
        (date(2026, 11, 30), True),  # next Monday
    ],
)
def test_weekdays_024_is_monday_wednesday_friday(on, expected):
    item = Item(frequency="weekdays", weekdays="024", starts_on=date(2026, 11, 1))

    assert is_due(item, on) is expected


def test_weekend_weekdays_are_saturday_and_sunday():
    item = Item(frequency="weekdays", weekdays="56", starts_on=date(2026, 11, 1))

    due = [d for d in (day(n) for n in range(14)) if is_due(item, d)]

    assert due == [
        date(2026, 11, 28), date(2026, 11, 29), date(2026, 12, 5), date(2026, 12, 6),
    ]


def test_weekdays_item_with_no_days_chosen_is_never_due():
    item = Item(frequency="weekdays", weekdays="", starts_on=date(2026, 11, 1))

    assert due_days(item, range(0, 14)) == []


def test_weekdays_item_is_not_due_on_a_chosen_weekday_before_it_starts():
    # given: Monday-only, starting on a Wednesday
    item = Item(frequency="weekdays", weekdays="0", starts_on=date(2026, 11, 25))

    # then: the Monday before the start is not due, the Monday after is
    assert is_due(item, date(2026, 11, 23)) is False
    assert is_due(item, date(2026, 11, 30)) is True


# --- every N days ------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 7, 10])
def test_every_n_days_is_anchored_on_the_item_start(n):
    # given: a start that is not the reference Monday, so anchoring elsewhere would show
    start = date(2026, 11, 26)
    item = Item(frequency="every_n_days", every_n_days=n, starts_on=start)

    # then: day 0 and day N are due, the day before day N and the day after are not
    assert is_due(item, start) is True
    assert is_due(item, day(n, start)) is True
    assert is_due(item, day(n - 1, start)) is False
    assert is_due(item, day(n + 1, start)) is False
    assert is_due(item, day(2 * n, start)) is True


def test_every_3_days_over_two_weeks():
    item = Item(frequency="every_n_days", every_n_days=3, starts_on=date(2026, 11, 24))

    assert due_days(item, range(0, 15)) == [0, 3, 6, 9, 12]


@pytest.mark.parametrize("n", [None, 0, 1])
def test_every_n_days_without_a_usable_n_is_daily(n):
    item = Item(frequency="every_n_days", every_n_days=n)

    assert due_days(item, range(0, 7)) == list(range(7))


# --- start dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "item",
    [
        Item(frequency="daily"),
        Item(frequency="weekdays", weekdays="0123456"),
        Item(frequency="every_n_days", every_n_days=1),
        Item(frequency="daily", ramp_every_n_days=1, ramp_days=14),
    ],
    ids=["daily", "weekdays", "every_n_days", "ramp"],
)
def test_nothing_is_due_before_the_item_starts(item):
    assert is_due(item, day(-1)) is False
    assert is_due(item, day(-7)) is False
    assert is_due(item, day(0)) is True


def test_nothing_is_due_before_the_plan_starts():
    # given: the item started earlier than the plan
    item = Item(frequency="daily", starts_on=date(2026, 11, 1))
    plan_starts_on = date(2026, 11, 10)

    # then
    assert is_due(item, date(2026, 11, 9), plan_starts_on=plan_starts_on) is False
    assert is_due(item, date(2026, 11, 10), plan_starts_on=plan_starts_on) is True
    assert is_due(item, date(2026, 11, 9)) is True  # without a plan start it would be due


def test_every_n_days_stays_anchored_on_the_item_start_when_the_plan_starts_later():
    # given: every 3 days from Nov 1 (due Nov 1, 4, 7, 10); the plan starts Nov 5
    item = Item(frequency="every_n_days", every_n_days=3, starts_on=date(2026, 11, 1))
    plan_starts_on = date(2026, 11, 5)

    # when
    due = [
        d for d in dates_from(date(2026, 11, 1), 12)
        if is_due(item, d, plan_starts_on=plan_starts_on)
    ]

    # then: Nov 4 is before the plan; Nov 5 is not on the item's rhythm
    assert due == [date(2026, 11, 7), date(2026, 11, 10)]


def test_plan_start_before_item_start_does_not_make_the_item_due_early():
    item = Item(starts_on=date(2026, 11, 10))

    assert is_due(item, date(2026, 11, 9), plan_starts_on=date(2026, 11, 1)) is False
    assert is_due(item, date(2026, 11, 10), plan_starts_on=date(2026, 11, 1)) is True


# --- ramp-up -----------------------------------------------------------------------------------


def test_alternate_nights_for_14_days_then_nightly():
    # given: "alternate nights for 14 days, then nightly"
    item = Item(
        time_of_day=EVENING, frequency="daily", ramp_every_n_days=2, ramp_days=14,
        starts_on=date(2026, 11, 23),
    )

    # when
    due = due_days(item, range(0, 18))

    # then: even days during the ramp; day 13 is the last ramp day and odd; every day from 14
    assert due == [0, 2, 4, 6, 8, 10, 12, 14, 15, 16, 17]


@pytest.mark.parametrize(
    ("offset", "expected"),
    [(-1, False), (0, True), (1, False), (12, True), (13, False), (14, True), (15, True)],
)
def test_ramp_boundaries(offset, expected):
    item = Item(frequency="daily", ramp_every_n_days=2, ramp_days=14)

    assert is_due(item, day(offset)) is expected


@pytest.mark.parametrize(
    ("offset", "expected"),
    [(-1, False), (0, True), (1, True), (13, True), (14, False), (15, False)],
)
def test_in_ramp_up_covers_exactly_ramp_days_from_the_start(offset, expected):
    item = Item(ramp_every_n_days=2, ramp_days=14)

    assert in_ramp_up(item, day(offset)) is expected


@pytest.mark.parametrize("ramp_days", [None, 0])
def test_no_ramp_days_means_no_ramp(ramp_days):
    item = Item(frequency="daily", ramp_every_n_days=2, ramp_days=ramp_days)

    assert in_ramp_up(item, day(0)) is False
    assert due_days(item, range(0, 5)) == [0, 1, 2, 3, 4]


def test_ramp_days_without_a_ramp_interval_follow_the_frequency():
    item = Item(frequency="every_n_days", every_n_days=3, ramp_every_n_days=None, ramp_days=7)

    assert due_days(item, range(0, 10)) == [0, 3, 6, 9]


def test_ramp_on_a_weekdays_item_ignores_weekdays_until_the_ramp_ends():
    # given: Mon/Wed/Fri, but every other day for the first 7 days, starting on a Tuesday
    item = Item(
        frequency="weekdays", weekdays="024", ramp_every_n_days=2, ramp_days=7,
        starts_on=date(2026, 11, 24),
    )

    # when
    due = [d for d in dates_from(date(2026, 11, 24), 11) if is_due(item, d)]

    # then: ramp days 0, 2, 4, 6 (Tue, Thu, Sat, Mon) whatever the weekday; then Mon/Wed/Fri
    assert due == [
        date(2026, 11, 24),  # Tue, ramp day 0 (not a chosen weekday)
        date(2026, 11, 26),  # Thu, ramp day 2
        date(2026, 11, 28),  # Sat, ramp day 4
        date(2026, 11, 30),  # Mon, ramp day 6
        # Tue Dec 1 is day 7: ramp over, Tuesday is not chosen
        date(2026, 12, 2),  # Wed
        date(2026, 12, 4),  # Fri
    ]
    # Wed Nov 25 is a chosen weekday but an off day of the ramp
    assert is_due(item, date(2026, 11, 25)) is False


def test_ramp_on_an_every_n_days_item_hands_over_to_every_n_from_the_start():
    # given: every 2 days for 6 days, then every 3 days (both counted from starts_on)
    item = Item(
        frequency="every_n_days", every_n_days=3, ramp_every_n_days=2, ramp_days=6,
    )

    # then: 0, 2, 4 in the ramp; then multiples of 3 (day 8 is even but not due any more)
    assert due_days(item, range(0, 13)) == [0, 2, 4, 6, 9, 12]


# --- slots and routine order -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time_of_day", "slots"),
    [(MORNING, [MORNING]), (EVENING, [EVENING]), (BOTH, [MORNING, EVENING])],
)
def test_slots_of(time_of_day, slots):
    assert slots_of(Item(time_of_day=time_of_day)) == slots


def test_a_both_item_gives_a_morning_step_and_an_evening_step():
    item = Item(name="moisturiser", time_of_day=BOTH)

    steps = due_steps([item], MONDAY)

    assert steps == [DueStep(item=item, slot=MORNING, day=MONDAY),
                     DueStep(item=item, slot=EVENING, day=MONDAY)]


def test_a_both_item_that_is_not_due_gives_no_steps():
    item = Item(time_of_day=BOTH, frequency="weekdays", weekdays="1")

    assert due_steps([item], MONDAY) == []


def test_due_steps_are_the_morning_routine_then_the_evening_routine_each_by_position():
    # given: items in a scrambled order, one of them not due on a Monday
    items = [
        Item(name="retinoid", position=3, time_of_day=EVENING),
        Item(name="sunscreen", position=2, time_of_day=MORNING),
        Item(name="moisturiser", position=1, time_of_day=BOTH),
        Item(name="cleanser", position=0, time_of_day=EVENING),
        Item(name="mask", position=0, time_of_day=MORNING, frequency="weekdays", weekdays="6"),
        Item(name="vitamin c", position=0, time_of_day=MORNING),
    ]

    # when
    steps = due_steps(items, MONDAY)

    # then
    assert [(step.slot, step.item.name) for step in steps] == [
        (MORNING, "vitamin c"),
        (MORNING, "moisturiser"),
        (MORNING, "sunscreen"),
        (EVENING, "cleanser"),
        (EVENING, "moisturiser"),
        (EVENING, "retinoid"),
    ]


def test_due_steps_order_does_not_depend_on_input_order():
    items = [
        Item(name="a", position=2, time_of_day=EVENING),
        Item(name="b", position=1, time_of_day=MORNING),
        Item(name="c", position=0, time_of_day=BOTH),
    ]

    forward = due_steps(items, MONDAY)
    backward = due_steps(list(reversed(items)), MONDAY)

    assert forward == backward
    assert [(s.slot, s.item.name) for s in forward] == [
        (MORNING, "c"), (MORNING, "b"), (EVENING, "c"), (EVENING, "a"),
    ]


def test_due_steps_respects_the_plan_start_and_ramp():
    # given
    nightly_after_ramp = Item(
        name="retinoid", position=1, time_of_day=EVENING, ramp_every_n_days=2, ramp_days=14,
    )
    cleanser = Item(name="cleanser", position=0, time_of_day=BOTH)
    items = [nightly_after_ramp, cleanser]

    # then
    assert due_steps(items, day(0), plan_starts_on=day(1)) == []
    assert [(s.slot, s.item.name) for s in due_steps(items, day(1))] == [
        (MORNING, "cleanser"), (EVENING, "cleanser"),
    ]
    assert [(s.slot, s.item.name) for s in due_steps(items, day(2))] == [
        (MORNING, "cleanser"), (EVENING, "cleanser"), (EVENING, "retinoid"),
    ]


def test_due_steps_of_no_items_is_empty():
    assert due_steps([], MONDAY) == []


# --- calendar edges ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts_on", "due", "not_due"),
    [
        # across a month end (November has 30 days)
        (date(2026, 11, 29), [date(2026, 12, 1), date(2026, 12, 3)], [date(2026, 11, 30)]),
        # across a year end
        (
            date(2026, 12, 30),
            [date(2027, 1, 1), date(2027, 1, 3)],
            [date(2026, 12, 31), date(2027, 1, 2)],
        ),
        # February in a common year (28 days)
        (date(2027, 2, 27), [date(2027, 3, 1)], [date(2027, 2, 28), date(2027, 3, 2)]),
        # February in a leap year (29 days)
        (date(2028, 2, 28), [date(2028, 3, 1)], [date(2028, 2, 29), date(2028, 3, 2)]),
    ],
    ids=["month-end", "year-end", "february", "leap-february"],
)
def test_every_2_days_across_calendar_edges(starts_on, due, not_due):
    item = Item(frequency="every_n_days", every_n_days=2, starts_on=starts_on)

    assert all(is_due(item, d) for d in due)
    assert not any(is_due(item, d) for d in not_due)


def test_ramp_across_a_year_end():
    # given: 14 days of alternate days from Christmas Day 2026; the ramp ends on 2027-01-08
    item = Item(ramp_every_n_days=2, ramp_days=14, starts_on=date(2026, 12, 25))

    # then
    assert is_due(item, date(2026, 12, 31)) is True  # day 6
    assert is_due(item, date(2027, 1, 1)) is False  # day 7
    assert is_due(item, date(2027, 1, 6)) is True  # day 12
    assert is_due(item, date(2027, 1, 7)) is False  # day 13, last ramp day
    assert is_due(item, date(2027, 1, 8)) is True  # day 14, nightly from now on
    assert is_due(item, date(2027, 1, 9)) is True


def test_weekdays_across_a_year_end():
    # 2026-12-28 is a Monday, 2027-01-01 a Friday, 2027-01-04 a Monday
    item = Item(frequency="weekdays", weekdays="04", starts_on=date(2026, 12, 1))

    due = [d for d in dates_from(date(2026, 12, 28), 8) if is_due(item, d)]

    assert due == [date(2026, 12, 28), date(2027, 1, 1), date(2027, 1, 4)]


def _local_dates(first: date, count: int) -> tuple[list[date], timedelta]:
    """Dates of ``count`` successive local midnights in London, and the real time they span."""
    start = datetime(first.year, first.month, first.day, tzinfo=LONDON)
    midnights = [start + timedelta(days=n) for n in range(count)]  # wall-clock arithmetic
    elapsed = midnights[-1].astimezone(UTC) - midnights[0].astimezone(UTC)
    return [m.date() for m in midnights], elapsed


@pytest.mark.parametrize(
    ("first", "starts_on", "expected_due", "elapsed"),
    [
        # clocks go forward on Sunday 2026-03-29: that day has 23 hours
        (
            date(2026, 3, 26),
            date(2026, 3, 27),
            [date(2026, 3, 27), date(2026, 3, 30), date(2026, 4, 2)],
            timedelta(days=7, hours=-1),
        ),
        # clocks go back on Sunday 2026-10-25: that day has 25 hours
        (
            date(2026, 10, 23),
            date(2026, 10, 24),
            [date(2026, 10, 24), date(2026, 10, 27), date(2026, 10, 30)],
            timedelta(days=7, hours=1),
        ),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_every_3_days_across_a_dst_change_is_plain_date_arithmetic(
    first, starts_on, expected_due, elapsed
):
    # given: eight local dates in London spanning a DST change, and an every-3-days item
    dates, real_time = _local_dates(first, 8)
    assert real_time == elapsed  # the window really spans a day that is not 24 hours long
    item = Item(frequency="every_n_days", every_n_days=3, starts_on=starts_on)

    # when
    due = [d for d in dates if is_due(item, d)]

    # then: the same as counting calendar days
    assert due == expected_due
    assert due == [d for d in dates if d >= starts_on and (d - starts_on).days % 3 == 0]


@pytest.mark.parametrize("dst_day", [date(2026, 3, 29), date(2026, 10, 25)])
def test_ramp_ending_on_a_dst_day_ends_on_that_calendar_date(dst_day):
    # given: a 2-day alternate-day ramp that ends exactly on the DST change
    item = Item(ramp_every_n_days=2, ramp_days=2, starts_on=dst_day - timedelta(days=2))

    # then
    assert is_due(item, dst_day - timedelta(days=1)) is False
    assert in_ramp_up(item, dst_day) is False
    assert is_due(item, dst_day) is True
    assert is_due(item, dst_day + timedelta(days=1)) is True


# --- due days per week -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (Item(frequency="daily"), 7.0),
        (Item(frequency="weekdays", weekdays="024"), 3.0),
        (Item(frequency="weekdays", weekdays="0024"), 3.0),  # a repeated digit counts once
        (Item(frequency="weekdays", weekdays="0123456"), 7.0),
        (Item(frequency="weekdays", weekdays=""), 0.0),
        (Item(frequency="every_n_days", every_n_days=2), 3.5),
        (Item(frequency="every_n_days", every_n_days=7), 1.0),
        (Item(frequency="every_n_days", every_n_days=14), 0.5),
        (Item(frequency="every_n_days", every_n_days=None), 7.0),
        # steady state: a ramp-up does not change the weekly figure
        (Item(frequency="daily", ramp_every_n_days=2, ramp_days=14), 7.0),
    ],
    ids=[
        "daily", "mon-wed-fri", "repeated-digit", "all-week", "no-days", "every-2",
        "every-7", "every-14", "every-none", "ramped-daily",
    ],
)
def test_due_days_per_week(item, expected):
    assert due_days_per_week(item) == pytest.approx(expected)


@pytest.mark.parametrize(
    "item",
    [
        Item(frequency="daily"),
        Item(frequency="weekdays", weekdays="024"),
        Item(frequency="every_n_days", every_n_days=7),
    ],
    ids=["daily", "weekdays", "every-7"],
)
def test_due_days_per_week_matches_a_counted_steady_state_fortnight(item):
    # given: two weeks after any ramp-up
    counted = sum(is_due(item, day(n)) for n in range(7, 21))

    # then
    assert due_days_per_week(item) == pytest.approx(counted / 2)
