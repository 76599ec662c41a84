"""Writes for statements: closing cycles, the backfill of past cycles, and the PDF.

``statement_close`` is the one way a statement comes to exist. It runs under the
account's row lock (``cards.ledger.account_lock``), returns the statement that already
exists for that period if there is one (the database holds one per account and period),
and otherwise snapshots the cycle: the posted transactions no earlier statement holds,
copied into ``StatementLine`` rows, and the figures worked out by ``statements.cycles``.
With ``post_charges`` (the live close) the late fee and interest the cycle owes are
first posted as real transactions through ``cards.ledger``, so balances stay derived
from rows; ``statements_backfill`` snapshots history that already holds its interest
and fees (the demo world's simulation posts them) and posts nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter

from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Min, Q, Sum
from django.utils import timezone

from cards import ledger
from cards.models import Card, CardAccount, Category, RewardEntry, Transaction
from portal.money import quantize

from . import cycles
from .models import Statement, StatementLine

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
LINE_BATCH = 2000
RENDER_RETRY_AFTER = dt.timedelta(minutes=2)


class StatementError(Exception):
    """A close that must not happen (a cycle not over yet, or closed out of order)."""


# --- Snapshot ---------------------------------------------------------------------------


_ROW_FIELDS = (
    "id",
    "kind",
    "amount",
    "original_amount",
    "original_currency",
    "merchant_name",
    "merchant_city",
    "merchant_country",
    "transacted_at",
    "posted_at",
    "card_id",
)
_KIND_LABELS = dict(Transaction.Kind.choices)


@dataclass(frozen=True, slots=True)
class _Row:
    """A posted transaction as a statement copies it (read as plain values: the
    backfill reads every row of an account's history at once)."""

    id: int
    kind: str
    amount: Decimal
    original_amount: Decimal | None
    original_currency: str
    merchant_name: str
    merchant_city: str
    merchant_country: str
    transacted_at: dt.datetime
    posted_at: dt.datetime
    card_id: int | None


def _unbilled(account_id: int, before: dt.datetime | None = None) -> list[_Row]:
    """Posted transactions no statement holds yet (that posted before ``before``),
    oldest first."""
    rows = Transaction.objects.filter(
        account_id=account_id, status=Transaction.Status.POSTED, statement_line__isnull=True
    )
    if before is not None:
        rows = rows.filter(posted_at__lt=before)
    return [_Row(*values) for values in rows.order_by("posted_at", "id").values_list(*_ROW_FIELDS)]


def _cards(account_id: int) -> dict[int, tuple[str, str]]:
    """card id → (last 4, card member's name), for every card of the account."""
    return {
        pk: (last4, name)
        for pk, last4, name in Card.objects.filter(account_id=account_id).values_list(
            "pk", "last4", "holder__legal_name"
        )
    }


@dataclass(slots=True)
class _Line:
    """A statement line before it is written (the fields of ``StatementLine``)."""

    transaction_id: int
    card_id: int | None
    card_last4: str
    card_holder: str
    kind: str
    transacted_on: dt.date
    posted_on: dt.date
    description: str
    location: str
    amount: Decimal
    original_amount: Decimal | None
    original_currency: str


_LINE_FIELDS = tuple(_Line.__slots__)


def _line_for(row: _Row, cards: dict[int, tuple[str, str]]) -> _Line:
    last4, holder = cards[row.card_id] if row.card_id is not None else ("", "")
    city = row.merchant_city
    if row.merchant_country and row.merchant_country != "US":
        city = f"{city}, {row.merchant_country}" if city else row.merchant_country
    return _Line(
        transaction_id=row.id,
        card_id=row.card_id,
        card_last4=last4,
        card_holder=holder,
        kind=row.kind,
        transacted_on=cycles.local_date(row.transacted_at),
        posted_on=cycles.local_date(row.posted_at),
        description=(row.merchant_name or _KIND_LABELS.get(row.kind, row.kind))[:140],
        location=city[:80],
        amount=row.amount,
        original_amount=row.original_amount,
        original_currency=row.original_currency,
    )


def _lines_insert(lines_by_statement: Iterable[tuple[int, list[_Line]]]) -> None:
    """Write statement lines with one prepared INSERT run over all of them. Django's
    bulk_create prepares every field of every object in Python (about 50 µs a line);
    the demo world's three years are 20,000 lines, so this keeps ``seed_demo`` fast.
    Values are plain ints, strings, dates and Decimals, which both database drivers
    adapt (Django registers the SQLite adapters)."""
    meta = StatementLine._meta
    columns = ["statement_id", *(meta.get_field(name).column for name in _LINE_FIELDS)]
    quote = connection.ops.quote_name
    # Table and column names come from the model; every value is a query parameter.
    names = ", ".join(quote(column) for column in columns)
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES ({placeholders})"  # noqa: S608
    values = attrgetter(*_LINE_FIELDS)
    params = [(statement_id, *values(line)) for statement_id, lines in lines_by_statement for line in lines]
    with connection.cursor() as cursor:
        for offset in range(0, len(params), LINE_BATCH):
            cursor.executemany(sql, params[offset : offset + LINE_BATCH])


def _row_of(txn: Transaction) -> _Row:
    return _Row(*(getattr(txn, name) for name in _ROW_FIELDS))


def _previous_facts(previous: Statement | None) -> cycles.Previous | None:
    if previous is None:
        return None
    return cycles.Previous(
        period_end=previous.period_end,
        closing_balance=previous.closing_balance,
        minimum_due=previous.minimum_due,
        due_date=previous.due_date,
        rewards_balance=previous.rewards_balance,
    )


def _period_start(account: CardAccount, period_end: dt.date, previous: Statement | None) -> dt.date:
    if previous is not None:
        return previous.period_end + dt.timedelta(days=1)
    start = cycles.add_months(period_end, -1) + dt.timedelta(days=1)
    # A first, short cycle starts when the account opened.
    return max(start, account.opened_on) if account.opened_on <= period_end else start


@dataclass(frozen=True)
class _Interest:
    amount: Decimal = ZERO
    average_daily_balance: Decimal | None = None
    grace_period: bool = False


def _interest_due(
    *, account: CardAccount, previous: cycles.Previous | None, opening: Decimal, lines, start: dt.date, end: dt.date
) -> _Interest:
    product = account.product
    if not product.is_credit or not product.annual_rate:
        return _Interest()
    average = cycles.average_daily_balance(opening=opening, entries=lines, period_start=start, period_end=end)
    if cycles.grace_period(previous, lines):
        return _Interest(average_daily_balance=quantize(average), grace_period=True)
    amount = cycles.interest_charge(
        average_balance=average, annual_rate=product.annual_rate, days=(end - start).days + 1
    )
    return _Interest(amount=amount, average_daily_balance=quantize(average))


def _statement_for(
    *,
    account: CardAccount,
    period_end: dt.date,
    previous: Statement | None,
    lines: list[_Line],
    rewards: tuple[Decimal, Decimal],
    interest: _Interest | None,
) -> Statement:
    """The unsaved snapshot. ``interest`` is the live close's calculation; None when
    snapshotting history, whose interest rows are already among the lines."""
    product = account.product
    facts = _previous_facts(previous)
    opening = previous.closing_balance if previous is not None else ZERO
    sums = cycles.totals(lines)
    closing = quantize(opening + sums.net)
    past_due = cycles.past_due(facts, lines)
    if interest is None:
        # History: its interest rows are among the lines; say "grace period" only where
        # the rule would have given one and none was charged.
        grace = product.is_credit and sums.interest == 0 and cycles.grace_period(facts, lines)
        interest = _Interest(grace_period=grace)
    earned, redeemed = rewards
    rewards_opening = previous.rewards_balance if previous is not None else ZERO
    points = product.rewards_kind == product.RewardsKind.POINTS
    return Statement(
        account=account,
        period_start=_period_start(account, period_end, previous),
        period_end=period_end,
        currency=account.currency,
        product_name=product.name,
        pay_in_full=not product.is_credit,
        credit_limit=account.credit_limit,
        annual_rate=product.annual_rate,
        opening_balance=opening,
        purchases=sums.purchases,
        payments_and_credits=sums.payments_and_credits,
        fees=sums.fees,
        interest=sums.interest,
        closing_balance=closing,
        average_daily_balance=interest.average_daily_balance,
        grace_period=interest.grace_period,
        past_due=past_due,
        minimum_due=cycles.minimum_due(
            closing=closing,
            interest=sums.interest,
            fees=sums.fees,
            past_due=past_due,
            pay_in_full=not product.is_credit,
        ),
        due_date=cycles.due_date_for(period_end),
        rewards_unit=RewardEntry.Unit.POINTS if points else RewardEntry.Unit.CASH,
        rewards_earned=quantize(earned),
        rewards_redeemed=quantize(redeemed),
        rewards_balance=quantize(rewards_opening + earned + redeemed),
    )


# --- The live close ---------------------------------------------------------------------


def _post_charge(*, account: CardAccount, kind: str, amount: Decimal, at: dt.datetime, name: str, key: str):
    """A fee or interest row, through the ledger, dated inside the cycle it belongs to.
    The network id makes a second post of the same charge impossible."""
    return ledger.transaction_record(
        account=account,
        detail=f"{name} on the statement closing {key[-10:]}",
        kind=kind,
        status=Transaction.Status.POSTED,
        amount=amount,
        merchant_name=name,
        category=Category.OTHER,
        network_id=f"stmt-{kind}-{account.pk}-{key}",
        transacted_at=at,
        posted_at=at,
    )


def _rewards_unbilled(account_id: int, before: dt.datetime, after: dt.datetime | None) -> tuple[Decimal, Decimal]:
    """Rewards of the cycle: entries of the transactions going onto the statement, and
    entries tied to no transaction made during the cycle. (Earned less take-backs,
    redeemed.)"""
    billed = Q(
        transaction__status=Transaction.Status.POSTED,
        transaction__posted_at__lt=before,
        transaction__statement_line__isnull=True,
    )
    untied = Q(transaction__isnull=True, created_at__lt=before)
    if after is not None:
        untied &= Q(created_at__gte=after)
    sums = RewardEntry.objects.filter(billed | untied, account_id=account_id).aggregate(
        earned=Sum("quantity", filter=~Q(kind=RewardEntry.Kind.REDEEM)),
        redeemed=Sum("quantity", filter=Q(kind=RewardEntry.Kind.REDEEM)),
    )
    return quantize(sums["earned"] or ZERO), quantize(sums["redeemed"] or ZERO)


@transaction.atomic
def statement_close(
    *, account: CardAccount, period_end: dt.date, post_charges: bool = True, today: dt.date | None = None
) -> Statement:
    """Close the cycle ending on ``period_end``: returns its statement, the existing one
    if it was closed before. The cycle must be over (its closing day has ended) and be
    the account's next one: statements are never closed out of order."""
    today = today or timezone.localdate()
    if period_end >= today:
        raise StatementError(f"The cycle closing on {period_end} has not ended yet.")
    account = ledger.account_lock(account.pk)
    existing = Statement.objects.filter(account=account, period_end=period_end).first()
    if existing is not None:
        return existing
    if period_end.day != account.statement_day:
        raise StatementError(f"{period_end} is not a closing date of account {account.reference}.")
    previous = Statement.objects.filter(account=account).order_by("-period_end").first()
    if previous is not None and previous.period_end > period_end:
        raise StatementError(f"Account {account.reference} already has a later statement ({previous.period_end}).")

    end_at = cycles.cutoff(period_end)
    cards = _cards(account.pk)
    lines = [_line_for(row, cards) for row in _unbilled(account.pk, end_at)]
    facts = _previous_facts(previous)
    opening = previous.closing_balance if previous is not None else ZERO
    start = _period_start(account, period_end, previous)
    interest = None
    if post_charges:
        key = period_end.isoformat()
        fee = cycles.late_fee(facts, lines)
        if fee > 0:
            at = min(cycles.day_start(cycles.late_fee_date(facts)), end_at - dt.timedelta(seconds=2))
            txn = _post_charge(account=account, kind=Transaction.Kind.FEE, amount=fee, at=at, name="Late fee", key=key)
            lines.append(_line_for(_row_of(txn), cards))
        interest = _interest_due(
            account=account, previous=facts, opening=opening, lines=lines, start=start, end=period_end
        )
        if interest.amount > 0:
            txn = _post_charge(
                account=account,
                kind=Transaction.Kind.INTEREST,
                amount=interest.amount,
                at=end_at - dt.timedelta(seconds=1),
                name="Interest charge on purchases",
                key=key,
            )
            lines.append(_line_for(_row_of(txn), cards))
    rewards = _rewards_unbilled(account.pk, end_at, cycles.cutoff(previous.period_end) if previous else None)
    statement = _statement_for(
        account=account, period_end=period_end, previous=previous, lines=lines, rewards=rewards, interest=interest
    )
    statement.save()
    _lines_insert([(statement.pk, lines)])
    return statement


def _pending_closes(account: CardAccount, today: dt.date) -> list[dt.date]:
    """The closing dates of the account's cycles that have ended and have no statement,
    oldest first. An account's first statement is the cycle of its first posted
    transaction: no statements for the months before anything happened."""
    last = cycles.last_close_before(account.statement_day, today)
    done = Statement.objects.filter(account=account).order_by("-period_end").values_list("period_end", flat=True)
    latest = done.first()
    if latest is not None:
        return cycles.closes_between(account.statement_day, latest + dt.timedelta(days=1), last)
    first_posted = Transaction.objects.filter(
        account_id=account.pk, status=Transaction.Status.POSTED, statement_line__isnull=True
    ).aggregate(first=Min("posted_at"))["first"]
    if first_posted is None:
        return []
    return cycles.closes_between(account.statement_day, cycles.local_date(first_posted), last)


def statements_close_due(*, account: CardAccount, today: dt.date | None = None, render: bool = True) -> list[Statement]:
    """Close every cycle of the account that has ended and has no statement yet, oldest
    first (a beat run that was missed catches up), each in its own database
    transaction. With ``render``, each new statement's PDF is rendered in the background
    right after its close commits."""
    from .tasks import statement_pdf_render

    today = today or timezone.localdate()
    closed = []
    for period_end in _pending_closes(account, today):
        with transaction.atomic():
            statement = statement_close(account=account, period_end=period_end, today=today)
            if render and not statement.pdf:
                # robust: a broker outage must not fail a close that committed; the
                # first download asks for the PDF again.
                transaction.on_commit(lambda pk=statement.pk: statement_pdf_render.delay(pk), robust=True)
        closed.append(statement)
    return closed


# --- Backfill: snapshot past cycles from the rows already there --------------------------


@transaction.atomic
def statements_backfill(*, account_ids: Iterable[int], today: dt.date | None = None) -> int:
    """Close every past cycle of these accounts, in order, from the rows that are
    already there, posting nothing (history holds its own interest and fees). For a
    bulk-loaded history such as the demo world. Each account's transactions and reward
    entries are read once and its lines written in bulk. Returns statements created."""
    today = today or timezone.localdate()
    created = 0
    for account in CardAccount.objects.filter(pk__in=list(account_ids)).select_related("product").order_by("pk"):
        created += _backfill_account(account, today)
    return created


def _backfill_account(account: CardAccount, today: dt.date) -> int:
    closes = _pending_closes(account, today)
    if not closes:
        return 0
    rows = _unbilled(account.pk, cycles.cutoff(closes[-1]))
    cards = _cards(account.pk)
    rewards_by_txn: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    untied: list[tuple[dt.datetime, str, Decimal]] = []
    for txn_id, kind, quantity, created_at in RewardEntry.objects.filter(account=account).values_list(
        "transaction_id", "kind", "quantity", "created_at"
    ):
        if txn_id is None:
            untied.append((created_at, kind, quantity))
        else:
            rewards_by_txn[txn_id].append((kind, quantity))

    previous = Statement.objects.filter(account=account).order_by("-period_end").first()
    statements: list[tuple[Statement, list[_Line]]] = []
    index = 0
    for period_end in closes:
        end_at = cycles.cutoff(period_end)
        start_at = cycles.cutoff(previous.period_end) if previous is not None else None
        cycle_rows = []
        while index < len(rows) and rows[index].posted_at < end_at:
            cycle_rows.append(rows[index])
            index += 1
        earned = redeemed = ZERO
        for txn in cycle_rows:
            for kind, quantity in rewards_by_txn.get(txn.id, ()):
                if kind == RewardEntry.Kind.REDEEM:
                    redeemed += quantity
                else:
                    earned += quantity
        for created_at, kind, quantity in untied:
            if created_at < end_at and (start_at is None or created_at >= start_at):
                if kind == RewardEntry.Kind.REDEEM:
                    redeemed += quantity
                else:
                    earned += quantity
        lines = [_line_for(row, cards) for row in cycle_rows]
        statement = _statement_for(
            account=account,
            period_end=period_end,
            previous=previous,
            lines=lines,
            rewards=(earned, redeemed),
            interest=None,
        )
        statements.append((statement, lines))
        previous = statement
    Statement.objects.bulk_create([statement for statement, _ in statements])
    _lines_insert((statement.pk, lines) for statement, lines in statements)
    return len(statements)


# --- PDF --------------------------------------------------------------------------------


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def statement_pdf_render(*, statement: Statement) -> Statement:
    """Render the statement's PDF once and store it with its SHA-256. A no-op when it
    is already stored; two renders racing keep the first one stored."""
    from .pdf import statement_pdf_bytes

    if statement.pdf:
        return statement
    content = statement_pdf_bytes(statement)
    if not content.startswith(b"%PDF-"):
        raise StatementError(f"Statement {statement.pk}: the renderer returned no PDF")
    digest = _sha256(content)
    name = f"{secrets.token_hex(16)}.pdf"  # nothing about the account in the file name
    with transaction.atomic():
        locked = Statement.objects.select_for_update().get(pk=statement.pk)
        if locked.pdf:
            return locked
        locked.pdf.save(name, ContentFile(content), save=False)
        locked.pdf_sha256 = digest
        locked.pdf_rendered_at = timezone.now()
        locked.save(update_fields=["pdf", "pdf_sha256", "pdf_rendered_at"])
    logger.info("Statement %s rendered: %d bytes", statement.pk, len(content))
    return locked


def statement_pdf_request(*, statement: Statement) -> bool:
    """Ask for a background render, once per couple of minutes however often the
    "Preparing your statement" page refreshes. Returns whether a render was queued."""
    from .tasks import statement_pdf_render as render_task

    now = timezone.now()
    asked = (
        Statement.objects.filter(pk=statement.pk, pdf="")
        .filter(Q(pdf_requested_at__isnull=True) | Q(pdf_requested_at__lt=now - RENDER_RETRY_AFTER))
        .update(pdf_requested_at=now)
    )
    if asked:
        # robust: with the broker down the page still answers; it asks again after
        # RENDER_RETRY_AFTER.
        transaction.on_commit(lambda: render_task.delay(statement.pk), robust=True)
    return bool(asked)


def statement_pdf_discard(*, statement: Statement, reason: str) -> None:
    """Forget a stored PDF that cannot be served (missing, or not the bytes we stored),
    so it is rendered again from the immutable snapshot."""
    logger.error("Statement %s PDF discarded: %s (file %s)", statement.pk, reason, statement.pdf.name)
    name = statement.pdf.name
    Statement.objects.filter(pk=statement.pk, pdf=name).update(
        pdf="", pdf_sha256="", pdf_rendered_at=None, pdf_requested_at=None
    )
    if name:
        statement.pdf.storage.delete(name)
    statement.pdf, statement.pdf_sha256, statement.pdf_rendered_at = "", "", None


def statement_pdf_content(*, statement: Statement) -> bytes | None:
    """The stored PDF, if it is there and still the bytes whose SHA-256 was stored at
    rendering; otherwise None (and a bad file is discarded, to be rendered again)."""
    if not statement.pdf:
        return None
    try:
        with statement.pdf.open("rb") as stored:
            content = stored.read()
    except OSError:
        statement_pdf_discard(statement=statement, reason="the stored file cannot be read")
        return None
    if not secrets.compare_digest(_sha256(content), statement.pdf_sha256):
        statement_pdf_discard(statement=statement, reason="checksum mismatch")
        return None
    return content
