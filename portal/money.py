"""Money is a Decimal with a currency code, quantized in exactly one place."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django.db import models

CENT = Decimal("0.01")
DEFAULT_CURRENCY = "USD"
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "MXN": "MX$"}


def quantize(value: Decimal | int | str) -> Decimal:
    """Round to cents with banker's rounding (ties to even), as ledgers do."""
    try:
        return Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)
    except InvalidOperation as exc:
        raise ValueError(f"Not an amount: {value!r}") from exc


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=2, **kwargs)


def currency_field(**kwargs) -> models.CharField:
    kwargs.setdefault("default", DEFAULT_CURRENCY)
    return models.CharField(max_length=3, **kwargs)


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", quantize(self.amount))

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)


def format_money(amount: Decimal, currency: str = DEFAULT_CURRENCY) -> str:
    """``-1234.5`` → ``-$1,234.50``; the sign is a word-free minus, never colour alone."""
    amount = quantize(amount)
    symbol = CURRENCY_SYMBOLS.get(currency, currency + " ")
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,.2f}"
