"""The dashboard, transactions and rewards pages run a fixed number of queries: the same
with 1 card as with 50, and with 10 transactions as with 10,000 (bulk-inserted)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cards import ledger
from cards.models import Card, RewardEntry, Transaction
from tests.factories import CardholderFactory, TransactionFactory, issue_card, open_account

pytestmark = pytest.mark.django_db

PAGES = ["cards:dashboard", "cards:transactions", "cards:rewards"]
CATEGORIES = ["dining", "groceries", "travel", "shopping", "fuel"]


def add_transactions(card: Card, count: int) -> None:
    """``count`` transactions over the last 80 days (every status, five categories,
    with their rewards), inserted in bulk; the account's ledger caches rebuilt after."""
    now = timezone.now()
    statuses = [Transaction.Status.POSTED] * 7 + [Transaction.Status.PENDING, Transaction.Status.DECLINED]
    rows = [
        TransactionFactory.build(
            card=card,
            account=card.account,
            amount=Decimal("10.00") + n % 50,
            category=CATEGORIES[n % 5],
            status=statuses[n % len(statuses)],
            decline_reason="card_frozen" if statuses[n % len(statuses)] == Transaction.Status.DECLINED else "",
            transacted_at=now - dt.timedelta(minutes=n * 11),
            merchant_name=f"Merchant {n % 97}",
        )
        for n in range(count)
    ]
    made = Transaction.objects.bulk_create(rows, batch_size=2000)
    RewardEntry.objects.bulk_create(
        [
            RewardEntry(account=card.account, transaction=t, kind="earn", unit="points", quantity=t.amount)
            for t in made
            if t.status == Transaction.Status.POSTED
        ],
        batch_size=2000,
    )
    ledger.ledger_rebuild(account_ids=[card.account_id])


def add_cards(owner_card: Card, count: int) -> None:
    """More cards: supplementary ones on the same account and accounts of their own."""
    holder = owner_card.holder
    for n in range(count):
        if n % 2:
            issue_card(account=owner_card.account, holder=CardholderFactory(), role=Card.Role.SUPPLEMENTARY)
        else:
            issue_card(account=open_account(holder=holder))


def queries_for(client, name: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse(name)).status_code == 200
    return len(captured)


@pytest.fixture
def signed_in(client, charge_card):
    client.force_login(charge_card.card.holder.user)
    client.get(reverse("cards:dashboard"))  # the first request after sign-in also stamps the session
    return client, charge_card.card


def test_query_counts_are_the_same_with_1_card_and_with_50(signed_in, django_assert_num_queries):
    client, card = signed_in
    add_transactions(card, 10)
    with_one_card = {name: queries_for(client, name) for name in PAGES}

    add_cards(card, 49)

    assert Card.objects.count() == 50
    for name in PAGES:
        with django_assert_num_queries(with_one_card[name]):
            client.get(reverse(name))


def test_query_counts_are_the_same_with_10_and_with_10000_transactions(signed_in, django_assert_num_queries):
    client, card = signed_in
    add_transactions(card, 10)
    with_ten = {name: queries_for(client, name) for name in PAGES}

    add_transactions(card, 9_990)

    assert Transaction.objects.count() == 10_000
    for name in PAGES:
        with django_assert_num_queries(with_ten[name]):
            assert client.get(reverse(name)).status_code == 200


def test_transactions_page_at_depth_runs_the_same_queries_as_the_first_page(signed_in, django_assert_num_queries):
    client, card = signed_in
    add_transactions(card, 5_000)
    first = queries_for(client, "cards:transactions")
    deep = Transaction.objects.filter(account=card.account).order_by("-transacted_at", "-id")[4_000]
    from cards.selectors import Cursor

    with django_assert_num_queries(first):
        response = client.get(reverse("cards:transactions"), {"before": Cursor(deep.transacted_at, deep.pk).encode()})
    assert response.status_code == 200


def test_transaction_detail_query_count_does_not_grow_with_history(signed_in, django_assert_num_queries):
    client, card = signed_in
    target = TransactionFactory(card=card)
    url = reverse("cards:transaction", args=[target.pk])
    with CaptureQueriesContext(connection) as small:
        client.get(url)

    add_transactions(card, 2_000)

    with django_assert_num_queries(len(small)):
        client.get(url)
