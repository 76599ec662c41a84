"""Reads for cards. Who may see which card is decided here and only here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import User
from portal.money import quantize

from .models import BusinessProgram, Card, CardAccount, Transaction, TransactionEvent

ZERO = Decimal("0.00")


def card_visible_to(user: User) -> Q:
    """Cards a user may see:

    * their own card, whatever its role;
    * every card on an account where they hold the basic card (supplementary cards);
    * every card on the accounts of a business program they administer.
    """
    if not user.is_authenticated:
        return Q(pk__in=[])
    visible = card_managed_by(user)
    if user.cardholder_id:
        visible |= Q(holder_id=user.cardholder_id)
    return visible


def card_managed_by(user: User) -> Q:
    """Cards a user controls for others as well as for themselves: every card on an
    account where they hold the basic card, and every card in a business program they
    administer. (Their own supplementary or employee card is visible, not managed.)"""
    if not user.is_authenticated:
        return Q(pk__in=[])
    managed = card_administered_by(user)
    if user.cardholder_id:
        basic_accounts = Card.objects.filter(holder_id=user.cardholder_id, role=Card.Role.BASIC).values("account_id")
        managed |= Q(account_id__in=basic_accounts)
    return managed


def card_administered_by(user: User) -> Q:
    """Cards on the accounts of the business programs a user administers."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    programs = BusinessProgram.objects.filter(administrators=user).values("id")
    return Q(account__business_program_id__in=programs)


def card_list_for_user(*, user: User) -> QuerySet[Card]:
    return (
        Card.objects.filter(card_visible_to(user))
        .select_related("account__product", "holder")
        .order_by("account__product__segment", "account_id", "role", "id")
    )


def card_get_for_user(*, user: User, card_id: int) -> Card:
    # The same 404 whether the card does not exist or is not theirs.
    return get_object_or_404(card_list_for_user(user=user), pk=card_id)


# --- Balances: derived in one place ------------------------------------------------------
# Read from the account's ledger caches (cards.ledger keeps them in step with the rows,
# `manage.py ledger_verify` checks them), so no figure sums millions of rows.


def account_balance(*, account: CardAccount) -> Decimal:
    """Current (posted) balance. Positive means the cardholder owes."""
    return account.posted_balance


def account_pending(*, account: CardAccount) -> Decimal:
    """Authorized, not yet posted charges (holds)."""
    return account.pending_total


def account_available_credit(*, account: CardAccount) -> Decimal | None:
    """Credit products: limit − posted − pending, never shown below zero. Charge
    products: None, meaning "no preset spending limit"."""
    if account.credit_limit is None:
        return None
    return max(ZERO, account.credit_limit - account.posted_balance - account.pending_total)


@dataclass(frozen=True)
class AccountBalances:
    currency: str
    current_balance: Decimal
    pending: Decimal
    credit_limit: Decimal | None
    available_credit: Decimal | None

    @property
    def no_preset_spending_limit(self) -> bool:
        return self.credit_limit is None


def account_balances(*, account: CardAccount) -> AccountBalances:
    return AccountBalances(
        currency=account.currency,
        current_balance=account_balance(account=account),
        pending=account_pending(account=account),
        credit_limit=account.credit_limit,
        available_credit=account_available_credit(account=account),
    )


def month_start(now: dt.datetime | None = None) -> dt.datetime:
    """Midnight on the first of the current month, in the portal's time zone."""
    local = timezone.localtime(now or timezone.now())
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def card_spend_this_month(*, card: Card, now: dt.datetime | None = None) -> Decimal:
    """Purchases on the card this calendar month, pending and posted (what the
    employee monthly limit counts). Declined and released holds do not count."""
    total = Transaction.objects.filter(
        card=card,
        kind=Transaction.Kind.PURCHASE,
        status__in=[Transaction.Status.PENDING, Transaction.Status.POSTED],
        transacted_at__gte=month_start(now),
    ).aggregate(total=Sum("amount"))["total"]
    # SQLite sums decimals as floats; money is always quantized to cents here.
    return quantize(total or ZERO)


def transaction_status_history(*, transaction: Transaction) -> QuerySet[TransactionEvent]:
    """The status changes of one transaction, oldest first (fetch the transaction
    through a ``*_for_user`` selector first)."""
    return TransactionEvent.objects.filter(transaction=transaction).order_by("at", "id")
