"""The fit check: budget, time and preferences against a plan's items (pure, no database)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest

from careplans.fit import FitPreference, FitProfile, FitReport, FitWarning, check_fit
from careplans.schedule import BOTH, EVENING, MORNING


@dataclass(frozen=True)
class Item:
    """A stand-in satisfying the ``FitItem`` protocol."""

    key: object = "item"
    name: str = "Item"
    kind: str = "topical"
    time_of_day: str = MORNING
    frequency: str = "daily"
    weekdays: str = ""
    minutes: int = 1
    monthly_cost: Decimal = Decimal("0")
    contains_fragrance: bool = False
    animal_derived: bool = False
    pregnancy_unsafe: bool = False


def profile(**overrides) -> FitProfile:
    """A roomy profile: nothing warns unless a test narrows it."""
    defaults = {
        "monthly_budget": Decimal("100.00"),
        "currency": "GBP",
        "morning_minutes": 60,
        "evening_minutes": 60,
        "preferences": (),
    }
    return FitProfile(**{**defaults, **overrides})


def codes(report: FitReport) -> list[str]:
    return [warning.code for warning in report.warnings]


# --- cost and budget ---------------------------------------------------------------------------


def test_total_monthly_cost_is_the_exact_decimal_sum():
    # given: amounts whose float sum is not exact (0.1 + 0.2 != 0.3 in binary floating point)
    items = [
        Item(key="a", monthly_cost=Decimal("0.10")),
        Item(key="b", monthly_cost=Decimal("0.20")),
    ]

    # when
    report = check_fit(profile(monthly_budget=Decimal("0.30")), items)

    # then
    assert isinstance(report.total_monthly_cost, Decimal)
    assert report.total_monthly_cost == Decimal("0.30")
    assert report.over_budget_by == Decimal("0")
    assert "budget" not in codes(report)


def test_no_items_cost_nothing():
    report = check_fit(profile(), [])

    assert report.total_monthly_cost == Decimal("0")
    assert report.daily_steps == 0
    assert report.morning_minutes == report.evening_minutes == 0
    assert report.warnings == []
    assert report.fits is True


def test_exactly_at_budget_does_not_warn():
    # given: 12.50 + 7.49 + 0.01 = 20.00
    items = [
        Item(key="a", monthly_cost=Decimal("12.50")),
        Item(key="b", monthly_cost=Decimal("7.49")),
        Item(key="c", monthly_cost=Decimal("0.01")),
    ]

    # when
    report = check_fit(profile(monthly_budget=Decimal("20.00")), items)

    # then
    assert report.total_monthly_cost == Decimal("20.00")
    assert report.monthly_budget == Decimal("20.00")
    assert report.over_budget_by == Decimal("0")
    assert report.warnings == []
    assert report.fits is True


def test_one_penny_over_budget_warns_with_the_amount_over():
    # given: 12.50 + 7.51 = 20.01 against 20.00
    items = [
        Item(key="a", monthly_cost=Decimal("12.50")),
        Item(key="b", monthly_cost=Decimal("7.51")),
    ]

    # when
    report = check_fit(profile(monthly_budget=Decimal("20.00")), items)

    # then
    assert report.total_monthly_cost == Decimal("20.01")
    assert report.over_budget_by == Decimal("0.01")
    assert report.warnings == [
        FitWarning(
            "budget",
            "Costs £20.01 a month: £0.01 over the budget of £20.00.",
        )
    ]
    assert report.fits is False


def test_budget_warning_formats_thousands_and_uses_the_profile_currency():
    items = [Item(monthly_cost=Decimal("1234.5"))]

    report = check_fit(profile(monthly_budget=Decimal("1000"), currency="EUR"), items)

    assert report.currency == "EUR"
    assert report.over_budget_by == Decimal("234.5")
    assert report.warnings == [
        FitWarning(
            "budget",
            "Costs €1,234.50 a month: €234.50 over the budget of €1,000.00.",
        )
    ]


def test_under_budget_is_never_negative_over():
    report = check_fit(profile(monthly_budget=Decimal("50")), [Item(monthly_cost=Decimal("10"))])

    assert report.over_budget_by == Decimal("0")
    assert report.warnings == []


# --- time --------------------------------------------------------------------------------------


def test_minutes_per_routine_count_a_both_item_in_each_routine():
    # given
    items = [
        Item(key="cleanser", time_of_day=MORNING, minutes=3),
        Item(key="moisturiser", time_of_day=BOTH, minutes=2),
        Item(key="retinoid", time_of_day=EVENING, minutes=4),
    ]

    # when
    report = check_fit(profile(morning_minutes=10, evening_minutes=20), items)

    # then
    assert report.morning_minutes == 5  # 3 + 2
    assert report.evening_minutes == 6  # 2 + 4
    assert report.morning_available == 10
    assert report.evening_available == 20


ROUTINE_ITEMS = [
    Item(key="cleanser", time_of_day=MORNING, minutes=3),
    Item(key="moisturiser", time_of_day=BOTH, minutes=2),
    Item(key="retinoid", time_of_day=EVENING, minutes=4),
]  # morning 5 min, evening 6 min


@pytest.mark.parametrize(
    ("morning_available", "evening_available", "expected_codes"),
    [
        (5, 6, []),  # exactly enough time
        (4, 6, ["time:morning"]),
        (5, 5, ["time:evening"]),
        (4, 5, ["time:morning", "time:evening"]),
        (0, 0, ["time:morning", "time:evening"]),
    ],
)
def test_routine_time_warnings(morning_available, evening_available, expected_codes):
    report = check_fit(
        profile(morning_minutes=morning_available, evening_minutes=evening_available),
        ROUTINE_ITEMS,
    )

    assert codes(report) == expected_codes
    assert report.fits is (expected_codes == [])


def test_time_warning_messages_name_the_minutes():
    report = check_fit(profile(morning_minutes=4, evening_minutes=5), ROUTINE_ITEMS)

    assert report.warnings == [
        FitWarning("time:morning",
                   "The morning routine takes 5 min, more than the 4 min available."),
        FitWarning("time:evening",
                   "The evening routine takes 6 min, more than the 5 min available."),
    ]


def test_a_both_item_alone_can_overrun_the_evening():
    # given: plenty of morning time, little evening time
    items = [Item(time_of_day=BOTH, minutes=5)]

    # when
    report = check_fit(profile(morning_minutes=30, evening_minutes=4), items)

    # then
    assert codes(report) == ["time:evening"]


# --- preferences -------------------------------------------------------------------------------

CONFLICT_CASES = [
    # conflict rule, what makes an item clash, a different property that must NOT clash
    ("oral", {"kind": "oral"}, {"kind": "injection"}),
    ("injection", {"kind": "injection"}, {"kind": "oral"}),
    ("fragrance", {"contains_fragrance": True}, {"animal_derived": True}),
    ("animal_derived", {"animal_derived": True}, {"pregnancy_unsafe": True}),
    ("pregnancy_unsafe", {"pregnancy_unsafe": True}, {"contains_fragrance": True}),
]


@pytest.mark.parametrize(
    ("conflict", "clashing", "other"), CONFLICT_CASES, ids=[c[0] for c in CONFLICT_CASES]
)
def test_each_conflicting_item_gets_its_own_preference_warning(conflict, clashing, other):
    # given: two clashing items, one with a different flagged property, one plain
    preference = FitPreference(key="avoid-it", label="Avoid it", conflict=conflict)
    items = [
        Item(key="k1", name="First", **clashing),
        Item(key="k2", name="Other", **other),
        Item(key="k3", name="Plain"),
        Item(key="k4", name="Second", **clashing),
    ]

    # when
    report = check_fit(profile(preferences=(preference,)), items)

    # then
    assert report.warnings == [
        FitWarning("pref:avoid-it:k1", "\u201cFirst\u201d goes against \u201cAvoid it\u201d."),
        FitWarning("pref:avoid-it:k4", "\u201cSecond\u201d goes against \u201cAvoid it\u201d."),
    ]
    assert report.respected_preferences == []
    assert report.fits is False


@pytest.mark.parametrize(
    ("conflict", "clashing", "other"), CONFLICT_CASES, ids=[c[0] for c in CONFLICT_CASES]
)
def test_a_preference_without_conflicting_items_is_respected(conflict, clashing, other):
    # given: only items with other properties
    preference = FitPreference(key="avoid-it", label="Avoid it", conflict=conflict)
    items = [Item(key="k1", **other), Item(key="k2")]

    # when
    report = check_fit(profile(preferences=(preference,)), items)

    # then
    assert report.warnings == []
    assert report.respected_preferences == ["Avoid it"]
    assert report.fits is True


def test_preference_codes_use_the_item_key_as_given():
    # given: keys are objects (UUIDs for plan items), stringified into the code
    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    preference = FitPreference(key="no-oral", label="No tablets", conflict="oral")

    # when
    report = check_fit(profile(preferences=(preference,)), [Item(key=key, kind="oral")])

    # then
    assert codes(report) == ["pref:no-oral:12345678-1234-5678-1234-567812345678"]


def test_respected_and_broken_preferences_are_kept_apart_in_profile_order():
    # given
    preferences = (
        FitPreference(key="no-oral", label="No tablets", conflict="oral"),
        FitPreference(key="no-fragrance", label="Fragrance-free", conflict="fragrance"),
        FitPreference(key="vegan", label="No animal products", conflict="animal_derived"),
        FitPreference(key="no-needles", label="No injections", conflict="injection"),
    )
    items = [
        Item(key="tab", name="Doxycycline", kind="oral"),
        Item(key="cream", name="Night cream", contains_fragrance=True, time_of_day=EVENING),
    ]

    # when
    report = check_fit(profile(preferences=preferences), items)

    # then
    assert codes(report) == ["pref:no-oral:tab", "pref:no-fragrance:cream"]
    assert report.respected_preferences == ["No animal products", "No injections"]


def test_one_item_can_clash_with_several_preferences():
    preferences = (
        FitPreference(key="no-fragrance", label="Fragrance-free", conflict="fragrance"),
        FitPreference(key="pregnant", label="Pregnancy-safe", conflict="pregnancy_unsafe"),
    )
    item = Item(key="x", name="Scented retinoid", contains_fragrance=True, pregnancy_unsafe=True)

    report = check_fit(profile(preferences=preferences), [item])

    assert codes(report) == ["pref:no-fragrance:x", "pref:pregnant:x"]
    assert report.respected_preferences == []


def test_a_preference_with_no_conflict_rule_never_warns():
    # given: free-text guidance, and an item that has every flagged property
    preference = FitPreference(key="mornings", label="Prefers short mornings", conflict="")
    items = [
        Item(
            key="all", kind="oral", contains_fragrance=True, animal_derived=True,
            pregnancy_unsafe=True,
        ),
        Item(key="inj", kind="injection", time_of_day=BOTH),
        Item(key="m1"), Item(key="m2"), Item(key="m3"),
    ]

    # when
    report = check_fit(profile(preferences=(preference,)), items)

    # then
    assert report.daily_steps == 6  # more than 3: even "many steps" would not apply here
    assert report.warnings == []
    assert report.fits is True


# --- many steps --------------------------------------------------------------------------------

FEWER_STEPS = FitPreference(key="fewer-steps", label="Fewer steps", conflict="many_steps")


def test_three_daily_steps_respect_fewer_steps():
    # given: a "both" item (2 steps) and a morning item (1 step)
    items = [Item(key="a", time_of_day=BOTH), Item(key="b", time_of_day=MORNING)]

    # when
    report = check_fit(profile(preferences=(FEWER_STEPS,)), items)

    # then
    assert report.daily_steps == 3
    assert report.warnings == []
    assert report.respected_preferences == ["Fewer steps"]


def test_four_daily_steps_give_one_warning_for_fewer_steps():
    # given: a "both" item makes the fourth step
    items = [
        Item(key="a", time_of_day=BOTH),
        Item(key="b", time_of_day=MORNING),
        Item(key="c", time_of_day=EVENING),
    ]

    # when
    report = check_fit(profile(preferences=(FEWER_STEPS,)), items)

    # then
    assert report.daily_steps == 4
    assert report.warnings == [
        FitWarning(
            "pref:fewer-steps",
            "4 steps a day goes against \u201cFewer steps\u201d (aim for 3 or fewer).",
        )
    ]
    assert report.respected_preferences == []


def test_many_steps_warns_once_however_many_items():
    items = [Item(key=f"k{n}", time_of_day=BOTH) for n in range(6)]

    report = check_fit(profile(preferences=(FEWER_STEPS,)), items)

    assert report.daily_steps == 12
    assert codes(report) == ["pref:fewer-steps"]


# --- daily steps and overall fit ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ([], 0),
        ([MORNING], 1),
        ([EVENING], 1),
        ([BOTH], 2),
        ([MORNING, EVENING, BOTH], 4),
        ([BOTH, BOTH, BOTH], 6),
    ],
)
def test_daily_steps_count_a_both_item_as_two(times, expected):
    items = [Item(key=str(n), time_of_day=t) for n, t in enumerate(times)]

    assert check_fit(profile(), items).daily_steps == expected


def test_warnings_come_budget_then_time_then_preferences():
    # given: a plan that breaks everything at once
    items = [
        Item(
            key="tab", name="Tablet", kind="oral", time_of_day=BOTH, minutes=10,
            monthly_cost=Decimal("30"),
        ),
        Item(key="a", time_of_day=MORNING),
        Item(key="b", time_of_day=EVENING),
    ]
    preferences = (
        FitPreference(key="no-oral", label="No tablets", conflict="oral"),
        FEWER_STEPS,
    )

    # when
    report = check_fit(
        profile(
            monthly_budget=Decimal("29.99"), morning_minutes=10, evening_minutes=10,
            preferences=preferences,
        ),
        items,
    )

    # then
    assert codes(report) == [
        "budget", "time:morning", "time:evening", "pref:no-oral:tab", "pref:fewer-steps",
    ]
    assert report.fits is False


def _roomy_items() -> list[Item]:
    return [
        Item(key="a", time_of_day=BOTH, minutes=2, monthly_cost=Decimal("10")),
        Item(key="b", time_of_day=EVENING, minutes=3, monthly_cost=Decimal("5")),
    ]


@pytest.mark.parametrize(
    ("overrides", "item_change", "expected_code"),
    [
        ({}, {}, None),
        ({"monthly_budget": Decimal("14.99")}, {}, "budget"),
        ({"morning_minutes": 1}, {}, "time:morning"),
        ({"evening_minutes": 4}, {}, "time:evening"),
        (
            {"preferences": (FitPreference("no-frag", "Fragrance-free", "fragrance"),)},
            {"contains_fragrance": True},
            "pref:no-frag:b",
        ),
    ],
    ids=["fits", "budget", "morning", "evening", "preference"],
)
def test_fits_only_without_warnings(overrides, item_change, expected_code):
    # given: a plan that fits the default profile (15.00 a month, 2 min morning, 5 min evening)
    items = _roomy_items()
    items[1] = replace(items[1], **item_change)

    # when
    report = check_fit(profile(**overrides), items)

    # then
    if expected_code is None:
        assert report.warnings == []
        assert report.fits is True
    else:
        assert codes(report) == [expected_code]
        assert report.fits is False


def test_fits_is_derived_from_the_warnings_list():
    report = check_fit(profile(), _roomy_items())
    assert report.fits is True

    report.warnings.append(FitWarning("budget", "accepted elsewhere"))

    assert report.fits is False


def test_check_fit_accepts_any_iterable_of_items():
    # given: a generator, consumed once but needed for cost, time, steps and preferences
    preference = FitPreference(key="no-oral", label="No tablets", conflict="oral")
    items = (item for item in [Item(key="tab", kind="oral", monthly_cost=Decimal("2.50"))])

    # when
    report = check_fit(profile(preferences=(preference,)), items)

    # then
    assert report.total_monthly_cost == Decimal("2.50")
    assert report.daily_steps == 1
    assert codes(report) == ["pref:no-oral:tab"]


def test_weekday_items_count_only_on_their_days_busiest_day_wins():
    # given: a daily 5-min morning step, a Saturday-only 10-min mask and a Sunday-only 8-min peel
    items = [
        Item(key="a", minutes=5),
        Item(key="mask", minutes=10, frequency="weekdays", weekdays="5"),
        Item(key="peel", minutes=8, frequency="weekdays", weekdays="6"),
    ]
    # when
    report = check_fit(profile(morning_minutes=15), items)
    # then: Saturday (5 + 10) is the busiest morning, not 5 + 10 + 8
    assert report.morning_minutes == 15
    assert report.daily_steps == 2
    assert "time:morning" not in codes(report)


def test_free_text_preferences_are_not_claimed_as_respected():
    pref = FitPreference(key="short-mornings", label="Prefers short mornings", conflict="")
    report = check_fit(profile(preferences=(pref,)), [Item()])
    assert report.respected_preferences == []
    assert report.fits
