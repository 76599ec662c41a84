"""Reads for statements. Who may see which account's statements is decided here.

A statement is the account's bill: every card's activity, the payments, the balance
owed. It is shown to the people who answer for the account:

* the basic card member (who holds the account's basic card, or is its primary
  cardholder), and
* the administrators of the business program the account belongs to.

Supplementary and employee cardholders do not see the account's statements (they would
show the other cards' spending and the account's payments); they see their own card's
transactions on the card pages, and can export those there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, DateField, Exists, OuterRef, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404

from accounts.models import User
from cards.models import BusinessProgram, Card, CardAccount, Transaction

from . import cycles
from .models import Statement, StatementLine

ZERO = Decimal("0.00")


def statement_account_visible_to(user: User) -> Q:
    """A filter on ``CardAccount``: the accounts whose statements the user may see."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    programs = BusinessProgram.objects.filter(administrators=user).values("id")
    visible = Q(business_program_id__in=programs)
    if user.cardholder_id:
        basic = Card.objects.filter(holder_id=user.cardholder_id, role=Card.Role.BASIC).values("account_id")
        visible |= Q(pk__in=basic) | Q(primary_cardholder_id=user.cardholder_id)
    return visible


def statement_accounts_for_user(*, user: User) -> QuerySet[CardAccount]:
    return (
        CardAccount.objects.filter(statement_account_visible_to(user))
        .select_related("product")
        .order_by("product__segment", "product__name", "reference")
    )


def statement_list_for_user(
    *, user: User, year: int | None = None, account_id: int | None = None
) -> QuerySet[Statement]:
    statements = Statement.objects.filter(
        account__in=CardAccount.objects.filter(statement_account_visible_to(user)).values("pk")
    )
    if account_id is not None:
        statements = statements.filter(account_id=account_id)
    if year is not None:
        statements = statements.filter(period_end__year=year)
    return statements.select_related("account").order_by("account_id", "-period_end")


def statement_years_for_user(*, user: User, account_id: int | None = None) -> list[int]:
    """The years with at least one statement, newest first."""
    dates = statement_list_for_user(user=user, account_id=account_id).order_by().dates("period_end", "year", "DESC")
    return [day.year for day in dates]


def statement_get_for_user(*, user: User, statement_id: int) -> Statement:
    # The same 404 whether the statement does not exist or is not theirs.
    statements = Statement.objects.filter(
        account__in=CardAccount.objects.filter(statement_account_visible_to(user)).values("pk")
    ).select_related("account__product", "account__primary_cardholder", "account__business_program")
    return get_object_or_404(statements, pk=statement_id)


def statement_transactions(*, statement: Statement) -> QuerySet[Transaction]:
    """The transactions on a statement, in its order (for the exports)."""
    return (
        Transaction.objects.filter(statement_line__statement=statement)
        .select_related("card")
        .order_by("statement_line__posted_on", "statement_line__id")
    )


# --- Beat: which accounts have a cycle to close -------------------------------------------


def accounts_due_for_close(*, today: dt.date) -> QuerySet[CardAccount]:
    """Accounts whose latest ended cycle has no statement yet: each statement day's
    last closing date before ``today``, worked out in the query. Accounts with nothing
    ever posted and no statements are left alone, and so are closed accounts with a
    zero balance."""
    last_close = Case(
        *(When(statement_day=day, then=Value(cycles.last_close_before(day, today))) for day in range(1, 29)),
        output_field=DateField(),
    )
    closed_for_period = Statement.objects.filter(account=OuterRef("pk"), period_end=OuterRef("last_close"))
    any_statement = Statement.objects.filter(account=OuterRef("pk"))
    # Only asked of accounts with no statement yet, so any posted row is unbilled: no
    # join to the statement lines, and the first row found answers.
    any_posted = Transaction.objects.filter(
        account=OuterRef("pk"), status=Transaction.Status.POSTED, posted_at__lt=cycles.day_start(today)
    )
    return (
        CardAccount.objects.annotate(last_close=last_close)
        .filter(~Exists(closed_for_period), Exists(any_statement) | Exists(any_posted))
        .exclude(status=CardAccount.Status.CLOSED, posted_balance=0)
    )


def account_id_batches(*, accounts: QuerySet[CardAccount], size: int) -> Iterator[list[int]]:
    """Ids in ascending batches (keyset, so no query grows with the table)."""
    last = 0
    while True:
        batch = list(accounts.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not batch:
            return
        yield batch
        last = batch[-1]


# --- The document: lines grouped as the statement shows them --------------------------------


@dataclass
class LineGroup:
    """A section of the statement: one card's lines, or the account's own (payments,
    fees, interest, account credits)."""

    title: str
    card_last4: str = ""
    card_holder: str = ""
    lines: list[StatementLine] = field(default_factory=list)
    total: Decimal = ZERO

    @property
    def is_card(self) -> bool:
        return bool(self.card_last4)


@dataclass
class StatementDocument:
    statement: Statement
    account_group: LineGroup
    card_groups: list[LineGroup]
    line_count: int

    @property
    def groups(self) -> list[LineGroup]:
        return [group for group in [self.account_group, *self.card_groups] if group.lines]


def statement_document(*, statement: Statement) -> StatementDocument:
    """The statement's lines grouped for the PDF: the account's own lines first, then
    one section per card (the basic card first, then the others by card member), each
    with its subtotal. One query."""
    account_group = LineGroup(title="Payments, credits and account charges")
    by_card: dict[tuple, LineGroup] = {}
    count = 0
    for line in statement.lines.order_by("transacted_on", "posted_on", "id"):
        count += 1
        if line.card_id is None and not line.card_last4:
            group = account_group
        else:
            key = (line.card_id, line.card_last4)
            group = by_card.get(key)
            if group is None:
                group = by_card[key] = LineGroup(
                    title=line.card_holder or "Card member", card_last4=line.card_last4, card_holder=line.card_holder
                )
        group.lines.append(line)
        group.total += line.amount
    primary = statement.account.primary_cardholder.legal_name
    card_groups = sorted(by_card.values(), key=lambda g: (g.card_holder != primary, g.card_holder, g.card_last4))
    return StatementDocument(
        statement=statement, account_group=account_group, card_groups=card_groups, line_count=count
    )
