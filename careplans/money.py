"""Money as patients read it. Amounts are Decimal end to end; never float."""

from decimal import Decimal

CURRENCY_SYMBOLS = {
    "GBP": "£", "EUR": "€", "USD": "$", "AUD": "A$", "NZD": "NZ$", "INR": "₹", "BRL": "R$",
}
# How any profile answer the patient has not given reads (a budget, minutes, a pattern).
NOT_GIVEN = "not given yet"


def money(amount: Decimal | None, currency: str) -> str:
    """"£1,234.50"; an amount not given (None) reads as such, never as £0.00."""
    if amount is None:
        return NOT_GIVEN
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    return f"{symbol}{amount:,.2f}"
