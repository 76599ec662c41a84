"""Processor events at the edges: dates out of range or in the future, reversals in
another currency, refunds of purchases that were never paid. Each is refused with a
4xx answer that names the problem, and nothing is stored."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from cards import ledger, processing
from cards.models import Card, CardAccount, Transaction
from tests.cards.conftest import event

pytestmark = pytest.mark.django_db


def handle(payload):
    return processing.processor_event_handle(event=processing.event_parse(payload))


def refused(payload) -> processing.EventError:
    with pytest.raises(processing.EventError) as error:
        handle(payload)
    return error.value


def test_a_partial_reversal_in_another_currency_is_refused_and_the_hold_stays(credit_card):
    handle(event(card=credit_card, amount="100.00", network_id="n1"))
    error = refused(event("reversal", card=credit_card, network_id="n1", amount="40.00", currency="EUR"))
    assert error.code == "currency_mismatch"
    assert Transaction.objects.get(network_id="n1").amount == Decimal("100.00")


def test_a_partial_reversal_without_a_currency_is_in_the_holds_currency(credit_card):
    handle(event(card=credit_card, amount="100.00", network_id="n2"))
    payload = event("reversal", card=credit_card, network_id="n2", amount="40.00")
    payload.pop("currency", None)
    assert handle(payload).body["result"] == "partially_reversed"
    assert Transaction.objects.get(network_id="n2").amount == Decimal("60.00")


def test_a_whole_reversal_needs_no_amount_or_currency(credit_card):
    handle(event(card=credit_card, amount="100.00", network_id="n3"))
    payload = event("reversal", card=credit_card, network_id="n3")
    payload.pop("amount", None)
    payload.pop("currency", None)
    assert handle(payload).body["result"] == "reversed"


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"])
def test_a_date_past_the_calendar_is_a_400_not_a_500(webhook, credit_card, when):
    response = webhook(event(card=credit_card, transacted_at=when))
    assert response.status_code == 400
    assert response.json()["message"] == "transacted_at is out of range"
    assert not Transaction.objects.exists()


def test_a_purchase_dated_in_the_future_is_refused(credit_card):
    future = (timezone.now() + dt.timedelta(days=3650)).isoformat()
    error = refused(event(card=credit_card, amount="100.00", network_id="fut", transacted_at=future))
    assert error.status == 400 and "future" in error.message
    assert not Transaction.objects.exists()


def test_a_clock_a_few_hours_ahead_is_still_accepted(credit_card):
    ahead = (timezone.now() + dt.timedelta(hours=3)).isoformat()
    assert handle(event(card=credit_card, amount="10.00", network_id="ahead", transacted_at=ahead)).body["approved"]


def test_a_refund_of_a_declined_purchase_is_refused(credit_card):
    Card.objects.filter(pk=credit_card.card.pk).update(status=Card.Status.FROZEN)
    assert handle(event(card=credit_card, amount="100.00", network_id="p1")).body["approved"] is False
    Card.objects.filter(pk=credit_card.card.pk).update(status=Card.Status.ACTIVE)
    error = refused(event("refund", card=credit_card, amount="100.00", original_network_id="p1"))
    assert (error.code, error.status) == ("refund_of_declined", 409)
    assert not Transaction.objects.filter(kind=Transaction.Kind.REFUND).exists()
    account = CardAccount.objects.get(pk=credit_card.card.account_id)
    assert ledger.ledger_verify(account_ids=[account.pk]) == (1, [])
