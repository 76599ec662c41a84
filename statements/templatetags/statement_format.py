"""Formatting for statements (pages and PDF): money, rewards, short dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template

from portal.money import format_money

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str = "USD") -> str:
    """``-12.5`` → ``-$12.50``: a credit carries a minus sign, never colour alone."""
    if amount is None or amount == "":
        return ""
    return format_money(amount, currency or "USD")


@register.filter
def money_abs(amount: Decimal | None, currency: str = "USD") -> str:
    if amount is None or amount == "":
        return ""
    return format_money(abs(amount), currency or "USD")


@register.filter
def rewards(quantity: Decimal | None, points: bool) -> str:
    """``1234`` → ``1,234 points``; cash back as money."""
    if quantity is None:
        return ""
    if points:
        return f"{quantity:,.0f} point" if abs(quantity) == 1 else f"{quantity:,.0f} points"
    return format_money(quantity)


@register.filter
def mmdd(day: dt.date | None) -> str:
    """``05/03``: the fixed-width date of a statement line (its digits are tabular)."""
    return f"{day:%m/%d}" if day else ""


@register.filter
def foreign_amount(line) -> str:
    """``1,234.50 EUR``: what the merchant charged, in its currency."""
    if line.original_amount is None:
        return ""
    return f"{line.original_amount:,.2f} {line.original_currency}"


@register.filter
def fx_rate(line) -> str:
    """The rate a foreign amount was converted at: ``1 EUR = 1.0850 USD``."""
    if not line.original_amount:
        return ""
    rate = abs(line.amount) / abs(line.original_amount)
    return f"1 {line.original_currency} = {rate:.4f}"
