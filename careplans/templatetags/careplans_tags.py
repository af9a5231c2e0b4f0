from datetime import date
from decimal import Decimal

from django import template
from django.utils.translation import gettext as _

from careplans.describe import SLOT_NAMES
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
    return str(NOT_GIVEN) if value is None else _("%(n)s min") % {"n": value}


@register.filter
def given(value: object) -> object:
    """The answer, or "not given yet" when it is empty."""
    return str(NOT_GIVEN) if value in (None, "") else value


@register.filter
def when_text(item: object, on: date | None = None) -> str:
    return describe_when(item, on)


@register.filter
def slot_name(slot: str) -> str:
    """A routine ("morning", "evening") in the reader's language."""
    return str(SLOT_NAMES.get(slot, slot))
