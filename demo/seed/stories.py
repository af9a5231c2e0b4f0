"""What each demo patient's profile and plan look like, decided before any row is built: the
template, the revision dates, a profile (daily pattern, minutes, budget in the patient's currency,
preferences) under which the plan fits or leaves a trade-off accepted or open, and now and then a
concern; and where the patient stands with their next visit. A patient's choices come from a
random stream seeded by their number, so every run decides the same. Nothing here touches the
database.

Visits (``careplans/visits.py``): patient@demo.test's plan is reviewed tomorrow (the Today page's
"Next visit: tomorrow" and the day-before reminder); synthetic patient N with N % 64 == 1 is
overdue (the review date 1-2 weeks past, no visit recorded); N % 64 == 4 was seen 2 days ago,
after the plan was saved (a plan review and the pulse are due); the others are reviewed 2-10
weeks out. N % 64 == 8 is on dupilumab and has not logged their latest injection, whose window
closed before today (the "Missed injection" flag, ``timeline``).
"""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from careplans.fit import FitPreference, FitProfile, check_fit
from careplans.models import ConcernCategory, Currency, DailyPattern
from demo.seed.people import DemoPatient
from demo.seed.plan_templates import (
    ACNE_PLAN_WITH_DOXYCYCLINE,
    ECZEMA_PLAN_WITH_DUPILUMAB,
    ITEM_FIELDS,
    TEMPLATES,
    ConcernSpec,
    PlanTemplate,
    StepSpec,
)

# --- Profiles, prices and trade-offs -------------------------------------------------------------

CURRENCY_BY_TIMEZONE = {
    "Europe/London": Currency.GBP, "Europe/Berlin": Currency.EUR,
    "America/New_York": Currency.USD, "America/Los_Angeles": Currency.USD,
    "Asia/Kolkata": Currency.INR, "Pacific/Auckland": Currency.NZD,
    "Australia/Sydney": Currency.AUD, "America/Sao_Paulo": Currency.BRL,
}
# Rough local price level of the GBP template prices, not an exchange rate.
PRICE_LEVEL = {
    Currency.GBP: Decimal("1"), Currency.EUR: Decimal("1.2"), Currency.USD: Decimal("1.3"),
    Currency.AUD: Decimal("2"), Currency.NZD: Decimal("2.2"), Currency.BRL: Decimal("5"),
    Currency.INR: Decimal("60"),
}
BUDGET_STEP = {Currency.BRL: Decimal("20"), Currency.INR: Decimal("250")}
DEFAULT_BUDGET_STEP = Decimal("5")
DAILY_PATTERNS = (
    (DailyPattern.REGULAR, "Office job, home by six most evenings."),
    (DailyPattern.REGULAR, "Works from home; the gym three evenings a week."),
    (DailyPattern.SHIFT_WORK, "Rotating night shifts; sleeps during the day after nights."),
    (DailyPattern.CAREGIVING, "Looks after two young children; mornings are rushed."),
    (DailyPattern.TRAVEL, "Away for work two or three nights most weeks; packs light."),
    (DailyPattern.IRREGULAR, "Freelance hours that change from week to week."),
)
MORNING_MINUTES = (5, 10, 10, 15, 20)
EVENING_MINUTES = (5, 10, 15, 15, 20, 30)
PLAN_START_DAYS = (8 * 7, 12 * 7)  # plans start 8-12 weeks before the patient's today
REVIEW_WEEKS = (8, 10, 12)
# Share of the cohort whose plan fits; the rest accept a trade-off or leave a warning open.
FITS, ACCEPTED, OPEN = "fits", "accepted", "open"
SCENARIO_WEIGHTS = {FITS: 70, ACCEPTED: 15, OPEN: 15}
TRADE_OFF_PREFERENCES = ("topical-over-oral", "vegan", "fragrance-free")
# Notes a dermatologist writes when accepting a warning, by warning code without the item key.
# Pregnancy conflicts have no note: the demo never accepts them.
ACCEPTANCE_NOTES = {
    "budget": "This is the most effective option for your skin right now; we will look for "
              "cheaper alternatives at the review.",
    "time": "The extra minutes are only needed until the review, when we will simplify.",
    "pref:topical-over-oral": "Doxycycline is the quickest way to calm this flare; we will stop "
                              "it at the review.",
    "pref:vegan": "The lanolin ointment is what stopped your skin cracking; we can try a "
                  "plant-based one at the review.",
    "pref:fragrance-free": "The tar shampoo has a mild scent, but it is the most effective "
                           "scalp treatment for you; tell us if it irritates.",
    "pref:fewest-steps": "Each step does a different job for now; we will cut back once your "
                         "skin has settled.",
}
# Synthetic patient N raises a concern when N % CONCERN_EVERY is one of these.
CONCERN_EVERY = 8
OPEN_CONCERN_AT, ANSWERED_CONCERN_AT = 3, 6
# Visits and the missed injection, by synthetic patient number modulo VISIT_EVERY.
VISIT_EVERY = 64
OVERDUE_AT, VISITED_AT, MISSED_INJECTION_AT = 1, 4, 8
OVERDUE_DAYS = (7, 14)  # the review date this many days ago
VISITED_DAYS_AGO = 2
# The photo diary (``demo.seed.photos``): patient@demo.test and the eczema patient with the
# missed injection are asked for a photo every two weeks from their plan's start.
PHOTO_DIARY_NUMBERS = (0, MISSED_INJECTION_AT)
PHOTO_EVERY_WEEKS = 2
DEMO_PATIENT_CONCERN = ConcernSpec(
    "adapalene", ConcernCategory.IRRITATING, "It stings after a few nights", ""
)


