"""Statement fixtures: accounts with activity posted through cards.ledger at chosen
moments, so cycles can be closed on fixed past dates."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from cards import ledger
from cards.models import Card, CardAccount, CardProduct, Transaction
from tests.factories import BusinessProgramFactory, CardProductFactory, UserFactory, issue_card, open_account

_network_ids = itertools.count(1)


def at(day: dt.date, hour: int = 12, minute: int = 0, second: int = 0) -> dt.datetime:
    """A moment on ``day`` in the portal's time zone."""
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour, minute, second))


def post(
    account: CardAccount,
    amount: str | Decimal,
    when: dt.datetime,
    *,
    kind: str = Transaction.Kind.PURCHASE,
    card: Card | None = None,
    merchant: str = "",
    **fields,
) -> Transaction:
    """A posted transaction through the ledger, as the processor or a payment would
    post it (caches, rewards and alerts included)."""
    amount = Decimal(amount)
    if not merchant:
        merchant = {
            Transaction.Kind.PURCHASE: "Corner Coffee",
            Transaction.Kind.PAYMENT: "Payment received, thank you",
            Transaction.Kind.REFUND: "Corner Coffee",
            Transaction.Kind.CREDIT: "Temporary credit: disputed charge",
        }.get(kind, "")
    with transaction.atomic():
        locked = ledger.account_lock(account.pk)
        return ledger.transaction_record(
            account=locked,
            detail="test",
            kind=kind,
            status=Transaction.Status.POSTED,
            amount=amount,
            card=card,
            merchant_name=merchant,
            network_id=f"stmt-test-{next(_network_ids)}",
            transacted_at=when,
            posted_at=when,
            **fields,
        )


def pay(account: CardAccount, amount: str | Decimal, when: dt.datetime) -> Transaction:
    return post(account, -Decimal(amount), when, kind=Transaction.Kind.PAYMENT)


@pytest.fixture
def charge(db):
    """A basic card member (signed-in user) and their Gold charge card, statement day 15."""
    user = UserFactory()
    account = open_account(holder=user.cardholder, opened_on=dt.date(2024, 1, 2))
    issued = issue_card(account=account)
    return user, account, issued


@pytest.fixture
def credit(db):
    """A Blue Cash credit card at 24.99% APR, statement day 15, limit $5,000."""
    user = UserFactory()
    account = open_account(
        holder=user.cardholder, product=CardProductFactory(credit=True), opened_on=dt.date(2024, 1, 2)
    )
    issued = issue_card(account=account)
    return user, account, issued


@pytest.fixture
def business(db):
    """A business program: an administrator (no card), the account's basic card member
    and two employees with cards."""
    program = BusinessProgramFactory()
    administrator = UserFactory(cardholder=None, username="program.admin")
    program.administrators.add(administrator)
    owner = UserFactory()
    account = open_account(
        holder=owner.cardholder,
        product=CardProductFactory(business=True),
        program=program,
        opened_on=dt.date(2024, 1, 2),
    )
    basic = issue_card(account=account)
    employees = [UserFactory() for _ in range(2)]
    cards = [issue_card(account=account, holder=e.cardholder, role=Card.Role.EMPLOYEE) for e in employees]
    return {
        "program": program,
        "administrator": administrator,
        "owner": owner,
        "account": account,
        "basic": basic,
        "employees": employees,
        "employee_cards": cards,
    }


@pytest.fixture
def product_points(db) -> CardProduct:
    return CardProductFactory()
