"""Reads for cards. Who may see which card is decided here and only here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import User
from portal.digits import is_digits
from portal.money import quantize

from .models import (
    Autopay,
    BusinessProgram,
    Card,
    CardAccount,
    CardProduct,
    Category,
    RewardEntry,
    Transaction,
    TransactionEvent,
)

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


# --- Business program administration -------------------------------------------------------
# An administrator reaches a program, its accounts and its cards only through these; any
# other id is "not found" (Http404), whether it exists or not.


def programs_administered_by(*, user: User) -> QuerySet[BusinessProgram]:
    if not user.is_authenticated:
        return BusinessProgram.objects.none()
    return BusinessProgram.objects.filter(administrators=user).order_by("name", "pk")


def program_get_for_admin(*, user: User, program_id: int) -> BusinessProgram:
    return get_object_or_404(programs_administered_by(user=user), pk=program_id)


def program_card_list(*, program: BusinessProgram) -> QuerySet[Card]:
    """Every card on the program's accounts, by holder name (fetch the program through
    ``program_get_for_admin`` first)."""
    return (
        Card.objects.filter(account__business_program=program)
        .select_related("account__product", "holder")
        .order_by("holder__legal_name", "last4", "pk")
    )


def program_account_list(*, program: BusinessProgram) -> QuerySet[CardAccount]:
    return CardAccount.objects.filter(business_program=program).select_related("product").order_by("reference")


def business_card_get_for_admin(*, user: User, card_id: int) -> Card:
    """A card on an account of a program the user administers; anything else is 404
    (their own personal card included: this is the administrator's view)."""
    cards = Card.objects.filter(card_administered_by(user)).select_related(
        "account__product", "account__business_program", "holder"
    )
    return get_object_or_404(cards, pk=card_id)


def program_account_get(*, program: BusinessProgram, account_id: int) -> CardAccount:
    """One of the program's accounts (fetch the program through ``program_get_for_admin``)."""
    return get_object_or_404(program_account_list(program=program), pk=account_id)


def card_request_list_for_program(*, program: BusinessProgram) -> QuerySet:
    from .models import CardRequest

    return (
        CardRequest.objects.filter(account__business_program=program, status=CardRequest.Status.REQUESTED)
        .select_related("account")
        .order_by("-created_at", "-pk")
    )


# Whether to show the "Business" link in the header. It is on every signed-in page, so
# the answer is cached per user (a cache read, not a database query); cards.apps drops
# the entry when a program's administrators change, and it expires anyway.
BUSINESS_ADMIN_FLAG_SECONDS = 300


def _business_admin_flag_key(user_id: int) -> str:
    return f"business-admin:v1:{user_id}"


def user_is_program_admin(*, user: User) -> bool:
    from django.core.cache import cache

    if not user.is_authenticated:
        return False
    key = _business_admin_flag_key(user.pk)
    flag = cache.get(key)
    if flag is None:
        flag = BusinessProgram.objects.filter(administrators=user).exists()
        cache.set(key, flag, BUSINESS_ADMIN_FLAG_SECONDS)
    return flag


def user_is_program_admin_forget(*, user_ids) -> None:
    from django.core.cache import cache

    cache.delete_many([_business_admin_flag_key(user_id) for user_id in user_ids])


def program_administrators_changed(*, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    """m2m_changed receiver for BusinessProgram.administrators (connected in cards.apps):
    forget the cached flag of everyone whose rights changed, now and again at commit
    (a page rendered in between could have cached the old answer)."""
    from django.db import transaction

    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if reverse:
        user_ids = [instance.pk]
    elif action == "pre_clear":
        user_ids = list(instance.administrators.values_list("pk", flat=True))
    else:
        user_ids = list(pk_set or ())
    user_is_program_admin_forget(user_ids=user_ids)
    transaction.on_commit(lambda: user_is_program_admin_forget(user_ids=user_ids))


def program_deleted(*, instance, **kwargs) -> None:
    """pre_delete receiver for BusinessProgram: its administrators lose the flag."""
    program_administrators_changed(instance=instance, action="pre_clear", reverse=False, pk_set=None)


# --- What one user sees of one account --------------------------------------------------
# The dashboard, transactions, exports and rewards pages all start from a card the user
# chose (cards in ``card_list_for_user``). A user who manages the card's account (its
# basic card member, or an administrator of its business program) sees the whole
# account; anyone else (a supplementary or employee cardholder) sees only their own
# cards on it: their transactions and their spending, not the account's balance,
# payments, rewards or other cards.

HISTORY_DAYS = 90  # older history lives on statements
PAYMENT_DUE_DAYS = 25  # a payment is due this many days after the statement closes
DECLINES_SHOWN_DAYS = 14


def account_managed_by(user: User) -> Q:
    """Accounts a user may see whole (a filter on ``CardAccount``): where they hold the
    basic card, and the accounts of business programs they administer."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    programs = BusinessProgram.objects.filter(administrators=user).values("id")
    managed = Q(business_program_id__in=programs)
    if user.cardholder_id:
        basic_accounts = Card.objects.filter(holder_id=user.cardholder_id, role=Card.Role.BASIC).values("account_id")
        managed |= Q(pk__in=basic_accounts)
    return managed


def transaction_visible_to(user: User) -> Q:
    """Transactions a user may open: everything on accounts they manage (payments and
    account credits included), and what was bought with their own cards."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    visible = Q(account_id__in=CardAccount.objects.filter(account_managed_by(user)).values("pk"))
    if user.cardholder_id:
        visible |= Q(card__holder_id=user.cardholder_id)
    return visible


def card_choices_for_user(*, user: User) -> list[Card]:
    """Every card the user may see (``card_list_for_user``), each marked with
    ``manages_account``: whether the user sees that card's whole account. One query."""
    managed = ExpressionWrapper(card_managed_by(user), output_field=BooleanField())
    return list(card_list_for_user(user=user).annotate(manages_account=managed))


@dataclass(frozen=True)
class CardScope:
    """The chosen card, and the cards of its account that are in view: all of them for
    a manager of the account, the user's own (a card and its replacements) otherwise."""

    card: Card
    cards: tuple[Card, ...]
    whole_account: bool

    @property
    def account(self) -> CardAccount:
        return self.card.account

    @property
    def card_ids(self) -> list[int]:
        return [card.pk for card in self.cards]

    def transactions(self) -> QuerySet[Transaction]:
        transactions = Transaction.objects.filter(account_id=self.card.account_id)
        if not self.whole_account:
            transactions = transactions.filter(card_id__in=self.card_ids)
        return transactions


def card_scope(*, user: User, card: Card, choices: list[Card]) -> CardScope:
    """``card`` must be one of ``choices`` (from ``card_choices_for_user``)."""
    whole_account = bool(getattr(card, "manages_account", False))
    same_account = [c for c in choices if c.account_id == card.account_id]
    if not whole_account:
        same_account = [c for c in same_account if c.holder_id == user.cardholder_id] or [card]
    return CardScope(card=card, cards=tuple(same_account), whole_account=whole_account)


# --- Cycles, payments due, spending and rewards ----------------------------------------------


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return day.replace(year=index // 12, month=index % 12 + 1)  # statement days are 1-28


def local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@dataclass(frozen=True)
class Cycle:
    """A billing cycle: it closes at the end of the account's statement day."""

    start: dt.date
    close: dt.date

    @property
    def previous_close(self) -> dt.date:
        return self.start - dt.timedelta(days=1)

    @property
    def start_at(self) -> dt.datetime:
        return local_midnight(self.start)


def billing_cycle(*, account: CardAccount, today: dt.date | None = None) -> Cycle:
    today = today or timezone.localdate()
    close = today.replace(day=account.statement_day)
    if close < today:
        close = _add_months(close, 1)
    return Cycle(start=_add_months(close, -1) + dt.timedelta(days=1), close=close)


@dataclass(frozen=True)
class PaymentDue:
    """The next payment due. Its amounts come only from an issued statement: until the
    cycle's statement exists they are None and the page says the statement is coming."""

    due_date: dt.date
    statement_balance: Decimal | None = None
    minimum_due: Decimal | None = None

    @property
    def from_statement(self) -> bool:
        return self.statement_balance is not None


def payment_due(*, account: CardAccount, cycle: Cycle, today: dt.date | None = None) -> PaymentDue:
    from statements.models import Statement  # statements builds on cards, not the reverse

    today = today or timezone.localdate()
    statement = (
        Statement.objects.filter(account=account, due_date__gte=today)
        .order_by("due_date")
        .only("due_date", "closing_balance", "minimum_due")
        .first()
    )
    if statement is not None:
        minimum = statement.minimum_due if account.product.is_credit else None
        return PaymentDue(statement.due_date, statement.closing_balance, minimum)
    last_due = cycle.previous_close + dt.timedelta(days=PAYMENT_DUE_DAYS)
    if account.opened_on <= cycle.previous_close and today <= last_due:
        return PaymentDue(last_due)
    return PaymentDue(cycle.close + dt.timedelta(days=PAYMENT_DUE_DAYS))


SPEND_KINDS = (Transaction.Kind.PURCHASE, Transaction.Kind.REFUND)
SPEND_STATUSES = (Transaction.Status.PENDING, Transaction.Status.POSTED)


@dataclass(frozen=True)
class CategorySpend:
    category: str
    label: str
    amount: Decimal


def spending_by_category(*, transactions: QuerySet[Transaction], since: dt.datetime) -> list[CategorySpend]:
    """Purchases less refunds since ``since``, per category, largest first (pending
    purchases count: the money is spent). One grouped query."""
    rows = (
        transactions.filter(kind__in=SPEND_KINDS, status__in=SPEND_STATUSES, transacted_at__gte=since)
        .order_by()
        .values("category")
        .annotate(total=Sum("amount"))
    )
    labels = dict(Category.choices)
    spend = [
        CategorySpend(row["category"], labels.get(row["category"], row["category"]), quantize(row["total"] or ZERO))
        for row in rows
    ]
    return sorted((s for s in spend if s.amount), key=lambda s: (-s.amount, s.label))


def pending_total(*, transactions: QuerySet[Transaction]) -> Decimal:
    total = transactions.filter(status=Transaction.Status.PENDING).aggregate(total=Sum("amount"))["total"]
    return quantize(total or ZERO)


@dataclass(frozen=True)
class RewardsSummary:
    product: CardProduct
    balance: Decimal
    earned_this_cycle: Decimal

    @property
    def points(self) -> bool:
        return self.product.rewards_kind == CardProduct.RewardsKind.POINTS

    @property
    def step(self) -> Decimal:
        return Decimal(self.product.redemption_step)

    @property
    def step_value(self) -> Decimal:
        return self.product.redemption_step_value

    @property
    def redeemable_steps(self) -> int:
        return int(self.balance // self.step) if self.balance > 0 else 0

    @property
    def redeemable(self) -> Decimal:
        return quantize(self.redeemable_steps * self.step)

    @property
    def redeemable_value(self) -> Decimal:
        return quantize(self.redeemable_steps * self.step_value)


def reward_balance(*, account: CardAccount) -> Decimal:
    """The cached balance (see CardAccount.rewards_balance), read fresh."""
    value = CardAccount.objects.filter(pk=account.pk).values_list("rewards_balance", flat=True).first()
    return quantize(value or ZERO)


def rewards_summary(*, account: CardAccount, since: dt.datetime) -> RewardsSummary:
    """The rewards balance, and what the cycle earned (less refunds' take-backs). One query."""
    # The balance is cached on the account; only this cycle's entries are summed, along
    # the (account, created_at) index.
    earned = (
        RewardEntry.objects.filter(account=account, created_at__gte=since)
        .exclude(kind=RewardEntry.Kind.REDEEM)
        .aggregate(total=Sum("quantity"))["total"]
    )
    return RewardsSummary(
        product=account.product,
        balance=quantize(account.rewards_balance or ZERO),
        earned_this_cycle=quantize(earned or ZERO),
    )


def account_autopay(*, account: CardAccount) -> Autopay | None:
    return Autopay.objects.filter(account=account).select_related("method").first()


def transactions_pending_and_declined(
    *, transactions: QuerySet[Transaction], now: dt.datetime | None = None, limit: int = 10
) -> list[Transaction]:
    """Holds still pending and purchases declined (with their reason) in the last two
    weeks, newest first; ``limit + 1`` rows tell the page there is more.

    The time bound keeps this a short walk back along the account's (account, date)
    index whatever the size of its history: holds are released after 7 days
    (cards.processing.HOLD_LIFETIME), so two weeks shows every live one. (Without it,
    an account with few holds was read to its first transaction looking for more.)"""
    since = (now or timezone.now()) - dt.timedelta(days=DECLINES_SHOWN_DAYS)
    return list(
        transactions.filter(
            status__in=[Transaction.Status.PENDING, Transaction.Status.DECLINED], transacted_at__gte=since
        )
        .select_related("card")
        .order_by("-transacted_at", "-id")[: limit + 1]
    )


def transactions_recent_posted(
    *, transactions: QuerySet[Transaction], now: dt.datetime | None = None, limit: int = 10
) -> list[Transaction]:
    since = (now or timezone.now()) - dt.timedelta(days=HISTORY_DAYS)
    return list(
        transactions.filter(status=Transaction.Status.POSTED, transacted_at__gte=since)
        .select_related("card")
        .order_by("-transacted_at", "-id")[: limit + 1]
    )


# --- Transaction history: filters and keyset pages -------------------------------------------


@dataclass(frozen=True)
class TransactionFilters:
    merchant: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    card_id: int | None = None
    category: str = ""
    status: str = ""
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None


def transactions_filter(*, transactions: QuerySet[Transaction], filters: TransactionFilters) -> QuerySet[Transaction]:
    """Apply validated filters. Amounts match by size, so "10 to 50" finds a $20.00
    purchase and a $20.00 refund alike."""
    if filters.merchant:
        transactions = transactions.filter(merchant_name__icontains=filters.merchant)
    if filters.date_from:
        transactions = transactions.filter(transacted_at__gte=local_midnight(filters.date_from))
    if filters.date_to:
        transactions = transactions.filter(transacted_at__lt=local_midnight(filters.date_to + dt.timedelta(days=1)))
    if filters.card_id:
        transactions = transactions.filter(card_id=filters.card_id)
    if filters.category:
        transactions = transactions.filter(category=filters.category)
    if filters.status:
        transactions = transactions.filter(status=filters.status)
    if filters.amount_min is not None:
        transactions = transactions.filter(Q(amount__gte=filters.amount_min) | Q(amount__lte=-filters.amount_min))
    if filters.amount_max is not None:
        transactions = transactions.filter(amount__lte=filters.amount_max, amount__gte=-filters.amount_max)
    return transactions


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class CursorError(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    """A position in a list ordered by (time, id), newest first: keyset pagination, so
    page 1,000 costs what page 1 costs (an index range scan, no OFFSET)."""

    at: dt.datetime
    id: int

    def encode(self) -> str:
        micros = (self.at - EPOCH) // dt.timedelta(microseconds=1)
        return f"{micros}.{self.id}"

    @classmethod
    def decode(cls, raw: str) -> Cursor:
        micros, _, pk = raw.partition(".")
        if not (is_digits(micros) and is_digits(pk)) or len(micros) > 17 or len(pk) > 18:
            raise CursorError(raw)
        try:
            at = EPOCH + dt.timedelta(microseconds=int(micros))
        except OverflowError as exc:
            raise CursorError(raw) from exc
        return cls(at=at, id=int(pk))


@dataclass(frozen=True)
class Page:
    rows: list
    newer: Cursor | None  # "after" cursor for the previous (newer) page
    older: Cursor | None  # "before" cursor for the next (older) page


def keyset_page(
    queryset: QuerySet,
    *,
    time_field: str,
    before: Cursor | None = None,
    after: Cursor | None = None,
    limit: int = 50,
) -> Page:
    """One page of ``queryset`` newest first by (``time_field``, id). ``before``: rows
    older than the cursor; ``after``: rows newer than it (the previous page)."""

    def key(row) -> Cursor:
        return Cursor(at=getattr(row, time_field), id=row.pk)

    if after is not None:
        newer_than = Q(**{f"{time_field}__gt": after.at}) | Q(**{time_field: after.at, "pk__gt": after.id})
        rows = list(queryset.filter(newer_than).order_by(time_field, "pk")[: limit + 1])
        more_newer = len(rows) > limit
        rows = rows[:limit][::-1]
        return Page(rows, key(rows[0]) if more_newer else None, key(rows[-1]) if rows else None)
    if before is not None:
        queryset = queryset.filter(
            Q(**{f"{time_field}__lt": before.at}) | Q(**{time_field: before.at, "pk__lt": before.id})
        )
    rows = list(queryset.order_by(f"-{time_field}", "-pk")[: limit + 1])
    more_older = len(rows) > limit
    rows = rows[:limit]
    newer = key(rows[0]) if before is not None and rows else None
    return Page(rows, newer, key(rows[-1]) if more_older else None)


def transaction_get_for_user(*, user: User, transaction_id: int) -> Transaction:
    # The same 404 whether the transaction does not exist or is not theirs.
    transactions = Transaction.objects.select_related("card", "account__product").filter(transaction_visible_to(user))
    return get_object_or_404(transactions, pk=transaction_id)


def transaction_rewards(*, transaction: Transaction) -> list[RewardEntry]:
    return list(RewardEntry.objects.filter(transaction=transaction).order_by("created_at", "id"))


def reward_entries(*, account: CardAccount) -> QuerySet[RewardEntry]:
    return RewardEntry.objects.filter(account=account).select_related("transaction")


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows for one scope. Account figures (balances, payment
    due, autopay, rewards) only when the scope is the whole account."""

    scope: CardScope
    cycle: Cycle
    spending: list[CategorySpend]
    pending_and_declined: list[Transaction]
    more_pending_and_declined: bool
    posted: list[Transaction]
    more_posted: bool
    balances: AccountBalances | None = None
    payment: PaymentDue | None = None
    autopay: Autopay | None = None
    rewards: RewardsSummary | None = None
    cards_pending: Decimal | None = None  # the user's own cards, when not the whole account
    card_month_spend: Decimal | None = None  # cards with a monthly spending limit

    @property
    def spend_this_cycle(self) -> Decimal:
        return quantize(sum((item.amount for item in self.spending), ZERO))

    @property
    def card_month_left(self) -> Decimal | None:
        limit = self.scope.card.monthly_limit
        if limit is None or self.card_month_spend is None:
            return None
        return max(ZERO, limit - self.card_month_spend)


def dashboard_for(*, scope: CardScope, now: dt.datetime | None = None, rows: int = 10) -> Dashboard:
    """A fixed number of queries, whatever the number of cards or transactions."""
    now = now or timezone.now()
    account = scope.account
    cycle = billing_cycle(account=account, today=timezone.localdate(now))
    transactions = scope.transactions()
    pending_and_declined = transactions_pending_and_declined(transactions=transactions, now=now, limit=rows)
    posted = transactions_recent_posted(transactions=transactions, now=now, limit=rows)
    figures: dict = {}
    if scope.whole_account:
        figures = {
            "balances": account_balances(account=account),
            "payment": payment_due(account=account, cycle=cycle, today=timezone.localdate(now)),
            "autopay": account_autopay(account=account),
            "rewards": rewards_summary(account=account, since=cycle.start_at),
        }
    else:
        figures = {"cards_pending": pending_total(transactions=transactions)}
    if scope.card.monthly_limit is not None:
        figures["card_month_spend"] = card_spend_this_month(card=scope.card, now=now)
    return Dashboard(
        scope=scope,
        cycle=cycle,
        spending=spending_by_category(transactions=transactions, since=cycle.start_at),
        pending_and_declined=pending_and_declined[:rows],
        more_pending_and_declined=len(pending_and_declined) > rows,
        posted=posted[:rows],
        more_posted=len(posted) > rows,
        **figures,
    )
