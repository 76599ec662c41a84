"""Reads for payments, payment accounts and autopay.

Who may pay an account: its basic card member (the primary cardholder) and the
administrators of its business program, the same people who manage its cards. A
supplementary or employee cardholder sees their own card's activity, not the bill.
Every object a person opens comes through a ``*_get_for_user`` here, which answers 404
alike for "missing" and "not yours".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import User
from portal.money import quantize

from .models import Autopay, Card, CardAccount, Payment, PaymentMethod, Transaction
from .selectors import card_managed_by

if TYPE_CHECKING:
    from statements.models import Statement

ZERO = Decimal("0.00")


# --- Who pays which account --------------------------------------------------------------


def account_payable_by(user: User) -> Q:
    """CardAccount rows this user may pay, schedule and cancel payments on, and set
    autopay for."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    managed = Q(pk__in=Card.objects.filter(card_managed_by(user)).values("account_id"))
    if user.cardholder_id:
        managed |= Q(primary_cardholder_id=user.cardholder_id)
    return managed


def payable_accounts_for_user(*, user: User) -> QuerySet[CardAccount]:
    return (
        CardAccount.objects.filter(account_payable_by(user))
        .select_related("product", "autopay__method")
        .order_by("product__segment", "reference")
    )


def payable_account_get_for_user(*, user: User, account_id: int) -> CardAccount:
    return get_object_or_404(payable_accounts_for_user(user=user), pk=account_id)


def account_managers(*, account: CardAccount) -> QuerySet[User]:
    """The users who manage (and are told about) an account's bill: the basic card
    member and the program administrators."""
    basic_holders = Card.objects.filter(account_id=account.pk, role=Card.Role.BASIC).values("holder_id")
    who = Q(cardholder_id=account.primary_cardholder_id) | Q(cardholder_id__in=basic_holders)
    if account.business_program_id:
        who |= Q(administered_programs=account.business_program_id)
    return User.objects.filter(who, is_active=True).distinct().order_by("pk")


# --- Payment accounts (bank accounts) ----------------------------------------------------


def payment_methods_for_user(*, user: User) -> QuerySet[PaymentMethod]:
    if not user.is_authenticated:
        return PaymentMethod.objects.none()
    return PaymentMethod.objects.filter(owner=user, removed_at__isnull=True).order_by("nickname", "pk")


def payment_method_get_for_user(*, user: User, method_id: int) -> PaymentMethod:
    return get_object_or_404(payment_methods_for_user(user=user), pk=method_id)


def payment_method_in_use(*, method: PaymentMethod) -> str:
    """Why this payment account cannot be removed now, or ""."""
    if Payment.objects.filter(method=method, status=Payment.Status.SCHEDULED).exists():
        return "A scheduled payment uses this bank account. Cancel that payment first, or wait until it has been made."
    if Autopay.objects.filter(method=method, enabled=True).exists():
        return "Autopay uses this bank account. Turn autopay off or choose another bank account for it first."
    return ""


# --- Payments ----------------------------------------------------------------------------


def payments_for_user(*, user: User) -> QuerySet[Payment]:
    return (
        Payment.objects.filter(account__in=CardAccount.objects.filter(account_payable_by(user)))
        .select_related("account__product", "method")
        .order_by("-scheduled_for", "-pk")
    )


def payment_get_for_user(*, user: User, payment_id: int) -> Payment:
    return get_object_or_404(payments_for_user(user=user), pk=payment_id)


def scheduled_payments(*, account: CardAccount) -> QuerySet[Payment]:
    return (
        Payment.objects.filter(account=account, status=Payment.Status.SCHEDULED)
        .select_related("method")
        .order_by("scheduled_for", "pk")
    )


def payment_history(*, account: CardAccount, limit: int = 12) -> list[Payment]:
    """The latest payments that are no longer waiting (made, returned, cancelled)."""
    return list(
        Payment.objects.filter(account=account)
        .exclude(status=Payment.Status.SCHEDULED)
        .select_related("method")
        .order_by("-scheduled_for", "-pk")[:limit]
    )


def scheduled_total(*, account: CardAccount, on_or_before: dt.date | None = None) -> Decimal:
    payments = Payment.objects.filter(account=account, status=Payment.Status.SCHEDULED)
    if on_or_before is not None:
        payments = payments.filter(scheduled_for__lte=on_or_before)
    # SQLite sums decimals as floats; money is always quantized to cents here.
    return quantize(payments.aggregate(total=Sum("amount"))["total"] or ZERO)


# --- What is owed: the figures a payment form may offer ----------------------------------


