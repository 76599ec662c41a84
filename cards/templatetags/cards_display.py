"""Display helpers for the card pages: money, rewards and card labels."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils import dateformat
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime

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


# --- Rows rendered in Python ----------------------------------------------------------------
# The card selector (up to 50 cards and more) and the transaction tables are the only loops
# on the busiest pages. Rendered by the template engine they cost more than everything else
# the dashboard does (`make bench`, docs/performance.md); the same markup built here with
# format_html (every value escaped) costs a fraction. tests/cards/test_rendering.py pins
# the markup against what the templates used to produce.

_CARD_ART = (
    '<svg class="card-art" viewBox="0 0 96 60" aria-hidden="true" focusable="false">'
    '<rect x="0.5" y="0.5" width="95" height="59" rx="6" fill="{}" stroke="#5f6b76"/>'
    '<rect x="12" y="20" width="16" height="12" rx="2" fill="#e8d9a8" stroke="#8a7a48" stroke-width="0.75"/></svg>'
)


@register.simple_tag(takes_context=True)
def card_picker_items(context, cards, chosen) -> str:
    """The card selector's list items: each card links to ``?card=<id>`` on the dashboard."""
    user = context.get("user")
    own_holder = getattr(user, "cardholder_id", None)
    chosen_pk = getattr(chosen, "pk", None)
    base = reverse("cards:dashboard")
    items = []
    for card in cards:
        product = card.account.product
        meta = card.get_role_display()
        if card.holder_id != own_holder:
            meta = format_html("{}: {}", meta, card.holder.legal_name)
        items.append(
            format_html(
                '<li class="card-picker__item"><a class="card-picker__link" href="{}?card={}"{}>'
                + _CARD_ART
                + '<span class="card-picker__text"><span class="card-picker__name">{}</span>'
                '<span class="card-picker__number"><span class="visually-hidden">card ending </span>{}</span>'
                '<span class="card-picker__meta">{}</span><span class="tag tag--{}">{}</span></span></a></li>',
                base,
                card.pk,
                mark_safe(' aria-current="true"') if card.pk == chosen_pk else "",  # noqa: S308 (constant)
                product.card_colour,
                product.name,
                card.masked_number,
                meta,
                card.status,
                card.get_status_display(),
            )
        )
    return mark_safe("\n".join(items))  # noqa: S308 (each item built by format_html)


_NO_CATEGORY = (
    '<td data-label="Category" class="txn-table__none"><span aria-hidden="true">–</span>'
    '<span class="visually-hidden">None</span></td>'
)


@register.simple_tag
def transaction_rows(rows, show_card_column: bool = False) -> str:
    """The body rows of a transactions table (cards/_transactions_table.html)."""
    # One reverse for the whole table; each row's link is the same route with its id.
    marker = 2147483647
    route = reverse("cards:transaction", args=[marker])
    head, tail = route.split(str(marker), 1)
    out = []
    for t in rows:
        at = template_localtime(t.transacted_at)
        name = t.merchant_name or t.get_kind_display()
        kind = (
            format_html('<span class="txn-table__kind">{}</span>', t.get_kind_display()) if t.kind != "purchase" else ""
        )
        card_cell = ""
        if show_card_column:
            card_cell = (
                format_html(
                    '<td data-label="Card" class="txn-table__meta"><span class="visually-hidden">card ending </span>'
                    "•••• {}</td>",
                    t.card.last4,
                )
                if t.card_id
                else mark_safe('<td data-label="Card" class="txn-table__meta">Account</td>')  # noqa: S308 (constant)
            )
        if t.kind in ("purchase", "refund"):
            category = format_html(
                '<td data-label="Category" class="txn-table__meta">{}</td>', t.get_category_display()
            )
        else:
            category = mark_safe(_NO_CATEGORY)  # noqa: S308 (constant)
        reason = (
            format_html('<span class="txn-status__reason">{}</span>', t.get_decline_reason_display())
            if t.decline_reason
            else ""
        )
        credit = mark_safe(' <span class="txn-table__credit">credit</span>') if t.amount < 0 else ""  # noqa: S308
        out.append(
            format_html(
                '<tr class="txn-table__row txn-table__row--{}">'
                '<td data-label="Date" class="txn-table__date txn-table__meta"><time datetime="{}">{}</time></td>'
                '<th scope="row" class="txn-table__desc"><a href="{}{}{}">{}</a>{}</th>'
                "{}{}"
                '<td data-label="Status" class="txn-table__status"><span class="txn-status">'
                '<span class="tag tag--txn-{}">{}</span>{}</span></td>'
                '<td data-label="Amount" class="numeric txn-table__amount">{}{}</td></tr>',
                t.status,
                dateformat.format(at, "c"),
                dateformat.format(at, "M j, Y"),
                head,
                t.pk,
                tail,
                name,
                kind,
                card_cell,
                category,
                t.status,
                t.get_status_display(),
                reason,
                format_money(t.amount, t.currency or "USD"),
                credit,
            )
        )
    return mark_safe("\n".join(out))  # noqa: S308 (each row built by format_html)
