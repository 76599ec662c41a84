"""Exactly one payment when the same submission arrives twice at the same instant (a
double click, two tabs): two threads, two database connections, on PostgreSQL. SQLite
serializes every write, so there the race cannot happen and the test is skipped."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cards import ledger, payments
from cards.models import CardAccount, Payment, Transaction
from tests.cards.payments_helpers import bank_account, spend

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("a real race needs PostgreSQL (SQLite serializes writes); .ci/run runs this on PostgreSQL")


def race(*requests):
    """Run each callable at the same instant in its own thread; returns their results."""
    barrier = threading.Barrier(len(requests))
    results: list = [None] * len(requests)
    errors: list[BaseException] = []

    def run(index, request):
        try:
            barrier.wait(timeout=10)
            results[index] = request()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


@pytest.mark.parametrize("round_", range(3))
def test_two_identical_submissions_at_once_make_one_payment(charge_card, round_):
    spend(charge_card, "300.00")
    owner = charge_card.card.holder.user
    method = bank_account(owner)
    account_id = charge_card.card.account_id
    first_tab = Client()
    first_tab.force_login(owner)
    second_tab = Client()
    second_tab.cookies = first_tab.cookies  # the same browser: one session, two tabs
    today = timezone.localdate()
    form = {
        "method": method.pk,
        "amount_choice": "other",
        "other_amount": "120.00",
        "when": "now",
        "pay_day": today.day,
        "pay_month": today.month,
        "pay_year": today.year,
        "idempotency_key": f"double-click-{round_}-" + "q" * 20,
        "action": "confirm",
    }
    url = reverse("payments:pay", args=[account_id])

    responses = race(lambda: first_tab.post(url, form), lambda: second_tab.post(url, form))

    assert [r.status_code for r in responses] == [302, 302]
    assert responses[0].url == responses[1].url
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.POSTED
    assert Transaction.objects.filter(kind="payment").count() == 1
    assert CardAccount.objects.get(pk=account_id).posted_balance == Decimal("180.00")
    assert ledger.ledger_verify(account_ids=[account_id])[1] == []


def test_two_different_payments_at_once_cannot_both_exceed_the_balance(charge_card):
    spend(charge_card, "100.00")
    owner = charge_card.card.holder.user
    method = bank_account(owner)
    account = CardAccount.objects.get(pk=charge_card.card.account_id)
    later = timezone.localdate() + dt.timedelta(days=3)

    def pay(key):
        def call():
            try:
                return payments.payment_schedule(
                    account=account,
                    method=method,
                    amount=Decimal("70.00"),
                    scheduled_for=later,
                    idempotency_key=key,
                    actor=owner,
                )[1]
            except payments.PaymentError as refused:
                return refused.field

        return call

    outcomes = race(pay("tab-one-" + "a" * 20), pay("tab-two-" + "b" * 20))
    assert sorted(map(str, outcomes)) == ["True", "amount"]
    assert Payment.objects.count() == 1
