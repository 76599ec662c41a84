"""Rewards earned when a purchase posts, and taken back when a refund posts or a dispute
of the purchase is resolved in the cardholder's favour.

Points products earn ``floor(amount × rate)`` points; cash-back products earn
``amount × rate`` rounded to the cent. The rate is the product's rate for the
transaction's category, or its base rate. A transaction earns once (a unique
constraint on the ledger), so re-running posting cannot double the rewards.

A refund or a final dispute credit takes back the credited share of what the purchase
earned, rounded down, and never more than the purchase earned less what its resolved
disputes (and, for a dispute, its refunds) took back. The take-back is an ``adjust``
entry written with the credit, in the same database transaction, moving the cached
balance with it; it is taken in full even when the points were redeemed already (the
balance goes below zero and later earnings make it up). See docs/architecture.md,
"Money", for what a refund row cannot tell us.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from django.db.models import F, Sum

from portal.money import quantize

from .models import CardAccount, CardProduct, Category, Dispute, EarnRate, RewardEntry, Transaction

ZERO = Decimal("0.00")


def earn_rate(*, product: CardProduct, category: str) -> Decimal:
    rate = EarnRate.objects.filter(product=product, category=category).values_list("rate", flat=True).first()
    return product.base_earn_rate if rate is None else rate


def reward_quantity(product: CardProduct, value: Decimal) -> Decimal:
    """Points are whole and rounded down; cash back is rounded to the cent. (The demo
    world's history can use this too, so seeded and live earnings agree.)"""
    if product.rewards_kind == CardProduct.RewardsKind.POINTS:
        return value.to_integral_value(rounding=ROUND_FLOOR).quantize(Decimal("0.01"))
    return quantize(value)


def _unit(product: CardProduct) -> str:
    points = product.rewards_kind == CardProduct.RewardsKind.POINTS
    return RewardEntry.Unit.POINTS if points else RewardEntry.Unit.CASH


def _describe(product: CardProduct, rate: Decimal, category: str) -> str:
    label = Category(category).label if category in Category.values else category
    if product.rewards_kind == CardProduct.RewardsKind.POINTS:
        return f"{rate.normalize():f}X points on {label}"
    return f"{(rate * 100).normalize():f}% cash back on {label}"


def rewards_on_posting(
    *, transaction: Transaction, account: CardAccount, refund_of: Transaction | None = None
) -> RewardEntry | None:
    """Called by cards.ledger when a transaction posts."""
    product = account.product
    if transaction.kind == Transaction.Kind.PURCHASE:
        if RewardEntry.objects.filter(transaction=transaction, kind=RewardEntry.Kind.EARN).exists():
            return None
        rate = earn_rate(product=product, category=transaction.category)
        quantity = reward_quantity(product, transaction.amount * rate)
        if quantity <= 0:
            return None
        return reward_entry_add(
            account=account,
            transaction=transaction,
            kind=RewardEntry.Kind.EARN,
            unit=_unit(product),
            quantity=quantity,
            description=_describe(product, rate, transaction.category),
        )
    if transaction.kind == Transaction.Kind.REFUND:
        reason = f"refund from {transaction.merchant_name or 'merchant'}"
        if refund_of is not None:
            return _take_back(
                account=account, purchase=refund_of, credited=-transaction.amount, entry_of=transaction, reason=reason
            )
        # A refund that names no purchase: what its amount would have earned.
        rate = earn_rate(product=product, category=transaction.category)
        quantity = reward_quantity(product, -transaction.amount * rate)
        return _take_back_entry(account=account, entry_of=transaction, quantity=quantity, reason=reason)
    return None


def rewards_on_dispute_resolved(*, dispute: Dispute, account: CardAccount) -> RewardEntry | None:
    """Called by cards.disputes when a dispute is resolved in the cardholder's favour: the
    credit is final, so the credited part of the purchase gives back what it earned, as a
    refund of it would. (Not at the temporary credit: a declined dispute then has nothing
    to undo.) Called once, by the step that resolves the dispute, under the account lock.

    The entry is tied to the resolution credit when one posts now. A temporary credit that
    became final may be on a closed statement already, and statements count an entry with
    the transaction it is tied to, so that entry is tied to none: statements count it in
    the cycle it was made in."""
    purchase = dispute.transaction
    return _take_back(
        account=account,
        purchase=purchase,
        credited=dispute.amount or purchase.amount,
        entry_of=dispute.resolution_credit,
        reason=f"dispute of {purchase.merchant_name or 'a charge'}",
        taken_by_refunds=_taken_back_by_refunds(purchase),
        other_than=dispute,
    )


def _take_back(
    *,
    account: CardAccount,
    purchase: Transaction,
    credited: Decimal,
    entry_of: Transaction | None,
    reason: str,
    taken_by_refunds: Decimal = ZERO,
    other_than: Dispute | None = None,
) -> RewardEntry | None:
    """Take back what the credited part of a purchase earned: its share of the earning,
    rounded down, and never more than the earning less what earlier credits of the
    purchase took back (``taken_by_refunds``, and its resolved disputes but ``other_than``).
    The balance may go below zero when the points were redeemed already: later earnings
    make it up."""
    product = account.product
    earned = _earned(purchase)
    if earned is None:
        return None  # the purchase earned nothing: nothing to take back
    taken = taken_by_refunds + _taken_back_by_disputes(product, purchase, earned, other_than=other_than)
    quantity = min(_share(product, earned, purchase, credited), earned - taken)
    return _take_back_entry(account=account, entry_of=entry_of, quantity=quantity, reason=reason)


def _earned(purchase: Transaction) -> Decimal | None:
    return (
        RewardEntry.objects.filter(transaction=purchase, kind=RewardEntry.Kind.EARN)
        .values_list("quantity", flat=True)
        .first()
    )


def _share(product: CardProduct, earned: Decimal, purchase: Transaction, credited: Decimal) -> Decimal:
    share = min(Decimal(1), credited / purchase.amount)
    # Rounded down (points already are): a purchase refunded in parts must not lose more
    # than it earned, e.g. $0.41 earned, three refunds of a third: 3 × $0.14.
    return reward_quantity(product, (earned * share).quantize(Decimal("0.01"), rounding=ROUND_FLOOR))


def _taken_back_by_disputes(
    product: CardProduct, purchase: Transaction, earned: Decimal, *, other_than: Dispute | None = None
) -> Decimal:
    """What the purchase's disputes resolved in the cardholder's favour took back: each
    its share, worked out again (their entries are not tied to the purchase). A share is
    at least what its dispute took, so a cap built on it never allows too much."""
    resolved = Dispute.objects.filter(transaction=purchase, status=Dispute.Status.RESOLVED)
    if other_than is not None:
        resolved = resolved.exclude(pk=other_than.pk)
    amounts = resolved.values_list("amount", flat=True)
    return sum((_share(product, earned, purchase, amount or purchase.amount) for amount in amounts), ZERO)


def _taken_back_by_refunds(purchase: Transaction) -> Decimal:
    """What refunds from the purchase's merchant, recorded on the account since the
    purchase, took back. A refund row does not keep which purchase it refunded, so all of
    them count: when the merchant refunded another purchase too, a dispute of this one
    takes back less than its share, never more than the purchase earned."""
    total = RewardEntry.objects.filter(
        account_id=purchase.account_id,
        kind=RewardEntry.Kind.ADJUST,
        transaction__kind=Transaction.Kind.REFUND,
        transaction__pk__gt=purchase.pk,
        transaction__merchant_name=purchase.merchant_name,
    ).aggregate(total=Sum("quantity"))["total"]
    return -(total or ZERO)


def _take_back_entry(
    *, account: CardAccount, entry_of: Transaction | None, quantity: Decimal, reason: str
) -> RewardEntry | None:
    if quantity <= 0:
        return None
    product = account.product
    unit = "Points" if product.rewards_kind == CardProduct.RewardsKind.POINTS else "Cash back"
    return reward_entry_add(
        account=account,
        transaction=entry_of,
        kind=RewardEntry.Kind.ADJUST,
        unit=_unit(product),
        quantity=-quantity,
        description=f"{unit} reversed: {reason}"[:120],
    )


def reward_entry_add(*, account: CardAccount, **fields) -> RewardEntry:
    """Write a rewards ledger entry and move the account's cached balance with it, in the
    caller's transaction (callers hold the account's row lock)."""
    entry = RewardEntry.objects.create(account=account, **fields)
    CardAccount.objects.filter(pk=account.pk).update(rewards_balance=F("rewards_balance") + entry.quantity)
    return entry
