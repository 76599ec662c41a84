"""Spend figures for business program administrators: the program overview, the card
list's "spent this month", and date-range reports with their CSV exports.

Every function takes a program already fetched through
``selectors.program_get_for_admin`` (who may see it is decided there, not here). Each
runs a fixed number of grouped queries, whatever the number of cards or transactions:
the sums are done by the database, over the ``txn_account_date_idx`` index.

"Spend" is what an employee's monthly limit counts (``selectors.card_spend_this_month``):
purchases, pending and posted; declined and released holds do not count. Reports also
show refunds beside it, and the net of the two.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from portal.money import DEFAULT_CURRENCY, quantize

from .models import BusinessProgram, Card, Category, Transaction
from .selectors import month_start, program_card_list

ZERO = Decimal("0.00")
NEAR_LIMIT_PERCENT = 80
TOP_MERCHANTS = 10
# Charts show the biggest lines and fold the rest into one bar; the tables show all.
CHART_LINES = 8
_COUNTED = (Transaction.Status.PENDING, Transaction.Status.POSTED)


def _money(value) -> Decimal:
    # SQLite sums decimals as floats: quantize every figure the database adds up.
    return quantize(value or ZERO)


def _account_ids(cards: Iterable[Card]) -> list[int]:
    """The program's accounts that have cards (purchases need one), as a list of ids:
    filtering on the ids themselves lets the database walk each account's
    (account, date) index; a join or sub-select on the program made SQLite's planner
    walk every account's rows by status and date instead, twice as slow at 1,000,000."""
    return sorted({card.account_id for card in cards})


def _spend(account_ids: list[int]) -> QuerySet[Transaction]:
    return Transaction.objects.filter(
        account_id__in=account_ids, kind=Transaction.Kind.PURCHASE, status__in=_COUNTED
    ).order_by()


def previous_month_start(start: dt.datetime) -> dt.datetime:
    return (start - dt.timedelta(days=1)).replace(day=1)


def program_currency(cards: Iterable[Card]) -> str:
    """The currency the program's figures are in: its accounts' (one per program in
    practice; the issuer opens business accounts in the program's currency)."""
    for card in cards:
        return card.account.currency
    return DEFAULT_CURRENCY


# --- The overview ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SpendLine:
    label: str
    this_month: Decimal
    last_month: Decimal
    card: Card | None = None

    @property
    def change(self) -> Decimal:
        return self.this_month - self.last_month


@dataclass(frozen=True)
class CardUsage:
    """A card with what it spent this month against its monthly limit."""

    card: Card
    spent: Decimal
    limit: Decimal | None

    @property
    def percent_used(self) -> int | None:
        if not self.limit:
            return None
        return int(self.spent * 100 / self.limit)

    @property
    def remaining(self) -> Decimal | None:
        if self.limit is None:
            return None
        return max(ZERO, self.limit - self.spent)

    @property
    def near_limit(self) -> bool:
        percent = self.percent_used
        return percent is not None and percent >= NEAR_LIMIT_PERCENT and self.card.status in _CAN_SPEND


_CAN_SPEND = (Card.Status.ACTIVE, Card.Status.FROZEN)


@dataclass(frozen=True)
class MerchantLine:
    name: str
    purchases: int
    total: Decimal


@dataclass(frozen=True)
class ProgramOverview:
    program: BusinessProgram
    currency: str
    this_month: dt.date
    last_month: dt.date
    by_employee: list[SpendLine]
    by_category: list[SpendLine]
    by_card: list[SpendLine]
    top_merchants: list[MerchantLine]
    near_limit: list[CardUsage]
    card_count: int
    total_this_month: Decimal = field(init=False)
    total_last_month: Decimal = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total_this_month", sum((line.this_month for line in self.by_card), ZERO))
        object.__setattr__(self, "total_last_month", sum((line.last_month for line in self.by_card), ZERO))


def chart_items(lines: list[SpendLine], *, others: str = "All others") -> list[tuple[str, Decimal]]:
    """This month's figures for a chart: the biggest lines, then one bar for the rest."""
    ranked = [line for line in lines if line.this_month]
    if len(ranked) <= CHART_LINES:
        return [(line.label, line.this_month) for line in ranked]
    shown, rest = ranked[: CHART_LINES - 1], ranked[CHART_LINES - 1 :]
    items = [(line.label, line.this_month) for line in shown]
    items.append((f"{others} ({len(rest)})", sum((line.this_month for line in rest), ZERO)))
    return items


def _ranked(lines: Iterable[SpendLine]) -> list[SpendLine]:
    return sorted(lines, key=lambda line: (-line.this_month, -line.last_month, line.label))


def card_label(card: Card) -> str:
    return f"{card.holder.legal_name} •••• {card.last4}"


