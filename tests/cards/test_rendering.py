# ruff: noqa: E501  (the reference loops are kept verbatim as the templates had them)
"""The card selector and transaction rows are built in Python (cards_display's
``card_picker_items`` and ``transaction_rows``) because the template loops were the
dashboard's largest cost. These tests pin that the markup is what the template loops
produced, including escaping, for every kind of row."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.template import Context, engines
from django.utils import timezone

from cards.models import Card, DeclineReason, Transaction
from cards.templatetags.cards_display import card_picker_items, transaction_rows
from tests.factories import (
    CardholderFactory,
    CardProductFactory,
    TransactionFactory,
    UserFactory,
    issue_card,
    open_account,
)

pytestmark = pytest.mark.django_db

# The loops as the templates had them before they moved to Python (reference only).
REFERENCE_PICKER = """{% load cards_display %}{% url 'cards:dashboard' as dashboard_url %}    {% for c in cards %}
      <li class="card-picker__item">
        <a class="card-picker__link" href="{{ dashboard_url }}?card={{ c.pk }}"{% if c.pk == card.pk %} aria-current="true"{% endif %}>
          <svg class="card-art" viewBox="0 0 96 60" aria-hidden="true" focusable="false"><rect x="0.5" y="0.5" width="95" height="59" rx="6" fill="{{ c.account.product.card_colour }}" stroke="#5f6b76"/><rect x="12" y="20" width="16" height="12" rx="2" fill="#e8d9a8" stroke="#8a7a48" stroke-width="0.75"/></svg>
          <span class="card-picker__text">
            <span class="card-picker__name">{{ c.account.product.name }}</span>
            <span class="card-picker__number"><span class="visually-hidden">card ending </span>{{ c.masked_number }}</span>
            <span class="card-picker__meta">{{ c.get_role_display }}{% if c.holder_id != user.cardholder_id %}: {{ c.holder.legal_name }}{% endif %}</span>
            <span class="tag tag--{{ c.status }}">{{ c.get_status_display }}</span>
          </span>
        </a>
      </li>
    {% endfor %}"""
REFERENCE_ROWS = """{% load cards_display %}    {% for t in rows %}
      <tr class="txn-table__row txn-table__row--{{ t.status }}">
        <td data-label="Date" class="txn-table__date txn-table__meta"><time datetime="{{ t.transacted_at|date:'c' }}">{{ t.transacted_at|date:"M j, Y" }}</time></td>
        <th scope="row" class="txn-table__desc">
          <a href="{% url 'cards:transaction' t.pk %}">{{ t.merchant_name|default:t.get_kind_display }}</a>
          {% if t.kind != "purchase" %}<span class="txn-table__kind">{{ t.get_kind_display }}</span>{% endif %}
        </th>
        {% if show_card_column %}<td data-label="Card" class="txn-table__meta">{% if t.card_id %}<span class="visually-hidden">card ending </span>•••• {{ t.card.last4 }}{% else %}Account{% endif %}</td>{% endif %}
        {% if t.kind == "purchase" or t.kind == "refund" %}<td data-label="Category" class="txn-table__meta">{{ t.get_category_display }}</td>{% else %}<td data-label="Category" class="txn-table__none"><span aria-hidden="true">–</span><span class="visually-hidden">None</span></td>{% endif %}
        <td data-label="Status" class="txn-table__status">
          <span class="txn-status">
            <span class="tag tag--txn-{{ t.status }}">{{ t.get_status_display }}</span>
            {% if t.decline_reason %}<span class="txn-status__reason">{{ t.get_decline_reason_display }}</span>{% endif %}
          </span>
        </td>
        <td data-label="Amount" class="numeric txn-table__amount">{{ t.amount|money:t.currency }}{% if t.amount < 0 %} <span class="txn-table__credit">credit</span>{% endif %}</td>
      </tr>
    {% endfor %}
"""


def _normal(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", str(html))).strip()


@pytest.fixture
def world():
    holder = CardholderFactory(legal_name="Ana <b>Ortiz</b> & Co")
    user = UserFactory(cardholder=holder)
    product = CardProductFactory(name='Gold "Rewards" <Card>')
    account = open_account(holder=holder, product=product)
    basic = issue_card(account=account).card
    other = CardholderFactory(legal_name="Ben O'Neil")
    supplementary = issue_card(account=account, holder=other, role=Card.Role.SUPPLEMENTARY, active=False).card
    return user, account, [basic, supplementary]


def test_card_picker_matches_the_template_loop(world):
    user, _account, cards = world
    cards = list(Card.objects.filter(pk__in=[c.pk for c in cards]).select_related("account__product", "holder"))
    for chosen in cards:
        expected = (
            engines["django"].from_string(REFERENCE_PICKER).render({"cards": cards, "card": chosen, "user": user})
        )
        got = card_picker_items(Context({"user": user}), cards, chosen)
        assert _normal(got) == _normal(expected)
    assert "Ana &lt;b&gt;Ortiz&lt;/b&gt; &amp; Co" not in _normal(got)  # own card: no holder name shown
    assert "Ben O&#x27;Neil" in _normal(got)
    assert "<Card>" not in got and "&lt;Card&gt;" in got


@pytest.mark.parametrize("show_card_column", [True, False])
def test_transaction_rows_match_the_template_loop(world, show_card_column):
    _user, account, cards = world
    card = cards[0]
    at = timezone.make_aware(dt.datetime(2026, 3, 1, 2, 30))  # the evening before, in New York
    TransactionFactory(card=card, merchant_name="<script>alert(1)</script>", transacted_at=at)
    TransactionFactory(
        card=card, kind=Transaction.Kind.REFUND, amount=Decimal("-5.00"), category="travel", transacted_at=at
    )
    TransactionFactory(
        card=card,
        status=Transaction.Status.DECLINED,
        decline_reason=DeclineReason.CARD_FROZEN,
        amount=Decimal("1234.56"),
        currency="EUR",
        transacted_at=at,
    )
    TransactionFactory(
        card=None,
        account=account,
        kind=Transaction.Kind.PAYMENT,
        amount=Decimal("-100.00"),
        merchant_name="",
        category="",
        transacted_at=at,
    )
    TransactionFactory(card=card, status=Transaction.Status.PENDING, transacted_at=at)
    rows = list(Transaction.objects.filter(account=account).select_related("card").order_by("id"))
    assert len(rows) == 5
    expected = (
        engines["django"].from_string(REFERENCE_ROWS).render({"rows": rows, "show_card_column": show_card_column})
    )
    got = transaction_rows(rows, show_card_column)
    assert _normal(got) == _normal(expected)
    assert "<script>" not in got
    assert "Feb 28, 2026" in got or "Mar 1, 2026" in got
