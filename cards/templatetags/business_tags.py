"""Template helpers for the business administration pages and the header's "Business"
link."""

from __future__ import annotations

from decimal import Decimal

from django import template

from portal.money import format_money

from .. import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def business_admin_flag(context) -> bool:
    """Whether the signed-in user administers a business program. Cached per user
    (selectors.user_is_program_admin), so most pages pay a cache read, not a query."""
    user = context.get("user")
    return user is not None and selectors.user_is_program_admin(user=user)


@register.filter
def money(amount: Decimal | None, currency: str = "USD") -> str:
    if amount is None:
        return ""
    return format_money(amount, currency or "USD")


@register.simple_tag
def bar_chart(*, title: str, items: list[tuple[str, Decimal]], currency: str = "USD"):
    """An accessible server-rendered SVG bar chart (portal.charts)."""
    from portal.charts import bar_chart_svg

    return bar_chart_svg(title=title, items=items, currency=currency)
