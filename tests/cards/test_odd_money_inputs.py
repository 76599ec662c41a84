"""Odd typed values in the money forms: each answers with a page (200/302/404), never 500."""

import time
from decimal import Decimal

import pytest
from django.urls import reverse

from cards import step_up
from cards.models import CardAccount, Transaction
from cards.rewards import reward_entry_add
from tests.cards.payments_helpers import bank_account, spend

pytestmark = pytest.mark.django_db

ODD = [
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "1e999999999",
    "1e-999999999",
    "１００",
    "1_000",
    "٣",
    "²",
    "0x10",
    "1,,0",
    "$",
    "-0",
    "0E-1000000000",
    "\x00",
    "9" * 20,
]


@pytest.fixture
def setup(client, charge_card):
    spend(charge_card, "300.00", merchant={"name": "Diner", "mcc": "5812", "city": "Austin", "country": "US"})
    owner = charge_card.card.holder.user
    method = bank_account(owner)
    account = CardAccount.objects.get(pk=charge_card.card.account_id)
    client.force_login(owner)
    session = client.session
    session[step_up.SESSION_KEY] = {"user": owner.pk, "at": int(time.time()), "channel": "email"}
    session.save()
    client.raise_request_exception = False
    return client, account, method, charge_card


@pytest.mark.parametrize("value", ODD)
def test_pay_form(setup, value):
    client, account, method, _ = setup
    for field in ("other_amount", "pay_day", "pay_month", "pay_year"):
        data = {
            "method": method.pk,
            "amount_choice": "other",
            "other_amount": "10.00",
            "when": "later",
            "pay_day": "1",
            "pay_month": "1",
            "pay_year": "2030",
            "idempotency_key": "k" * 32,
            "action": "review",
            field: value,
        }
        assert client.post(reverse("payments:pay", args=[account.pk]), data).status_code != 500, field


@pytest.mark.parametrize("value", ODD)
def test_autopay_form(setup, value):
    client, account, method, _ = setup
    data = {"method": method.pk, "amount_kind": "fixed", "fixed_amount": value}
    assert client.post(reverse("payments:autopay_edit", args=[account.pk]), data).status_code != 500


@pytest.mark.parametrize("value", ODD)
def test_dispute_form(setup, value):
    client, account, method, _ = setup
    txn = Transaction.objects.get(kind="purchase")
    data = {"reason": "other", "description": "Something went wrong here.", "amount": value}
    assert client.post(reverse("disputes:start", args=[txn.pk]), data).status_code != 500


@pytest.mark.parametrize("value", ODD)
def test_redeem_form(setup, value):
    client, account, method, issued = setup
    reward_entry_add(account=account, kind="earn", unit="points", quantity=Decimal("2500"))
    for field in ("quantity", "idempotency_key", "card"):
        data = {"card": str(issued.card.pk), "quantity": "1000", "idempotency_key": "a" * 32, field: value}
        assert client.post(reverse("cards:rewards"), data).status_code != 500, field
