"""Helpers for the ledger, webhook and card-control tests: accounts with cards, and
signed processor events sent through the real webhook."""

from __future__ import annotations

import itertools
import json
import time
from decimal import Decimal

import pytest

from cards.models import Card, CardProduct, EarnRate
from cards.webhook import signature_for
from tests.factories import (
    BusinessProgramFactory,
    CardholderFactory,
    CardProductFactory,
    UserFactory,
    issue_card,
    open_account,
)

WEBHOOK_URL = "/cards/processor/webhook/"
_ids = itertools.count(1)


def event(type_: str = "authorization", *, card=None, **fields) -> dict:
    """A processor event. ``card`` is an IssuedCard (its number is sent, as processors do)."""
    n = next(_ids)
    payload = {"event_id": f"evt-{n:06d}", "type": type_, "network_id": f"net-{n:06d}"}
    if type_ != "reversal":
        payload |= {"amount": "25.00", "currency": "USD"}
    if type_ in ("authorization", "refund", "clearing"):
        payload["merchant"] = {"name": "Corner Coffee", "mcc": "5814", "city": "New York", "country": "US"}
    if card is not None:
        payload["card_number"] = card.pan
    payload.update(fields)
    return payload


def post_event(client, payload, *, secret=None, timestamp=None, headers=None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signed = {
        "X-Processor-Timestamp": stamp,
        "X-Processor-Signature": signature_for(body=body, timestamp=stamp, secret=secret),
    }
    signed.update(headers or {})
    return client.post(WEBHOOK_URL, data=body, content_type="application/json", headers=signed)


@pytest.fixture
def webhook(client, settings):
    """Send an event through the portal's full middleware stack; returns the response."""
    settings.ROOT_URLCONF = "tests.cards.urls_webhook"

    def send(payload, **kwargs):
        return post_event(client, payload, **kwargs)

    return send


@pytest.fixture
def credit_card(db):
    """An active basic card on a cash-back credit account with a $1,000.00 limit."""
    user = UserFactory()
    product = CardProductFactory(credit=True)
    EarnRate.objects.get_or_create(product=product, category="groceries", defaults={"rate": Decimal("0.0300")})
    account = open_account(holder=user.cardholder, product=product, credit_limit=Decimal("1000.00"))
    return issue_card(account=account)


@pytest.fixture
def charge_card(db):
    """An active basic card on a points charge account (1X base, 3X dining)."""
    user = UserFactory()
    product = CardProductFactory()
    EarnRate.objects.get_or_create(product=product, category="dining", defaults={"rate": Decimal("3.0000")})
    account = open_account(holder=user.cardholder, product=product)
    return issue_card(account=account)


@pytest.fixture
def business(db):
    """A program with an administrator, and an employee card with a $500.00 monthly limit."""
    admin = UserFactory(cardholder=None)
    employee = UserFactory()
    program = BusinessProgramFactory()
    program.administrators.add(admin)
    product = CardProductFactory(business=True)
    assert product.kind == CardProduct.Kind.CHARGE
    account = open_account(holder=CardholderFactory(), product=product, program=program)
    issued = issue_card(
        account=account, holder=employee.cardholder, role=Card.Role.EMPLOYEE, monthly_limit=Decimal("500.00")
    )
    return {"admin": admin, "employee": employee, "program": program, "account": account, "card": issued}


@pytest.fixture
def roles(db):
    """One person in each role around a personal account and two business programs, for
    access tests (each URL × each role): see ``roles_build``."""
    return roles_build()


def roles_build():
    """One person in each role around a personal account and two business programs, for
    access tests (each URL × each role):

    * ``owner``: basic card member of a personal account that also has ``supp``'s card;
    * ``supplementary``: holds the supplementary card on the owner's account;
    * ``employee``: holds an employee card in ``program``; ``colleague``'s card is beside it;
    * ``admin``: administers ``program`` (no card of their own);
    * ``other_admin``: administers ``other_program``, whose ``outsider`` card is not ours;
    * ``stranger``: an unrelated cardholder with a card of their own.

    Returns a namespace with ``users``, ``cards`` (Card objects) and ``issued`` (IssuedCard,
    for sending processor events)."""
    from types import SimpleNamespace

    owner, supplementary, employee, stranger = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    admin, other_admin = UserFactory(cardholder=None), UserFactory(cardholder=None)
    account = open_account(holder=owner.cardholder)
    issued = {
        "basic": issue_card(account=account),
        "supp": issue_card(account=account, holder=supplementary.cardholder, role=Card.Role.SUPPLEMENTARY),
    }
    program, other_program = BusinessProgramFactory(), BusinessProgramFactory()
    program.administrators.add(admin)
    other_program.administrators.add(other_admin)
    product = CardProductFactory(business=True)
    business_account = open_account(holder=CardholderFactory(), product=product, program=program)
    issued["employee"] = issue_card(
        account=business_account,
        holder=employee.cardholder,
        role=Card.Role.EMPLOYEE,
        monthly_limit=Decimal("500.00"),
    )
    issued["colleague"] = issue_card(account=business_account, holder=CardholderFactory(), role=Card.Role.EMPLOYEE)
    other_account = open_account(holder=CardholderFactory(), product=product, program=other_program)
    issued["outsider"] = issue_card(account=other_account, holder=CardholderFactory(), role=Card.Role.EMPLOYEE)
    issued["stranger"] = issue_card(account=open_account(holder=stranger.cardholder))
    return SimpleNamespace(
        users={
            "owner": owner,
            "supplementary": supplementary,
            "employee": employee,
            "admin": admin,
            "other_admin": other_admin,
            "stranger": stranger,
        },
        cards={name: card.card for name, card in issued.items()},
        issued=issued,
        program=program,
        other_program=other_program,
    )