@dataclass(frozen=True)
class ProfileSeed:
    daily_pattern: str
    lifestyle_notes: str
    morning_minutes: int
    evening_minutes: int
    monthly_budget: Decimal
    currency: str
    preference_keys: tuple[str, ...]
    what_matters: str


@dataclass(frozen=True)
class ConcernSeed:
    spec: ConcernSpec
    answered: bool
    raised_at: datetime


@dataclass(frozen=True)
class Story:
    """Everything decided for one patient before any row is built."""

    patient: DemoPatient
    template: PlanTemplate
    profile: ProfileSeed
    effective: tuple[date, ...]  # per revision, oldest first
    reviews_on: date  # of the latest revision
    accept_trade_offs: bool
    keys: dict[str, uuid.UUID]  # step -> PlanItem.key, the same across revisions
    concern: ConcernSeed | None
    visit_on: date | None = None  # a recorded clinic visit (after the latest revision)
    photo_every_weeks: int | None = None  # every revision asks for photos this often


@dataclass(frozen=True)
class TemplateNeeds:
    """What the latest revision of a template asks of a patient, in one currency."""

    monthly_cost: Decimal
    morning_minutes: int
    evening_minutes: int
    clashes_now: frozenset[str]  # preference keys the latest revision goes against
    clashes_ever: frozenset[str]  # ... that any revision goes against


def _price(gbp: Decimal, currency: str) -> Decimal:
    """The template price in the patient's currency, to the nearest half unit."""
    halves = (gbp * PRICE_LEVEL[currency] * 2).quantize(Decimal("1"), ROUND_HALF_UP)
    return (halves / 2).quantize(Decimal("0.01"))


def _round_to(amount: Decimal, step: Decimal, rounding: str) -> Decimal:
    return ((amount / step).quantize(Decimal("1"), rounding) * step).quantize(Decimal("0.01"))


@functools.cache
def _item_fields(spec: StepSpec, currency: str) -> dict[str, object]:
    values = {name: getattr(spec, name) for name in ITEM_FIELDS}
    values["monthly_cost"] = _price(spec.monthly_cost, currency)
    return values


@functools.cache
def _first_revision_of_step(template: PlanTemplate) -> dict[str, int]:
    first: dict[str, int] = {}
    for index, revision in enumerate(template.revisions):
        for spec in revision.steps:
            first.setdefault(spec.step, index)
    return first


