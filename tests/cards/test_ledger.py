from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from cards import ledger, processing, selectors
from cards.models import CardAccount, Transaction, TransactionEvent
from portal.models import ImmutableRowError
from tests.cards.conftest import event
from tests.factories import TransactionFactory

pytestmark = pytest.mark.django_db


def handle(payload):
    return processing.processor_event_handle(event=processing.event_parse(payload))


def account_of(issued) -> CardAccount:
    return CardAccount.objects.get(pk=issued.card.account_id)


def test_new_account_caches_start_at_zero(credit_card):
    account = account_of(credit_card)
    assert (account.posted_balance, account.pending_total) == (Decimal("0.00"), Decimal("0.00"))
    assert selectors.account_balances(account=account) == selectors.AccountBalances(
        currency="USD",
        current_balance=Decimal("0.00"),
        pending=Decimal("0.00"),
        credit_limit=Decimal("1000.00"),
        available_credit=Decimal("1000.00"),
    )


def test_caches_follow_every_movement_and_match_the_rows(credit_card):
    handle(event(card=credit_card, amount="100.00", network_id="a"))
    handle(event(card=credit_card, amount="40.00", network_id="b"))
    handle(event("clearing", card=credit_card, amount="110.00", network_id="a"))
    handle(event("reversal", network_id="b", amount="15.00"))
    handle(event("refund", card=credit_card, amount="20.00"))
    handle(event(card=credit_card, amount="5000.00"))  # declined: no effect
    account = account_of(credit_card)
    assert account.posted_balance == Decimal("90.00")
    assert account.pending_total == Decimal("25.00")
    assert selectors.account_balance(account=account) == Decimal("90.00")
    assert selectors.account_pending(account=account) == Decimal("25.00")
    assert selectors.account_available_credit(account=account) == Decimal("885.00")
    assert ledger.ledger_verify() == (1, [])


def test_available_credit_is_never_shown_below_zero(credit_card):
    handle(event("clearing", card=credit_card, amount="1200.00"))  # force-posted past the limit
    assert selectors.account_available_credit(account=account_of(credit_card)) == Decimal("0.00")


def test_verify_finds_rows_written_behind_the_ledgers_back_and_rebuild_fixes_them(credit_card, charge_card):
    handle(event(card=charge_card, amount="10.00"))
    TransactionFactory(card=credit_card.card, amount=Decimal("42.50"))
    TransactionFactory(card=credit_card.card, amount=Decimal("7.50"), status="pending")
    checked, mismatches = ledger.ledger_verify()
    assert checked == 2
    assert [(m.account_id, m.rows_posted, m.rows_pending) for m in mismatches] == [
        (credit_card.card.account_id, Decimal("42.50"), Decimal("7.50"))
    ]
    assert "posted balance cached 0.00, rows 42.50" in str(mismatches[0])
    assert ledger.ledger_rebuild(account_ids=[credit_card.card.account_id]) == 1
    assert ledger.ledger_verify() == (2, [])
    assert ledger.ledger_rebuild_all() == 0


def test_verify_works_in_batches(db, credit_card, charge_card):
    TransactionFactory(card=charge_card.card, amount=Decimal("1.00"))
    checked, mismatches = ledger.ledger_verify(batch_size=1)
    assert checked == 2 and len(mismatches) == 1


def test_ledger_verify_command_reports_and_fixes(credit_card):
    TransactionFactory(card=credit_card.card, amount=Decimal("12.00"))
    reference = account_of(credit_card).reference
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 1 accounts"):
        call_command("ledger_verify", stdout=out)
    assert f"MISMATCH {reference}: posted balance cached 0.00, rows 12.00" in out.getvalue()
    out = StringIO()
    call_command("ledger_verify", "--fix", stdout=out)
    assert "Rebuilt the caches of 1 of 1 accounts" in out.getvalue()
    out = StringIO()
    call_command("ledger_verify", "--account", reference, stdout=out)
    assert "every cache matches" in out.getvalue()
    assert account_of(credit_card).posted_balance == Decimal("12.00")


def test_ledger_verify_command_refuses_an_unknown_account(db):
    with pytest.raises(CommandError, match="No account"):
        call_command("ledger_verify", "--account", "A0000000000", stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_account_lock_refuses_to_run_outside_a_transaction(credit_card):
    with pytest.raises(ledger.LedgerError, match="transaction"):
        ledger.account_lock(credit_card.card.account_id)


def test_transitions_the_ledger_refuses(credit_card):
    handle(event(card=credit_card, amount="5000.00", network_id="declined"))
    txn = Transaction.objects.get()
    with transaction.atomic():
        account = ledger.account_lock(txn.account_id)
        with pytest.raises(ledger.LedgerError):
            ledger.transaction_transition(txn=txn, account=account, status="posted", detail="no")


def test_status_history_is_append_only(credit_card):
    handle(event(card=credit_card))
    history = TransactionEvent.objects.get()
    with pytest.raises(ImmutableRowError):
        history.save()
    with pytest.raises(ImmutableRowError):
        TransactionEvent.objects.all().delete()
