"""The database itself holds the rules: these insert rows that break them directly."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from cards.models import Card, CardAccount, CardProduct, Dispute, Payment, PaymentMethod, RewardEntry, Transaction
from portal.models import ImmutableRowError
from tests.factories import CardProductFactory, TransactionFactory, UserFactory, issue_card, open_account

pytestmark = pytest.mark.django_db


def _violates(fn):
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


@pytest.fixture
def card():
    user = UserFactory()
    return issue_card(account=open_account(holder=user.cardholder)).card


def test_charge_product_cannot_carry_an_apr():
    _violates(
        lambda: CardProduct.objects.create(
            code="bad",
            name="Bad",
            kind="charge",
            segment="personal",
            rewards_kind="points",
            base_earn_rate=1,
            annual_rate=Decimal("19.99"),
        )
    )


def test_credit_product_needs_an_apr():
    _violates(
        lambda: CardProduct.objects.create(
            code="bad",
            name="Bad",
            kind="credit",
            segment="personal",
            rewards_kind="points",
            base_earn_rate=1,
        )
    )


def test_statement_day_must_be_1_to_28(card):
    account = card.account
    _violates(lambda: CardAccount.objects.filter(pk=account.pk).update(statement_day=31))


def test_card_number_hash_is_unique(card):
    other = issue_card(account=card.account, role=Card.Role.SUPPLEMENTARY).card
    _violates(lambda: Card.objects.filter(pk=other.pk).update(pan_hash=card.pan_hash))


def test_monthly_limit_only_on_employee_cards(card):
    _violates(lambda: Card.objects.filter(pk=card.pk).update(monthly_limit=Decimal("500")))


def test_purchase_amount_must_be_positive(card):
    _violates(lambda: TransactionFactory(card=card, amount=Decimal("-5.00")))


def test_payment_amount_must_be_negative_in_the_ledger(card):
    _violates(lambda: TransactionFactory(card=None, account=card.account, kind="payment", amount=Decimal("5.00")))


def test_posted_transaction_needs_a_posting_date(card):
    _violates(lambda: TransactionFactory(card=card, status="posted", posted_at=None))


def test_foreign_amount_needs_its_currency(card):
    _violates(lambda: TransactionFactory(card=card, original_amount=Decimal("10.00"), original_currency=""))


def test_network_id_is_unique(card):
    TransactionFactory(card=card, network_id="net-1")
    _violates(lambda: TransactionFactory(card=card, network_id="net-1"))


def test_one_open_dispute_per_transaction(card):
    user = UserFactory()
    txn = TransactionFactory(card=card)
    Dispute.objects.create(transaction=txn, opened_by=user, reason="duplicate", description="twice")
    _violates(lambda: Dispute.objects.create(transaction=txn, opened_by=user, reason="duplicate", description="again"))


def test_closed_dispute_does_not_block_a_new_one(card):
    user = UserFactory()
    txn = TransactionFactory(card=card)
    Dispute.objects.create(
        transaction=txn,
        opened_by=user,
        reason="duplicate",
        description="x",
        status="declined",
        resolved_at=timezone.now(),
    )
    assert Dispute.objects.create(transaction=txn, opened_by=user, reason="other", description="y").pk


def test_payment_idempotency_key_is_unique(card):
    user = UserFactory()
    method = PaymentMethod.objects.create(
        owner=user, nickname="Checking", routing_number="021000021", account_last4="6789", account_hash="h"
    )
    fields = dict(account=card.account, method=method, amount=Decimal("10"), scheduled_for=timezone.localdate())
    Payment.objects.create(idempotency_key="k1", **fields)
    _violates(lambda: Payment.objects.create(idempotency_key="k1", **fields))


def test_reward_entries_are_append_only(card):
    txn = TransactionFactory(card=card)
    entry = RewardEntry.objects.create(account=card.account, transaction=txn, kind="earn", unit="points", quantity=42)
    entry.quantity = 4200
    with pytest.raises(ImmutableRowError):
        entry.save()
    with pytest.raises(ImmutableRowError):
        RewardEntry.objects.filter(pk=entry.pk).update(quantity=1)
    with pytest.raises(ImmutableRowError):
        entry.delete()


def test_a_transaction_earns_rewards_once(card):
    txn = TransactionFactory(card=card)
    RewardEntry.objects.create(account=card.account, transaction=txn, kind="earn", unit="points", quantity=42)
    _violates(
        lambda: RewardEntry.objects.create(
            account=card.account, transaction=txn, kind="earn", unit="points", quantity=42
        )
    )


def test_user_id_is_unique_case_insensitively():
    UserFactory(username="JSmith01")
    _violates(lambda: UserFactory(username="jsmith01"))


def test_transactions_have_an_index_for_account_history_by_date():
    names = {index.name for index in Transaction._meta.indexes}
    assert "txn_account_date_idx" in names


def test_credit_product_factory_is_valid():
    assert CardProductFactory(credit=True).is_credit
