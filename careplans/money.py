"""Money as patients read it. Amounts are Decimal end to end; never float."""

from decimal import Decimal

CURRENCY_SYMBOLS = {
    "GBP": "£", "EUR": "€", "USD": "$", "AUD": "A$", "NZD": "NZ$", "INR": "₹", "BRL": "R$",
}


def money(amount: Decimal | None, currency: str) -> str:
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    return f"{symbol}{amount or 0:,.2f}"