def _clashing_preferences(report_codes: list[str]) -> frozenset[str]:
    return frozenset(code.split(":")[1] for code in report_codes if code.startswith("pref:"))


class _PricedStep:
    """A template step with its price in one currency, for the fit check of a template."""

    def __init__(self, spec: StepSpec, currency: str) -> None:
        self.key = spec.step
        self.__dict__.update(_item_fields(spec, currency))


@functools.cache
def _template_needs(
    template: PlanTemplate, currency: str, preferences: tuple[FitPreference, ...]
) -> TemplateNeeds:
    unlimited = FitProfile(Decimal("1e9"), currency, 10_000, 10_000, preferences)
    reports = [
        check_fit(unlimited, [_PricedStep(s, currency) for s in revision.steps])
        for revision in template.revisions
    ]
    latest = reports[-1]
    return TemplateNeeds(
        monthly_cost=latest.total_monthly_cost,
        morning_minutes=latest.morning_minutes,
        evening_minutes=latest.evening_minutes,
        clashes_now=_clashing_preferences([w.code for w in latest.warnings]),
        clashes_ever=frozenset().union(
            *(_clashing_preferences([w.code for w in r.warnings]) for r in reports)
        ),
    )


# --- Stories: what each patient's profile and plan look like --------------------------------------


