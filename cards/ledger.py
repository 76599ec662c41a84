"""The one writer of card transactions and the keeper of the account's ledger caches.

Every transaction row that counts towards a balance is created or moved between
statuses here, in the caller's database transaction, with the account row locked
(``account_lock``): the cached ``posted_balance`` and ``pending_total`` on the account
move by the same amounts in the same transaction (F() expressions), the status history
gets a ``TransactionEvent``, rewards are earned when a purchase posts, and the alert
hook runs. ``ledger_verify`` compares the caches with the rows; ``ledger_rebuild``
recomputes them (``manage.py ledger_verify [--fix]``).

Rows written in bulk elsewhere (the demo world) bypass this module: rebuild the caches
of those accounts afterwards with ``ledger_rebuild``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction as db_transaction
from django.db.models import DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round
from django.utils import timezone

from portal.money import quantize

from .alerts import transaction_alerts_dispatch
from .models import CardAccount, RewardEntry, Transaction, TransactionEvent

ZERO = Decimal("0.00")
Status = Transaction.Status


class LedgerError(Exception):
    """A movement that the ledger refuses (a bug in the caller, not a user error)."""


def _contribution(status: str, amount: Decimal) -> tuple[Decimal, Decimal]:
    """What one row adds to (posted_balance, pending_total)."""
    if status == Status.POSTED:
        return amount, ZERO
    if status == Status.PENDING:
        return ZERO, amount
    return ZERO, ZERO


def account_lock(account_id: int) -> CardAccount:
    """Lock the account row for the rest of the transaction. Every decision and every
    movement on an account happens under this lock, so two authorizations cannot both
    spend the last of the credit. ``no_key``: inserting rows that reference the account
    (cards, transactions) does not wait for it, which keeps lock orders deadlock-free."""
    if not db_transaction.get_connection().in_atomic_block:
        raise LedgerError("account_lock needs a surrounding transaction")
    return CardAccount.objects.select_for_update(no_key=True).select_related("product").get(pk=account_id)


def _caches_apply(account: CardAccount, posted: Decimal, pending: Decimal) -> None:
    if not posted and not pending:
        return
    # Rounded to cents in the database: SQLite (the embedded mode) adds decimals as
    # binary floats, so holds of $0.10 and $0.70 released in turn left -1e-16 behind,
    # which the pending_total >= 0 constraint refused (a no-op on PostgreSQL's numeric).
    CardAccount.objects.filter(pk=account.pk).update(
        posted_balance=Round(F("posted_balance") + posted, 2), pending_total=Round(F("pending_total") + pending, 2)
    )
    # Keep the caller's copy in step, so a later decision in the same transaction
    # reads the new figures without another query.
    account.posted_balance = quantize(account.posted_balance + posted)
    account.pending_total = quantize(account.pending_total + pending)


def _event(txn: Transaction, detail: str, at) -> None:
    TransactionEvent.objects.create(transaction=txn, status=txn.status, amount=txn.amount, detail=detail[:200], at=at)
    transaction_alerts_dispatch(txn)


def transaction_record(
    *, account: CardAccount, detail: str, refund_of: Transaction | None = None, **fields: Any
) -> Transaction:
    """Insert a transaction (any status) and move the caches by what it contributes.
    ``account`` must have come from ``account_lock`` in this transaction."""
    now = timezone.now()
    fields.setdefault("currency", account.currency)
    fields.setdefault("created_at", now)
    if fields.get("status") == Status.POSTED:
        fields.setdefault("posted_at", now)
    txn = Transaction.objects.create(account=account, **fields)
    _caches_apply(account, *_contribution(txn.status, txn.amount))
    if txn.status == Status.POSTED:
        from .rewards import rewards_on_posting

        rewards_on_posting(transaction=txn, account=account, refund_of=refund_of)
    _event(txn, detail, now)
    return txn


# Which moves a transaction may make. A reversed hold can still post: a merchant may
# clear after the hold expired, and the money is owed all the same.
_ALLOWED = {
    Status.PENDING: {Status.POSTED, Status.REVERSED, Status.PENDING},
    Status.REVERSED: {Status.POSTED},
}


def transaction_transition(
    *,
    txn: Transaction,
    account: CardAccount,
    status: str,
    detail: str,
    amount: Decimal | None = None,
    **fields: Any,
) -> Transaction:
    """Move a transaction to ``status`` (optionally with a new amount, for a clearing
    that differs from its authorization or a partial reversal), moving the caches by
    the difference. ``account`` must be locked; ``txn`` re-read under that lock."""
    if txn.account_id != account.pk:
        raise LedgerError("transaction and account do not match")
    if status not in _ALLOWED.get(txn.status, set()):
        raise LedgerError(f"a {txn.status} transaction cannot become {status}")
    now = timezone.now()
    old = _contribution(txn.status, txn.amount)
    txn.status = status
    if amount is not None:
        txn.amount = amount
    if status == Status.POSTED:
        txn.posted_at = fields.pop("posted_at", None) or now
    for name, value in fields.items():
        setattr(txn, name, value)
    txn.save(update_fields=["status", "amount", "posted_at", *fields])
    new = _contribution(txn.status, txn.amount)
    _caches_apply(account, new[0] - old[0], new[1] - old[1])
    if status == Status.POSTED:
        from .rewards import rewards_on_posting

        rewards_on_posting(transaction=txn, account=account)
    _event(txn, detail, now)
    return txn


# --- Verifying and rebuilding the caches ------------------------------------------------


@dataclass(frozen=True)
class LedgerMismatch:
    account_id: int
    reference: str
    cached_posted: Decimal
    rows_posted: Decimal
    cached_pending: Decimal
    rows_pending: Decimal
    cached_rewards: Decimal = ZERO
    rows_rewards: Decimal = ZERO

    def __str__(self) -> str:
        parts = []
        if self.cached_posted != self.rows_posted:
            parts.append(f"posted balance cached {self.cached_posted}, rows {self.rows_posted}")
        if self.cached_pending != self.rows_pending:
            parts.append(f"pending cached {self.cached_pending}, rows {self.rows_pending}")
        if self.cached_rewards != self.rows_rewards:
            parts.append(f"rewards cached {self.cached_rewards}, entries {self.rows_rewards}")
        return f"{self.reference}: " + "; ".join(parts)


def _row_sum(status: str):
    total = (
        Transaction.objects.filter(account=OuterRef("pk"), status=status)
        .order_by()
        .values("account")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    return Coalesce(Subquery(total, output_field=money), Value(ZERO, output_field=money), output_field=money)


def _rewards_sum():
    total = (
        RewardEntry.objects.filter(account=OuterRef("pk"))
        .order_by()
        .values("account")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    return Coalesce(Subquery(total, output_field=money), Value(ZERO, output_field=money), output_field=money)


def _with_row_sums(accounts):
    # Caches and sums are read in one statement: one snapshot, so traffic running
    # during a check cannot produce a false mismatch.
    return accounts.annotate(
        rows_posted=_row_sum(Status.POSTED), rows_pending=_row_sum(Status.PENDING), rows_rewards=_rewards_sum()
    )


def ledger_verify(
    *, account_ids: Iterable[int] | None = None, batch_size: int = 500
) -> tuple[int, list[LedgerMismatch]]:
    """Compare every account's caches with its rows. Returns (accounts checked,
    mismatches). Works in batches of accounts so no statement grows with the table."""
    accounts = CardAccount.objects.order_by("pk")
    if account_ids is not None:
        accounts = accounts.filter(pk__in=list(account_ids))
    checked, mismatches, last_pk = 0, [], 0
    while True:
        batch = list(
            _with_row_sums(accounts.filter(pk__gt=last_pk)).values_list(
                "pk",
                "reference",
                "posted_balance",
                "rows_posted",
                "pending_total",
                "rows_pending",
                "rewards_balance",
                "rows_rewards",
            )[:batch_size]
        )
        if not batch:
            return checked, mismatches
        for pk, reference, *figures in batch:
            values = [quantize(v) for v in figures]
            if values[0] != values[1] or values[2] != values[3] or values[4] != values[5]:
                mismatches.append(LedgerMismatch(pk, reference, *values))
        checked += len(batch)
        last_pk = batch[-1][0]


def ledger_rebuild(*, account_ids: Iterable[int]) -> int:
    """Set the caches of these accounts from their rows, each under its row lock.
    Returns how many accounts changed."""
    changed = 0
    for account_id in account_ids:
        with db_transaction.atomic():
            account = account_lock(account_id)
            sums = Transaction.objects.filter(account_id=account_id).aggregate(
                posted=Sum("amount", filter=Q(status=Status.POSTED)),
                pending=Sum("amount", filter=Q(status=Status.PENDING)),
            )
            posted, pending = quantize(sums["posted"] or ZERO), quantize(sums["pending"] or ZERO)
            rewards = quantize(
                RewardEntry.objects.filter(account_id=account_id).aggregate(total=Sum("quantity"))["total"] or ZERO
            )
            cached = (
                quantize(account.posted_balance),
                quantize(account.pending_total),
                quantize(account.rewards_balance),
            )
            if cached != (posted, pending, rewards):
                CardAccount.objects.filter(pk=account_id).update(
                    posted_balance=posted, pending_total=pending, rewards_balance=rewards
                )
                changed += 1
    return changed


def ledger_rebuild_all() -> int:
    """Rebuild every account (after a bulk load)."""
    return ledger_rebuild(account_ids=list(CardAccount.objects.order_by("pk").values_list("pk", flat=True)))
