from datetime import date
from decimal import Decimal

from django import template

from careplans.describe import when_text as describe_when
from careplans.money import money as format_money

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    return format_money(amount, currency)


@register.filter
def when_text(item: object, on: date | None = None) -> str:
    return describe_when(item, on)


@register.filter
def fit_status(warnings: list[dict] | None) -> dict[str, str]:
    """Badge text and tone for a revision's saved fit warnings (None: no plan yet)."""
    if warnings is None:
        return {"label": "No plan yet", "tone": "none"}
    open_count = sum(1 for w in warnings if not w.get("accepted"))
    accepted = len(warnings) - open_count
    if open_count:
        return {"label": f"{open_count} fit warning{'s' if open_count > 1 else ''}", "tone": "warn"}
    if accepted:
        return {"label": f"Fits, {accepted} trade-off{'s' if accepted > 1 else ''} agreed",
                "tone": "ok"}
    return {"label": "Fits", "tone": "ok"}
