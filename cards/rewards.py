"""Rewards earned when a purchase posts, and taken back when a refund posts.

Points products earn ``floor(amount × rate)`` points; cash-back products earn
``amount × rate`` rounded to the cent. The rate is the product's rate for the
transaction's category, or its base rate. A transaction earns once (a unique
constraint on the ledger), so re-running posting cannot double the rewards.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from django.db.models import F

from portal.money import quantize

from .models import CardAccount, CardProduct, Category, EarnRate, RewardEntry, Transaction

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
        return _take_back(transaction=transaction, account=account, product=product, refund_of=refund_of)
    return None


def _take_back(
    *, transaction: Transaction, account: CardAccount, product: CardProduct, refund_of: Transaction | None
) -> RewardEntry | None:
    """A refund takes back what the refunded part of the purchase earned: a share of
    the original earning when we know the purchase, else the category rate."""
    refunded = -transaction.amount
    earned = (
        RewardEntry.objects.filter(transaction=refund_of, kind=RewardEntry.Kind.EARN)
        .values_list("quantity", flat=True)
        .first()
        if refund_of is not None
        else None
    )
    if earned is not None:
        share = min(Decimal(1), refunded / refund_of.amount)
        # Rounded down (points already are): a purchase refunded in parts must not
        # lose more than it earned, e.g. $0.41 earned, three refunds of a third: 3 × $0.14.
        quantity = reward_quantity(product, (earned * share).quantize(Decimal("0.01"), rounding=ROUND_FLOOR))
    elif refund_of is not None:
        return None  # the purchase earned nothing: nothing to take back
    else:
        quantity = reward_quantity(product, refunded * earn_rate(product=product, category=transaction.category))
    if quantity <= 0:
        return None
    unit = "Points" if product.rewards_kind == CardProduct.RewardsKind.POINTS else "Cash back"
    return reward_entry_add(
        account=account,
        transaction=transaction,
        kind=RewardEntry.Kind.ADJUST,
        unit=_unit(product),
        quantity=-quantity,
        description=f"{unit} reversed: refund from {transaction.merchant_name or 'merchant'}"[:120],
    )


def reward_entry_add(*, account: CardAccount, **fields) -> RewardEntry:
    """Write a rewards ledger entry and move the account's cached balance with it, in the
    caller's transaction (callers hold the account's row lock)."""
    entry = RewardEntry.objects.create(account=account, **fields)
    CardAccount.objects.filter(pk=account.pk).update(rewards_balance=F("rewards_balance") + entry.quantity)
    return entry