def program_overview(*, program: BusinessProgram, now: dt.datetime | None = None) -> ProgramOverview:
    """Spend this month and last month by employee, category and card; top merchants
    this month; cards at or above 80% of their monthly limit. Two queries: the cards,
    and one pass over the two months' purchases grouped by card, category and merchant
    (a few thousand rows at most), which is then added up here every way the page
    needs: one read of the rows instead of one per table."""
    this_start = month_start(now)
    last_start = previous_month_start(this_start)
    is_this, is_last = Q(transacted_at__gte=this_start), Q(transacted_at__lt=this_start)
    cards = list(program_card_list(program=program))
    groups = (
        _spend(_account_ids(cards))
        .filter(transacted_at__gte=last_start)
        .values_list("card_id", "category", "merchant_name")
        .annotate(
            this=Sum("amount", filter=is_this),
            last=Sum("amount", filter=is_last),
            purchases=Count("id", filter=is_this),
        )
    )
    per_card: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    per_category: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    merchants: dict[str, list] = defaultdict(lambda: [0, ZERO])
    for card_id, category, merchant, this, last, purchases in groups:
        this, last = _money(this), _money(last)
        for totals in (per_card[card_id], per_category[category]):
            totals[0] += this
            totals[1] += last
        if purchases:
            merchants[merchant][0] += purchases
            merchants[merchant][1] += this

    by_card, employees, usage = [], {}, []
    for card in cards:
        this, last = per_card.get(card.pk, (ZERO, ZERO))
        by_card.append(SpendLine(card_label(card), this, last, card=card))
        name, this_total, last_total = employees.get(card.holder_id, (card.holder.legal_name, ZERO, ZERO))
        employees[card.holder_id] = (name, this_total + this, last_total + last)
        usage.append(CardUsage(card=card, spent=this, limit=card.monthly_limit))

    labels = dict(Category.choices)
    top = sorted(merchants.items(), key=lambda item: (-item[1][1], item[0]))[:TOP_MERCHANTS]
    return ProgramOverview(
        program=program,
        currency=program_currency(cards),
        this_month=this_start.date(),
        last_month=last_start.date(),
        by_employee=_ranked(SpendLine(name, this, last) for name, this, last in employees.values()),
        by_category=_ranked(
            SpendLine(labels.get(category, category), this, last) for category, (this, last) in per_category.items()
        ),
        by_card=_ranked(by_card),
        top_merchants=[
            MerchantLine(name or "Merchant not named", purchases, total) for name, (purchases, total) in top
        ],
        near_limit=sorted(
            (item for item in usage if item.near_limit), key=lambda item: (-(item.percent_used or 0), item.card.pk)
        ),
        card_count=len(cards),
    )


def program_card_usage(*, program: BusinessProgram, now: dt.datetime | None = None) -> list[CardUsage]:
    """Every card of the program with its spend this month. Two queries."""
    cards = list(program_card_list(program=program))
    spent = {
        row["card_id"]: _money(row["total"])
        for row in _spend(_account_ids(cards))
        .filter(transacted_at__gte=month_start(now))
        .values("card_id")
        .annotate(total=Sum("amount"))
    }
    return [CardUsage(card=card, spent=spent.get(card.pk, ZERO), limit=card.monthly_limit) for card in cards]


# --- Date-range reports ----------------------------------------------------------------------


class GroupBy:
    EMPLOYEE = "employee"
    CATEGORY = "category"
    MONTH = "month"
    choices = ((EMPLOYEE, "Employee"), (CATEGORY, "Category"), (MONTH, "Month"))


@dataclass(frozen=True)
class ReportRow:
    label: str
    purchases: int
    spend: Decimal
    refunds: Decimal  # negative: money back
    cards: tuple[str, ...] = ()  # the employee's cards, last 4 digits only

    @property
    def net(self) -> Decimal:
        return self.spend + self.refunds


@dataclass(frozen=True)
class SpendReport:
    program: BusinessProgram
    start: dt.date
    end: dt.date
    group_by: str
    currency: str
    rows: list[ReportRow]

    @property
    def group_label(self) -> str:
        return dict(GroupBy.choices)[self.group_by]

    @property
    def total(self) -> ReportRow:
        return ReportRow(
            label="Total",
            purchases=sum(row.purchases for row in self.rows),
            spend=sum((row.spend for row in self.rows), ZERO),
            refunds=sum((row.refunds for row in self.rows), ZERO),
        )


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def _in_range(account_ids: list[int], start: dt.date, end: dt.date) -> QuerySet[Transaction]:
    """Purchases and refunds, pending and posted, from the start of ``start`` to the end
    of ``end`` in the portal's time zone."""
    return Transaction.objects.filter(
        account_id__in=account_ids,
        kind__in=[Transaction.Kind.PURCHASE, Transaction.Kind.REFUND],
        status__in=_COUNTED,
        transacted_at__gte=_local_midnight(start),
        transacted_at__lt=_local_midnight(end + dt.timedelta(days=1)),
    ).order_by()


_SUMS = {
    "purchases": Count("id", filter=Q(kind=Transaction.Kind.PURCHASE)),
    "spend": Sum("amount", filter=Q(kind=Transaction.Kind.PURCHASE)),
    "refunds": Sum("amount", filter=Q(kind=Transaction.Kind.REFUND)),
}


