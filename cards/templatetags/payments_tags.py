"""Template helpers for the payments, disputes and alerts pages, and the dispute status
block for a transaction page:

    {% load payments_tags %}{% dispute_status transaction %}
"""

from __future__ import annotations

from decimal import Decimal

from django import template

from portal.money import format_money

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str = "USD") -> str:
    """``-1234.5`` → ``-$1,234.50`` (a sign, never colour alone)."""
    if amount is None:
        return ""
    return format_money(amount, currency)


@register.filter
def money_credit(amount: Decimal | None, currency: str = "USD") -> str:
    """A credit (a negative ledger amount) in words: ``-25`` → ``$25.00 credit``."""
    if amount is None:
        return ""
    return f"{format_money(abs(amount), currency)} credit" if amount < 0 else format_money(amount, currency)


@register.inclusion_tag("cards/disputes/_transaction_status.html", takes_context=True)
def dispute_status(context, transaction) -> dict:
    """What the transaction page shows about disputes: the dispute's status and a link,
    or a "Dispute this charge" link when the charge can be disputed, or nothing."""
    from cards.dispute_selectors import dispute_for_transaction, dispute_refusal

    dispute = dispute_for_transaction(transaction=transaction)
    can_dispute = not dispute_refusal(transaction=transaction)
    return {"transaction": transaction, "dispute": dispute, "can_dispute": can_dispute}