def _random_key(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _step_keys(rng: random.Random, template: PlanTemplate) -> dict[str, uuid.UUID]:
    return {step: _random_key(rng) for step in _first_revision_of_step(template)}


def _revision_dates(rng: random.Random, today: date, count: int) -> tuple[date, ...]:
    """The first revision 8-12 weeks ago, the others spread evenly until a few weeks ago."""
    span = rng.randint(*PLAN_START_DAYS)
    start = today - timedelta(days=span)
    later = [
        start + timedelta(days=span * i // count + rng.randint(-3, 3)) for i in range(1, count)
    ]
    return (start, *later)


def _minutes_at_least(rng: random.Random, choices: Sequence[int], needed: int) -> int:
    return max(rng.choice(choices), -(-needed // 5) * 5)


def _trade_off(
    rng: random.Random, scenario: str, needs: TemplateNeeds
) -> tuple[bool, tuple[str, ...]]:
    """(over budget?, preferences that clash) for a patient whose plan does not fit."""
    if scenario == ACCEPTED:
        options = ["budget", *(k for k in TRADE_OFF_PREFERENCES if k in needs.clashes_now)]
    else:
        options = ["budget", *(["fewest-steps"] if "fewest-steps" in needs.clashes_now else [])]
    choice = rng.choice(options)
    return (True, ()) if choice == "budget" else (False, (choice,))


def _profile_seed(
    rng: random.Random, template: PlanTemplate, currency: str, needs: TemplateNeeds,
    scenario: str, offered: Sequence[str],
) -> ProfileSeed:
    pattern, notes = rng.choice(DAILY_PATTERNS)
    step = BUDGET_STEP.get(currency, DEFAULT_BUDGET_STEP)
    budget = _round_to(needs.monthly_cost, step, ROUND_CEILING) + step * rng.choice((0, 0, 1, 2))
    fitting = [key for key in offered if key not in needs.clashes_ever]
    preferences = rng.sample(fitting, k=min(len(fitting), rng.choice((0, 1, 1, 2))))
    if scenario != FITS:
        over_budget, clashing = _trade_off(rng, scenario, needs)
        if over_budget:
            budget = _round_to(needs.monthly_cost * Decimal("0.8"), step, ROUND_FLOOR)
        preferences = [*clashing, *preferences]
    return ProfileSeed(
        daily_pattern=pattern, lifestyle_notes=notes,
        morning_minutes=_minutes_at_least(rng, MORNING_MINUTES, needs.morning_minutes),
        evening_minutes=_minutes_at_least(rng, EVENING_MINUTES, needs.evening_minutes),
        monthly_budget=budget, currency=currency, preference_keys=tuple(preferences),
        what_matters=rng.choice(template.condition.goals),
    )


def _concern_seed(
    rng: random.Random, number: int, template: PlanTemplate, now: datetime
) -> ConcernSeed | None:
    kind = number % CONCERN_EVERY
    if kind not in (OPEN_CONCERN_AT, ANSWERED_CONCERN_AT):
        return None
    raised_at = now - timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 12))
    return ConcernSeed(template.patient_concern, kind == ANSWERED_CONCERN_AT, raised_at)


def _cohort_story(
    patient: DemoPatient, today: date, now: datetime, fit_preferences: tuple[FitPreference, ...]
) -> Story:
    rng = random.Random(patient.number)
    template = rng.choice(TEMPLATES)
    if patient.number % VISIT_EVERY == MISSED_INJECTION_AT:
        template = ECZEMA_PLAN_WITH_DUPILUMAB
    currency = CURRENCY_BY_TIMEZONE.get(patient.timezone, Currency.GBP)
    needs = _template_needs(template, currency, fit_preferences)
    scenario = rng.choices(list(SCENARIO_WEIGHTS), weights=list(SCENARIO_WEIGHTS.values()))[0]
    offered = [p.key for p in fit_preferences]
    effective = _revision_dates(rng, today, len(template.revisions))
    profile = _profile_seed(rng, template, currency, needs, scenario, offered)
    reviews_on = effective[-1] + timedelta(weeks=rng.choice(REVIEW_WEEKS))
    reviews_on, visit_on = _visit(patient.number, today, reviews_on)
    return Story(
        patient=patient, template=template, profile=profile, effective=effective,
        reviews_on=reviews_on, accept_trade_offs=scenario == ACCEPTED,
        keys=_step_keys(rng, template), concern=_concern_seed(rng, patient.number, template, now),
        visit_on=visit_on, photo_every_weeks=_photo_every_weeks(patient.number),
    )


def _photo_every_weeks(number: int) -> int | None:
    return PHOTO_EVERY_WEEKS if number in PHOTO_DIARY_NUMBERS else None


def _visit(number: int, today: date, reviews_on: date) -> tuple[date, date | None]:
    """(review date, recorded visit) of synthetic patient ``number``: overdue, seen 2 days ago
    (the visit was the review), or as planned (2-10 weeks out, no visit)."""
    kind = number % VISIT_EVERY
    if kind == OVERDUE_AT:
        days = random.Random(f"visit:{number}").randint(*OVERDUE_DAYS)
        return today - timedelta(days=days), None
    if kind == VISITED_AT:
        visited = today - timedelta(days=VISITED_DAYS_AGO)
        return visited, visited
    return reviews_on, None


def _demo_patient_story(patient: DemoPatient, today: date, now: datetime) -> Story:
    """patient@demo.test: acne, three revisions over 12 weeks (the doxycycline course in the
    last), an accepted trade-off, an open concern, and the plan's review (the next visit)
    tomorrow."""
    rng = random.Random(patient.number)
    profile = ProfileSeed(
        daily_pattern=DailyPattern.REGULAR, lifestyle_notes=DAILY_PATTERNS[0][1],
        morning_minutes=10, evening_minutes=15, monthly_budget=Decimal("35.00"),
        currency=Currency.GBP, preference_keys=("topical-over-oral", "fragrance-free"),
        what_matters="Clear skin for my wedding in June.",
    )
    effective = tuple(today - timedelta(weeks=weeks) for weeks in (12, 6, 2))
    return Story(
        patient=patient, template=ACNE_PLAN_WITH_DOXYCYCLINE, profile=profile,
        effective=effective, reviews_on=today + timedelta(days=1),
        accept_trade_offs=True, keys=_step_keys(rng, ACNE_PLAN_WITH_DOXYCYCLINE),
        concern=ConcernSeed(DEMO_PATIENT_CONCERN, answered=False,
                            raised_at=now - timedelta(days=2)),
        photo_every_weeks=_photo_every_weeks(patient.number),
    )