def _row(label: str, values: dict, cards: tuple[str, ...] = ()) -> ReportRow:
    return ReportRow(label, values["purchases"], _money(values["spend"]), _money(values["refunds"]), cards)


def spend_report(*, program: BusinessProgram, start: dt.date, end: dt.date, group_by: str) -> SpendReport:
    """Spend from ``start`` to ``end`` (both included) grouped by employee, category or
    month. Two queries."""
    if group_by not in dict(GroupBy.choices):
        raise ValueError(f"Unknown grouping: {group_by!r}")
    if end < start:
        raise ValueError("The end date is before the start date")
    cards = list(program_card_list(program=program))
    rows = _in_range(_account_ids(cards), start, end)
    if group_by == GroupBy.EMPLOYEE:
        last4s = defaultdict(list)
        names = {}
        for card in cards:
            last4s[card.holder_id].append(card.last4)
            names[card.holder_id] = card.holder.legal_name
        report_rows = sorted(
            (
                _row(names.get(row["card__holder_id"], "No card"), row, tuple(last4s[row["card__holder_id"]]))
                for row in rows.values("card__holder_id").annotate(**_SUMS)
            ),
            key=lambda row: (row.label.casefold(), row.cards),
        )
    elif group_by == GroupBy.CATEGORY:
        labels = dict(Category.choices)
        report_rows = sorted(
            (
                _row(labels.get(row["category"], row["category"]), row)
                for row in rows.values("category").annotate(**_SUMS)
            ),
            key=lambda row: (-row.spend, row.label),
        )
    else:
        months = rows.annotate(month=TruncMonth("transacted_at", tzinfo=timezone.get_current_timezone()))
        report_rows = [
            _row(timezone.localtime(row["month"]).strftime("%B %Y") if row["month"] else "", row)
            for row in months.values("month").annotate(**_SUMS).order_by("month")
        ]
    return SpendReport(program, start, end, group_by, program_currency(cards), report_rows)


# --- CSV -------------------------------------------------------------------------------------


class _Echo:
    """A file-like object whose write returns the line, for a streamed csv.writer."""

    def write(self, value: str) -> str:
        return value


def _text(value: str) -> str:
    """Spreadsheets run a cell that starts with = + - @ (or a tab or carriage return) as
    a formula: merchant names come from outside, so such cells are quoted with '."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def report_csv_rows(report: SpendReport) -> Iterator[list[str]]:
    employee = report.group_by == GroupBy.EMPLOYEE
    header = [report.group_label]
    if employee:
        header.append("Cards (last 4 digits)")
    header += ["Purchases", "Spend", "Refunds", "Net", "Currency"]
    yield header
    for row in [*report.rows, report.total]:
        line = [_text(row.label)]
        if employee:
            line.append(" ".join(row.cards))
        line += [str(row.purchases), f"{row.spend:.2f}", f"{row.refunds:.2f}", f"{row.net:.2f}", report.currency]
        yield line


TRANSACTION_CSV_HEADER = [
    "Date",
    "Employee",
    "Card (last 4 digits)",
    "Merchant",
    "City",
    "Country",
    "Category",
    "Type",
    "Status",
    "Amount",
    "Currency",
    "Original amount",
    "Original currency",
]


def transaction_csv_rows(*, program: BusinessProgram, start: dt.date, end: dt.date) -> Iterator[list[str]]:
    """Every purchase and refund in the range, oldest first, read in chunks so a year of
    a large program streams without being held in memory. Cards appear as their last 4
    digits only."""
    yield TRANSACTION_CSV_HEADER
    categories, kinds, statuses = (
        dict(Category.choices),
        dict(Transaction.Kind.choices),
        dict(Transaction.Status.choices),
    )
    rows = (
        _in_range(sorted(set(program_card_list(program=program).values_list("account_id", flat=True))), start, end)
        .order_by("transacted_at", "pk")
        .values_list(
            "transacted_at",
            "card__holder__legal_name",
            "card__last4",
            "merchant_name",
            "merchant_city",
            "merchant_country",
            "category",
            "kind",
            "status",
            "amount",
            "currency",
            "original_amount",
            "original_currency",
        )
    )
    for (
        when,
        name,
        last4,
        merchant,
        city,
        country,
        category,
        kind,
        status,
        amount,
        currency,
        orig,
        orig_cur,
    ) in rows.iterator(chunk_size=2000):
        yield [
            timezone.localtime(when).strftime("%Y-%m-%d %H:%M"),
            _text(name or ""),
            last4 or "",
            _text(merchant),
            _text(city),
            country,
            categories.get(category, category),
            kinds.get(kind, kind),
            statuses.get(status, status),
            f"{quantize(amount):.2f}",
            currency,
            f"{quantize(orig):.2f}" if orig is not None else "",
            orig_cur,
        ]


def csv_stream(rows: Iterable[list[str]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(row)
