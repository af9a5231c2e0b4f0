from datetime import date
from decimal import Decimal

from django import template

from careplans.describe import when_text as describe_when
from careplans.money import NOT_GIVEN
from careplans.money import money as format_money

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    return format_money(amount, currency)


@register.filter
def minutes(value: int | None) -> str:
    """"10 min", or "not given yet" for a time the patient has not given (never 0 or a default)."""
    return NOT_GIVEN if value is None else f"{value} min"


@register.filter
def given(value: object) -> object:
    """The answer, or "not given yet" when it is empty."""
    return NOT_GIVEN if value in (None, "") else value


@register.filter
def when_text(item: object, on: date | None = None) -> str:
    return describe_when(item, on)


@register.filter
def fit_status(warnings: list[dict] | None, profile_given: bool = True) -> dict[str, str]:
    """Badge text and tone for a revision's saved fit warnings (None: no plan yet).

    Without the patient's budget and times (``profile_given`` False) nothing warns, and the
    badge says so rather than "Fits"."""
    if warnings is None:
        return {"label": "No plan yet", "tone": "none"}
    open_count = sum(1 for w in warnings if not w.get("accepted"))
    accepted = len(warnings) - open_count
    if open_count:
        return {"label": f"{open_count} fit warning{'s' if open_count > 1 else ''}", "tone": "warn"}
    if not profile_given:
        return {"label": f"Budget or time {NOT_GIVEN}", "tone": "none"}
    if accepted:
        return {"label": f"Fits, {accepted} trade-off{'s' if accepted > 1 else ''} agreed",
                "tone": "ok"}
    return {"label": "Fits", "tone": "ok"}
