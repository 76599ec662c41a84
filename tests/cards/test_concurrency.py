"""Decisions and posting under real concurrency: PostgreSQL row locks, two threads with
their own connections (run on PostgreSQL by .ci/run; skipped on SQLite, which
serializes every write anyway)."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from cards import ledger, processing
from cards.models import CardAccount, CardProduct, ProcessorEvent, Transaction
from cards.tasks import authorization_holds_expire
from tests.cards.conftest import event
from tests.factories import CardProductFactory, UserFactory, issue_card, open_account
from tests.worker import celery_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races need PostgreSQL (SQLite serializes writes); .ci/run runs these on PostgreSQL")


def handle(payload: dict) -> processing.Answer:
    return processing.processor_event_handle(event=processing.event_parse(payload))


def race(*payloads: dict) -> list:
    """Send the events at the same instant from separate threads (separate connections).
    Returns each event's Answer, or the EventError it was refused with."""
    barrier = threading.Barrier(len(payloads))
    answers: list = [None] * len(payloads)
    errors: list[BaseException] = []

    def send(index: int, payload: dict) -> None:
        try:
            barrier.wait(timeout=10)
            answers[index] = handle(payload)
        except processing.EventError as refused:
            answers[index] = refused
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i, p)) for i, p in enumerate(payloads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return answers


def credit_account_with_available(available: str):
    product = CardProductFactory(credit=True)
    account = open_account(holder=UserFactory().cardholder, product=product, credit_limit=Decimal("1000.00"))
    issued = issue_card(account=account)
    spent = Decimal("1000.00") - Decimal(available)
    handle(event("clearing", card=issued, amount=str(spent)))
    return issued


@pytest.mark.parametrize("round_", range(5))
def test_two_authorizations_racing_for_the_last_credit_approve_at_most_one(round_):
    issued = credit_account_with_available("100.00")
    answers = race(event(card=issued, amount="60.00"), event(card=issued, amount="60.00"))
    decisions = sorted(answer.body["decision"] for answer in answers)
    assert decisions == ["approved", "declined"]
    assert {a.body["reason_code"] for a in answers} == {"", "over_credit_limit"}
    account = CardAccount.objects.get(pk=issued.card.account_id)
    assert account.pending_total == Decimal("60.00")
    assert ledger.ledger_verify(account_ids=[account.pk])[1] == []


def test_two_authorizations_racing_for_the_employee_monthly_limit_approve_one(business):
    assert business["account"].product.kind == CardProduct.Kind.CHARGE
    answers = race(event(card=business["card"], amount="300.00"), event(card=business["card"], amount="300.00"))
    assert sorted(a.body["reason_code"] for a in answers) == ["", "over_monthly_limit"]


def test_the_same_event_delivered_twice_at_once_is_applied_once(credit_card):
    payload = event(card=credit_card, amount="45.00")
    first, second = race(payload, dict(payload))
    assert first.body == second.body
    assert {first.replayed, second.replayed} == {False, True}
    assert Transaction.objects.count() == 1 and ProcessorEvent.objects.count() == 1
    assert CardAccount.objects.get(pk=credit_card.card.account_id).pending_total == Decimal("45.00")


def test_clearing_and_reversal_racing_on_one_hold_leave_consistent_caches(credit_card):
    handle(event(card=credit_card, amount="80.00", network_id="contested"))
    race(
        event("clearing", card=credit_card, amount="80.00", network_id="contested"),
        event("reversal", network_id="contested"),
    )
    # Either order ends posted: a reversal after the clearing is refused, a clearing
    # after the reversal posts all the same.
    assert Transaction.objects.get(network_id="contested").status == "posted"
    account = CardAccount.objects.get(pk=credit_card.card.account_id)
    assert (account.posted_balance, account.pending_total) == (Decimal("80.00"), Decimal("0.00"))
    assert ledger.ledger_verify()[1] == []


@pytest.mark.worker
def test_a_real_worker_releases_stale_holds(credit_card, tmp_path):
    old = (timezone.now() - dt.timedelta(days=8)).isoformat()
    handle(event(card=credit_card, amount="12.00", network_id="stale-hold", transacted_at=old))
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    with celery_worker(outbox=outbox):
        authorization_holds_expire.delay()
        released = wait_for(lambda: Transaction.objects.filter(network_id="stale-hold", status="reversed").exists())
    assert released, "the worker did not release the hold within 30 s"
    assert CardAccount.objects.get(pk=credit_card.card.account_id).pending_total == Decimal("0.00")
