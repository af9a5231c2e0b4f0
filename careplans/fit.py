"""The fit check: how a plan fits the person's budget, preferences and time.

Pure: it takes a profile-like object and item-like objects and returns warnings with stable codes.
The dermatologist can accept a warning with a note; acceptance is matched by code.

A budget or time the patient has not given yet (None) is compared with nothing: it neither
warns nor passes, and the report lists it in ``not_given``. Warning messages are read by the
patient too (accepted trade-offs), so they name no one. A revision stores each warning's
``params`` beside its message, so a reader in another language reads it in theirs
(``warning_message``: one definition of each sentence, at check time and at read time).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .money import money
from .schedule import AS_NEEDED, EVENING, MORNING, SLOT_NAMES, slots_of

MAX_DAILY_STEPS_FOR_FEWEST = 3
CHECKED_RULES = frozenset(
    {"oral", "injection", "fragrance", "animal_derived", "pregnancy_unsafe", "many_steps"}
)


class FitItem(Protocol):
    key: object
    name: str
    kind: str
    time_of_day: str
    frequency: str
    weekdays: str
    minutes: int
    monthly_cost: Decimal
    contains_fragrance: bool
    animal_derived: bool
    pregnancy_unsafe: bool


@dataclass(frozen=True)
class FitPreference:
    key: str
    label: str  # as stored: the default ones are translated where they are read
    conflict: str


@dataclass(frozen=True)
class FitProfile:
    monthly_budget: Decimal | None  # None: not given yet
    currency: str
    morning_minutes: int | None
    evening_minutes: int | None
    preferences: tuple[FitPreference, ...] = ()


@dataclass(frozen=True)
class FitWarning:
    code: str
    message: str
    # What the message says, as JSON (derived from the same numbers: not compared).
    params: dict[str, Any] = field(default_factory=dict, compare=False)


def warning_message(params: dict[str, Any]) -> str:
    """A warning's sentence in the reader's language, from its ``params``."""
    kind = params["kind"]
    if kind == "budget":
        currency = params["currency"]
        return _("Costs %(cost)s a month: %(over)s over the budget of %(budget)s.") % {
            "cost": money(Decimal(params["cost"]), currency),
            "over": money(Decimal(params["over"]), currency),
            "budget": money(Decimal(params["budget"]), currency)}
    if kind == "time":
        return _("The %(routine)s routine takes %(minutes)s min, more than the %(available)s "
                 "min available.") % {"routine": SLOT_NAMES[params["routine"]],
                                      "minutes": params["minutes"],
                                      "available": params["available"]}
    if kind == "steps":
        return _("%(steps)s steps a day goes against “%(preference)s” (aim for %(most)s or "
                 "fewer).") % {"steps": params["steps"], "preference": _(params["preference"]),
                               "most": params["most"]}
    return _("“%(item)s” goes against “%(preference)s”.") % {
        "item": params["item"], "preference": _(params["preference"])}


def stored_warning_message(warning: dict[str, Any]) -> str:
    """A revision's saved warning in the reader's language; as saved when it predates
    ``params`` (or they do not read)."""
    params = warning.get("params")
    if isinstance(params, dict):
        try:
            return warning_message(params)
        except (KeyError, TypeError, InvalidOperation):
            pass
    return str(warning.get("message", ""))


def saved_warnings(warnings: Iterable[FitWarning], accepted: dict[str, str]) -> list[dict]:
    """The warnings as a revision stores them (``PlanRevision.fit_warnings``): accepted where
    ``accepted`` holds a note for the code."""
    return [
        {
            "code": warning.code,
            "message": warning.message,
            "params": warning.params,
            "accepted": bool(accepted.get(warning.code, "").strip()),
            "note": accepted.get(warning.code, "").strip(),
        }
        for warning in warnings
    ]


def _warning(code: str, **params: Any) -> FitWarning:
    return FitWarning(code, warning_message(params), params)


@dataclass
class FitReport:
    total_monthly_cost: Decimal
    monthly_budget: Decimal | None
    currency: str
    morning_minutes: int
    morning_available: int | None
    evening_minutes: int
    evening_available: int | None
    daily_steps: int
    respected_preferences: list[str] = field(default_factory=list)
    warnings: list[FitWarning] = field(default_factory=list)

    @property
    def over_budget_by(self) -> Decimal:
        if self.monthly_budget is None:
            return Decimal("0")
        return max(self.total_monthly_cost - self.monthly_budget, Decimal("0"))

    @property
    def routines(self) -> list[tuple[str, int, int | None]]:
        """(routine, minutes the plan takes, minutes available or None) for each routine."""
        return [(MORNING, self.morning_minutes, self.morning_available),
                (EVENING, self.evening_minutes, self.evening_available)]

    @property
    def not_given(self) -> list[str]:
        """What could not be checked because the patient has not given it yet."""
        return [label for label, value in (
            (_("budget"), self.monthly_budget), (_("morning time"), self.morning_available),
            (_("evening time"), self.evening_available),
        ) if value is None]

    @property
    def fits(self) -> bool:
        """Nothing warns and nothing was left unchecked for want of an answer."""
        return not self.warnings and not self.not_given


def _conflicts(rule: str, item: FitItem) -> bool:
    return {
        "oral": item.kind == "oral",
        "injection": item.kind == "injection",
        "fragrance": item.contains_fragrance,
        "animal_derived": item.animal_derived,
        "pregnancy_unsafe": item.pregnancy_unsafe,
    }.get(rule, False)


def _on_weekday(item: FitItem, weekday: str) -> bool:
    if item.frequency == "weekdays":
        return weekday in item.weekdays
    if item.frequency == "every_n_weeks" and getattr(item, "starts_on", None) is not None:
        return str(item.starts_on.weekday()) == weekday
    return item.frequency != AS_NEEDED


def _busiest_day(items: list[FitItem]) -> tuple[dict[str, int], int]:
    """Minutes per routine and step count on the busiest weekday.

    Items on chosen weekdays count only on those days, every-few-weeks items (injections) on
    the weekday of their first dose; daily, every-N-days, ramping, monthly and one-date items
    count every day (on the days they fall, they add to that day); as-needed steps are no
    part of a routine and never count.
    """
    minutes = {MORNING: 0, EVENING: 0}
    steps = 0
    for weekday in "0123456":
        day_items = [i for i in items if _on_weekday(i, weekday)]
        for slot in (MORNING, EVENING):
            minutes[slot] = max(minutes[slot], sum(
                i.minutes for i in day_items if slot in slots_of(i)
            ))
        steps = max(steps, sum(len(slots_of(i)) for i in day_items))
    return minutes, steps


def check_fit(profile: FitProfile, items: Iterable[FitItem]) -> FitReport:
    items = list(items)
    minutes, daily_steps = _busiest_day(items)
    report = FitReport(
        total_monthly_cost=sum((item.monthly_cost for item in items), Decimal("0")),
        monthly_budget=profile.monthly_budget,
        currency=profile.currency,
        morning_minutes=minutes[MORNING],
        morning_available=profile.morning_minutes,
        evening_minutes=minutes[EVENING],
        evening_available=profile.evening_minutes,
        daily_steps=daily_steps,
    )
    if report.over_budget_by > 0:
        report.warnings.append(_warning(
            "budget", kind="budget", currency=profile.currency,
            cost=str(report.total_monthly_cost), over=str(report.over_budget_by),
            budget=str(profile.monthly_budget)))
    for slot, available in ((MORNING, profile.morning_minutes), (EVENING, profile.evening_minutes)):
        if available is not None and minutes[slot] > available:
            report.warnings.append(_warning(
                f"time:{slot}", kind="time", routine=slot, minutes=minutes[slot],
                available=available))
    for preference in profile.preferences:
        if preference.conflict not in CHECKED_RULES:
            continue  # free-text guidance: the clinician reads it; we claim nothing about it
        clashing = _preference_conflicts(preference, items, report.daily_steps)
        report.warnings.extend(clashing)
        if not clashing:
            report.respected_preferences.append(_(preference.label))
    return report


def _preference_conflicts(
    preference: FitPreference, items: list[FitItem], daily_steps: int
) -> list[FitWarning]:
    if preference.conflict == "many_steps":
        if daily_steps > MAX_DAILY_STEPS_FOR_FEWEST:
            return [_warning(f"pref:{preference.key}", kind="steps", steps=daily_steps,
                             preference=preference.label, most=MAX_DAILY_STEPS_FOR_FEWEST)]
        return []
    return [
        _warning(f"pref:{preference.key}:{item.key}", kind="item", item=item.name,
                 preference=preference.label)
        for item in items
        if _conflicts(preference.conflict, item)
    ]


def fit_badge(warnings: list[dict] | None, profile_given: bool = True) -> dict[str, str]:
    """Badge text and tone for a revision's saved fit warnings (None: no plan yet).

    Without the patient's budget and times (``profile_given`` False) nothing warns, and the
    badge says so rather than "Fits"."""
    if warnings is None:
        return {"label": _("No plan yet"), "tone": "none"}
    open_count = sum(1 for w in warnings if not w.get("accepted"))
    accepted = len(warnings) - open_count
    if open_count:
        return {"label": ngettext("%(n)s fit warning", "%(n)s fit warnings", open_count)
                % {"n": open_count}, "tone": "warn"}
    if not profile_given:
        return {"label": _("Budget or time not given yet"), "tone": "none"}
    if accepted:
        return {"label": ngettext("Fits, %(n)s trade-off agreed", "Fits, %(n)s trade-offs agreed",
                                  accepted) % {"n": accepted}, "tone": "ok"}
    return {"label": _("Fits"), "tone": "ok"}
