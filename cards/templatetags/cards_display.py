"""Display helpers for the card pages: money, rewards and card labels."""

from __future__ import annotations

from decimal import Decimal

from django import template

from portal.money import format_money

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str = "USD") -> str:
    """``-12.5`` → ``-$12.50``: credits carry a minus sign, never colour alone."""
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
    """``1234`` → ``1,234 points``, or cash back as money."""
    if quantity is None:
        return ""
    if points:
        count = f"{quantity:,.0f}"
        return f"{count} point" if abs(quantity) == 1 else f"{count} points"
    return format_money(quantity)


@register.filter
def fx_rate(transaction) -> str:
    """The rate the foreign amount was converted at, as ``1 EUR = 1.0850 USD``."""
    if not transaction.original_amount:
        return ""
    rate = abs(transaction.amount) / abs(transaction.original_amount)
    return f"1 {transaction.original_currency} = {rate:.4f} {transaction.currency}"
