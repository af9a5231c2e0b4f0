"""Money as patients read it, in their own language's conventions. Amounts are Decimal end to
end; never float."""

from decimal import Decimal

from babel.numbers import format_currency
from django.utils.translation import get_language, gettext_lazy, to_locale

# How any profile answer the patient has not given reads (a budget, minutes, a pattern).
NOT_GIVEN = gettext_lazy("not given yet")


def money(amount: Decimal | None, currency: str) -> str:
    """"£1,234.50" in English, "1.234,50 £" in German (Babel: Django has no currency
    formatter); an amount not given (None) reads as such, never as £0.00."""
    if amount is None:
        return str(NOT_GIVEN)
    return format_currency(amount, currency, locale=to_locale(get_language() or "en"))
