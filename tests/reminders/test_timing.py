"""Reminder timing across timezones and both daylight-saving transitions (pure, no database)."""

from datetime import UTC, date, datetime, time

import pytest

from reminders.timing import ReminderTiming, due_local_date, next_reminder, reminder_instant

EVERY_DAY = "0123456"


def timing(tz: str, at: time = time(20, 0), days: str = EVERY_DAY, on: bool = True):
    return ReminderTiming(enabled=on, local_time=at, weekdays=days, timezone=tz)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("tz", "instant", "expected"), [
    # Auckland (UTC+13 in summer): 07:00 UTC on the 25th is 20:00 on the 25th there.
    ("Pacific/Auckland", utc(2026, 11, 25, 6, 59), None),
    ("Pacific/Auckland", utc(2026, 11, 25, 7, 0), date(2026, 11, 25)),
    # Los Angeles (UTC-8): 20:00 on the 24th is 04:00 UTC on the 25th; the server's date is
    # already the 25th but the patient's reminder is for the 24th.
    ("America/Los_Angeles", utc(2026, 11, 25, 3, 59), None),
    ("America/Los_Angeles", utc(2026, 11, 25, 4, 0), date(2026, 11, 24)),
    # Kolkata (UTC+5:30): 20:00 is 14:30 UTC.
    ("Asia/Kolkata", utc(2026, 11, 25, 14, 29), None),
    ("Asia/Kolkata", utc(2026, 11, 25, 14, 30), date(2026, 11, 25)),
])
def test_due_at_the_patients_local_time(tz, instant, expected):
    assert due_local_date(instant, timing(tz)) == expected


def test_not_due_when_off_or_on_an_unchosen_weekday():
    instant = utc(2026, 11, 25, 21, 0)  # a Wednesday (2) in London
    assert due_local_date(instant, timing("Europe/London", on=False)) is None
    assert due_local_date(instant, timing("Europe/London", days="0134")) is None
    assert due_local_date(instant, timing("Europe/London", days="2")) == date(2026, 11, 25)


def test_spring_forward_a_0230_reminder_still_goes_out_that_day():
    # London, 29 March 2026: 01:00 GMT jumps to 02:00 BST; 02:30 does not exist.
    settings = timing("Europe/London", at=time(2, 30))
    at = reminder_instant(date(2026, 3, 29), time(2, 30), "Europe/London")
    assert utc(2026, 3, 29, 0, 0) < at < utc(2026, 3, 29, 3, 0)
    assert due_local_date(utc(2026, 3, 29, 0, 59), settings) is None
    assert due_local_date(utc(2026, 3, 29, 3, 0), settings) == date(2026, 3, 29)
    assert due_local_date(utc(2026, 3, 29, 22, 0), settings) == date(2026, 3, 29)


def test_fall_back_a_0130_reminder_is_due_from_its_first_occurrence():
    # London, 25 October 2026: 02:00 BST falls back to 01:00 GMT; 01:30 happens twice.
    settings = timing("Europe/London", at=time(1, 30))
    first = utc(2026, 10, 25, 0, 30)  # 01:30 BST
    assert reminder_instant(date(2026, 10, 25), time(1, 30), "Europe/London") == first
    assert due_local_date(utc(2026, 10, 25, 0, 29), settings) is None
    assert due_local_date(first, settings) == date(2026, 10, 25)
    assert due_local_date(utc(2026, 10, 25, 1, 30), settings) == date(2026, 10, 25)  # 01:30 GMT


def test_us_spring_forward_uses_local_rules():
    # Los Angeles, 8 March 2026: 02:00 PST jumps to 03:00 PDT.
    settings = timing("America/Los_Angeles", at=time(2, 30))
    assert due_local_date(utc(2026, 3, 8, 9, 59), settings) is None
    assert due_local_date(utc(2026, 3, 8, 11, 0), settings) == date(2026, 3, 8)


def test_next_reminder_preview_skips_unchosen_days():
    # Wednesday 25 Nov 2026, 21:00 London, reminders on Mondays only at 20:00.
    upcoming = next_reminder(utc(2026, 11, 25, 21, 0), timing("Europe/London", days="0"))
    assert upcoming == utc(2026, 11, 30, 20, 0)
    assert next_reminder(utc(2026, 11, 25, 21, 0), timing("Europe/London", on=False)) is None