def latest_statement(*, account: CardAccount) -> Statement | None:
    from statements.models import Statement

    return Statement.objects.filter(account=account).order_by("-period_end").first()


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def paid_since(*, account: CardAccount, day: dt.date) -> Decimal:
    """Payments received (less payments returned) from the day after ``day``: what has
    been paid towards a statement that closed on ``day``."""
    total = Transaction.objects.filter(
        account=account,
        kind__in=[Transaction.Kind.PAYMENT, Transaction.Kind.PAYMENT_RETURN],
        status=Transaction.Status.POSTED,
        posted_at__gte=_day_start(day + dt.timedelta(days=1)),
    ).aggregate(total=Sum("amount"))["total"]
    return max(ZERO, -quantize(total or ZERO))


@dataclass(frozen=True)
class PaymentOptions:
    """The figures behind the "how much" question, each honest about its source: the
    statement's only when there is a statement."""

    currency: str
    current_balance: Decimal
    scheduled: Decimal
    max_payable: Decimal
    statement: Statement | None = None
    statement_balance: Decimal | None = None  # still to pay of the last statement
    minimum_due: Decimal | None = None  # still to pay of its minimum
    due_date: dt.date | None = None

    @property
    def nothing_to_pay(self) -> bool:
        return self.max_payable <= 0


def _options(account: CardAccount, *, scheduled: Decimal, statement: Statement | None, paid: Decimal) -> PaymentOptions:
    current = quantize(account.posted_balance)
    options: dict = {
        "currency": account.currency,
        "current_balance": current,
        "scheduled": scheduled,
        "max_payable": max(ZERO, current - scheduled),
    }
    if statement is not None:
        options |= {
            "statement": statement,
            "statement_balance": max(ZERO, quantize(statement.closing_balance) - paid),
            "minimum_due": max(ZERO, quantize(statement.minimum_due) - paid),
            "due_date": statement.due_date,
        }
    return PaymentOptions(**options)


def payment_options(*, account: CardAccount) -> PaymentOptions:
    statement = latest_statement(account=account)
    return _options(
        account,
        scheduled=scheduled_total(account=account),
        statement=statement,
        paid=paid_since(account=account, day=statement.period_end) if statement is not None else ZERO,
    )


@dataclass(frozen=True)
class AccountSummary:
    account: CardAccount
    options: PaymentOptions
    scheduled: list[Payment]
    autopay: Autopay | None


def payment_overview(*, user: User) -> list[AccountSummary]:
    """Every account the user pays, with what is owed, what is scheduled and autopay,
    in a fixed number of queries however many accounts there are."""
    from statements.models import Statement

    accounts = list(payable_accounts_for_user(user=user))
    if not accounts:
        return []
    ids = [account.pk for account in accounts]
    newer = Statement.objects.filter(account=OuterRef("account"), period_end__gt=OuterRef("period_end"))
    statements = {s.account_id: s for s in Statement.objects.filter(account_id__in=ids).exclude(Exists(newer))}
    waiting: dict[int, list[Payment]] = {}
    for payment in (
        Payment.objects.filter(account_id__in=ids, status=Payment.Status.SCHEDULED)
        .select_related("method")
        .order_by("scheduled_for", "pk")
    ):
        waiting.setdefault(payment.account_id, []).append(payment)
    paid: dict[int, Decimal] = {}
    if statements:
        since = _day_start(min(s.period_end for s in statements.values()) + dt.timedelta(days=1))
        for account_id, posted_at, amount in Transaction.objects.filter(
            account_id__in=list(statements),
            kind__in=[Transaction.Kind.PAYMENT, Transaction.Kind.PAYMENT_RETURN],
            status=Transaction.Status.POSTED,
            posted_at__gte=since,
        ).values_list("account_id", "posted_at", "amount"):
            if posted_at >= _day_start(statements[account_id].period_end + dt.timedelta(days=1)):
                paid[account_id] = paid.get(account_id, ZERO) - amount
    summaries = []
    for account in accounts:
        scheduled = waiting.get(account.pk, [])
        options = _options(
            account,
            scheduled=quantize(sum((p.amount for p in scheduled), ZERO)),
            statement=statements.get(account.pk),
            paid=max(ZERO, quantize(paid.get(account.pk, ZERO))),
        )
        autopay = getattr(account, "autopay", None)
        summaries.append(AccountSummary(account=account, options=options, scheduled=scheduled, autopay=autopay))
    return summaries


def autopay_for_account(*, account: CardAccount) -> Autopay | None:
    return Autopay.objects.select_related("method").filter(account=account).first()
