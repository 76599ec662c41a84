"""Statement arithmetic, kept pure (no database) so the live close and the backfill of
past cycles work out a statement the same way, and tests can check the rules directly.

A cycle closes at the end of the account's statement day in the portal's time zone; it
holds the posted transactions that no earlier statement holds and that posted before
that moment. The rules, written as a cardholder agreement would put them:

* Interest (revolving credit products): the average daily balance over the cycle (each
  day's closing balance, a credit balance counting as zero) at the APR / 365 per day,
  for the days of the cycle. None is charged when the previous statement's balance was
  paid in full (payments and credits) by its due date: the grace period.
* Minimum payment (credit): the greater of $35 or 1% of the new balance plus this
  cycle's interest and fees, plus any part of the previous minimum still unpaid, never
  more than the new balance. Charge cards: the new balance, due in full.
* Late fee: $40 when the previous minimum payment was not received (payments less
  returned payments) by its due date; never more than that missed minimum (Regulation
  Z, 12 CFR 1026.52(b)). It is posted on the next statement, dated the day after the
  due date.
* The payment is due 25 days after the closing date (the law asks for at least 21).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.utils import timezone

from cards.models import Transaction
from portal.money import quantize

ZERO = Decimal("0.00")
DUE_DAYS = 25
LATE_FEE = Decimal("40.00")
MINIMUM_FLOOR = Decimal("35.00")
MINIMUM_RATE = Decimal("0.01")
DAYS_IN_YEAR = Decimal(365)

K = Transaction.Kind
PAYMENT_KINDS = frozenset({K.PAYMENT, K.PAYMENT_RETURN})
# Everything that is not a purchase, a fee or interest counts as a payment or credit:
# payments (less returned ones), refunds, dispute and rewards credits (less reversals).
DEBIT_KINDS = frozenset({K.PURCHASE, K.FEE, K.INTEREST})


class Entry(Protocol):
    """What the arithmetic needs of a statement line."""

    kind: str
    amount: Decimal
    posted_on: dt.date


# --- Dates ------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return day.replace(year=index // 12, month=index % 12 + 1)  # statement days are 1-28


def close_on_or_before(statement_day: int, day: dt.date) -> dt.date:
    """The last closing date on or before ``day``."""
    close = day.replace(day=statement_day)
    return close if close <= day else add_months(close, -1)


def last_close_before(statement_day: int, today: dt.date) -> dt.date:
    """The latest cycle that has ended by ``today``: its closing day is over."""
    return close_on_or_before(statement_day, today - dt.timedelta(days=1))


def closes_between(statement_day: int, first: dt.date, last: dt.date) -> list[dt.date]:
    """Closing dates from the first one on or after ``first`` through ``last``."""
    close = close_on_or_before(statement_day, first)
    if close < first:
        close = add_months(close, 1)
    dates = []
    while close <= last:
        dates.append(close)
        close = add_months(close, 1)
    return dates


def due_date_for(period_end: dt.date) -> dt.date:
    return period_end + dt.timedelta(days=DUE_DAYS)


def day_start(day: dt.date) -> dt.datetime:
    """Local midnight at the start of ``day`` (aware)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def cutoff(period_end: dt.date) -> dt.datetime:
    """The moment the cycle ends: the start of the day after the closing date."""
    return day_start(period_end + dt.timedelta(days=1))


def local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


# --- Figures ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Previous:
    """What the next statement needs of the one before it."""

    period_end: dt.date
    closing_balance: Decimal
    minimum_due: Decimal
    due_date: dt.date
    rewards_balance: Decimal


@dataclass(frozen=True)
class Totals:
    purchases: Decimal
    payments_and_credits: Decimal
    fees: Decimal
    interest: Decimal

    @property
    def net(self) -> Decimal:
        return self.purchases + self.payments_and_credits + self.fees + self.interest


def totals(entries: Iterable[Entry]) -> Totals:
    sums = defaultdict(lambda: ZERO)
    for entry in entries:
        key = entry.kind if entry.kind in DEBIT_KINDS else "credit"
        sums[key] += entry.amount
    return Totals(
        purchases=quantize(sums[K.PURCHASE]),
        payments_and_credits=quantize(sums["credit"]),
        fees=quantize(sums[K.FEE]),
        interest=quantize(sums[K.INTEREST]),
    )


def payments_through(entries: Iterable[Entry], day: dt.date) -> Decimal:
    """Payments received (less payments returned) on or before ``day``, as a positive
    amount."""
    return quantize(-sum((e.amount for e in entries if e.kind in PAYMENT_KINDS and e.posted_on <= day), ZERO))


def payments_and_credits_through(entries: Iterable[Entry], day: dt.date) -> Decimal:
    return quantize(-sum((e.amount for e in entries if e.kind not in DEBIT_KINDS and e.posted_on <= day), ZERO))


def past_due(previous: Previous | None, entries: list[Entry]) -> Decimal:
    """The part of the previous minimum payment not received by its due date."""
    if previous is None or previous.minimum_due <= 0:
        return ZERO
    return max(ZERO, quantize(previous.minimum_due - payments_through(entries, previous.due_date)))


def late_fee(previous: Previous | None, entries: list[Entry]) -> Decimal:
    missed = past_due(previous, entries)
    if missed <= 0:
        return ZERO
    return min(LATE_FEE, previous.minimum_due)


def late_fee_date(previous: Previous) -> dt.date:
    return previous.due_date + dt.timedelta(days=1)


def grace_period(previous: Previous | None, entries: list[Entry]) -> bool:
    """The previous statement's balance was paid in full by its due date (or nothing
    was owed): purchases of this cycle carry no interest."""
    if previous is None or previous.closing_balance <= 0:
        return True
    return payments_and_credits_through(entries, previous.due_date) >= previous.closing_balance


def average_daily_balance(
    *, opening: Decimal, entries: Iterable[Entry], period_start: dt.date, period_end: dt.date
) -> Decimal:
    """The average of each day's closing balance over the cycle, a credit balance
    counting as zero. Not rounded: the interest is rounded once, at the end."""
    days = (period_end - period_start).days + 1
    moves: dict[dt.date, Decimal] = defaultdict(lambda: ZERO)
    for entry in entries:
        moves[max(entry.posted_on, period_start)] += entry.amount
    balance, total = opening, ZERO
    day = period_start
    while day <= period_end:
        balance += moves.get(day, ZERO)
        total += max(balance, ZERO)
        day += dt.timedelta(days=1)
    return total / days


def interest_charge(*, average_balance: Decimal, annual_rate: Decimal, days: int) -> Decimal:
    """Average daily balance × (APR / 365) × days in the cycle, rounded once."""
    return quantize(average_balance * annual_rate / Decimal(100) / DAYS_IN_YEAR * days)


def minimum_due(*, closing: Decimal, interest: Decimal, fees: Decimal, past_due: Decimal, pay_in_full: bool) -> Decimal:
    if closing <= 0:
        return ZERO
    if pay_in_full:
        return closing
    regular = max(MINIMUM_FLOOR, quantize(closing * MINIMUM_RATE) + interest + fees)
    return min(closing, regular + past_due)
