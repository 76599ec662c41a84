"""The statement arithmetic on its own: dates, minimum payment, interest, late fee."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from cards.models import Transaction
from statements import cycles

K = Transaction.Kind
D = Decimal


@dataclass
class Line:
    kind: str
    amount: Decimal
    posted_on: dt.date


def previous(closing="1000.00", minimum="35.00", due=dt.date(2025, 4, 9)):
    return cycles.Previous(
        period_end=dt.date(2025, 3, 15),
        closing_balance=D(closing),
        minimum_due=D(minimum),
        due_date=due,
        rewards_balance=D("0"),
    )


def test_last_close_is_yesterday_or_earlier_never_today():
    assert cycles.last_close_before(15, dt.date(2025, 5, 16)) == dt.date(2025, 5, 15)
    assert cycles.last_close_before(15, dt.date(2025, 5, 15)) == dt.date(2025, 4, 15)
    assert cycles.last_close_before(28, dt.date(2025, 1, 3)) == dt.date(2024, 12, 28)


def test_closes_between_walks_month_by_month_across_a_year_end():
    closes = cycles.closes_between(3, dt.date(2024, 11, 20), dt.date(2025, 2, 3))

    assert closes == [dt.date(2024, 12, 3), dt.date(2025, 1, 3), dt.date(2025, 2, 3)]


def test_due_date_is_25_days_after_the_close():
    assert cycles.due_date_for(dt.date(2025, 2, 15)) == dt.date(2025, 3, 12)
    assert (cycles.due_date_for(dt.date(2025, 2, 15)) - dt.date(2025, 2, 15)).days >= 21


def test_cycle_ends_at_local_midnight_after_the_closing_day():
    end = cycles.cutoff(dt.date(2025, 3, 15))

    assert (end.year, end.month, end.day, end.hour, end.minute) == (2025, 3, 16, 0, 0)
    assert cycles.local_date(end - dt.timedelta(microseconds=1)) == dt.date(2025, 3, 15)


def test_credit_minimum_is_35_dollars_on_a_small_balance():
    minimum = cycles.minimum_due(closing=D("500.00"), interest=D("0"), fees=D("0"), past_due=D("0"), pay_in_full=False)

    assert minimum == D("35.00")


def test_credit_minimum_is_one_percent_plus_interest_and_fees_on_a_large_balance():
    minimum = cycles.minimum_due(
        closing=D("8000.00"), interest=D("120.00"), fees=D("40.00"), past_due=D("0"), pay_in_full=False
    )

    assert minimum == D("240.00")  # 80 + 120 + 40


def test_minimum_adds_the_past_due_amount_and_never_exceeds_the_balance():
    with_past_due = cycles.minimum_due(
        closing=D("2000.00"), interest=D("0"), fees=D("40.00"), past_due=D("35.00"), pay_in_full=False
    )
    capped = cycles.minimum_due(closing=D("20.00"), interest=D("0"), fees=D("0"), past_due=D("0"), pay_in_full=False)

    assert (with_past_due, capped) == (D("95.00"), D("20.00"))


def test_charge_card_balance_is_due_in_full_and_a_credit_balance_owes_nothing():
    assert cycles.minimum_due(
        closing=D("1234.56"), interest=D("0"), fees=D("0"), past_due=D("0"), pay_in_full=True
    ) == D("1234.56")
    assert cycles.minimum_due(
        closing=D("-50.00"), interest=D("0"), fees=D("0"), past_due=D("0"), pay_in_full=False
    ) == D("0.00")


def test_average_daily_balance_counts_each_day_and_a_credit_balance_as_zero():
    lines = [
        Line(K.PURCHASE, D("300.00"), dt.date(2025, 3, 21)),  # days 21-31: 11 days at 300
        Line(K.PAYMENT, D("-400.00"), dt.date(2025, 4, 1)),  # from Apr 1: -100, counts as 0
    ]
    average = cycles.average_daily_balance(
        opening=D("0"), entries=lines, period_start=dt.date(2025, 3, 16), period_end=dt.date(2025, 4, 15)
    )

    assert average == D("300.00") * 11 / 31


def test_interest_is_average_balance_times_apr_over_365_times_days_rounded_once():
    interest = cycles.interest_charge(average_balance=D("1000.00"), annual_rate=D("24.99"), days=31)

    assert interest == D("21.22")  # 1000 × 0.2499 / 365 × 31 = 21.2243…


def test_grace_period_needs_the_previous_balance_paid_in_full_by_its_due_date():
    paid = [Line(K.PAYMENT, D("-1000.00"), dt.date(2025, 4, 9))]
    paid_late = [Line(K.PAYMENT, D("-1000.00"), dt.date(2025, 4, 10))]
    part = [Line(K.PAYMENT, D("-999.99"), dt.date(2025, 4, 1))]

    assert cycles.grace_period(previous(), paid)
    assert not cycles.grace_period(previous(), paid_late)
    assert not cycles.grace_period(previous(), part)
    assert cycles.grace_period(None, [])


def test_late_fee_when_the_minimum_was_not_received_by_the_due_date():
    statement = previous(closing="6000.00", minimum="120.00")
    on_time = [Line(K.PAYMENT, D("-120.00"), dt.date(2025, 4, 9))]
    late = [Line(K.PAYMENT, D("-120.00"), dt.date(2025, 4, 10))]
    returned = [
        Line(K.PAYMENT, D("-120.00"), dt.date(2025, 4, 2)),
        Line(K.PAYMENT_RETURN, D("120.00"), dt.date(2025, 4, 5)),
    ]

    assert cycles.late_fee(statement, on_time) == D("0.00")
    assert cycles.late_fee(statement, late) == D("40.00")
    assert cycles.late_fee(statement, returned) == D("40.00")


def test_late_fee_is_never_more_than_the_missed_minimum():
    assert cycles.late_fee(previous(minimum="35.00"), []) == D("35.00")
    assert cycles.late_fee(previous(closing="20.00", minimum="20.00"), []) == D("20.00")


def test_refunds_do_not_count_as_a_minimum_payment():
    refund = [Line(K.REFUND, D("-100.00"), dt.date(2025, 4, 1))]

    assert cycles.past_due(previous(), refund) == D("35.00")


def test_totals_split_lines_by_kind():
    lines = [
        Line(K.PURCHASE, D("100.00"), dt.date(2025, 3, 20)),
        Line(K.REFUND, D("-10.00"), dt.date(2025, 3, 21)),
        Line(K.PAYMENT, D("-50.00"), dt.date(2025, 3, 22)),
        Line(K.FEE, D("40.00"), dt.date(2025, 3, 23)),
        Line(K.INTEREST, D("5.55"), dt.date(2025, 4, 15)),
    ]
    totals = cycles.totals(lines)

    assert totals == cycles.Totals(D("100.00"), D("-60.00"), D("40.00"), D("5.55"))
    assert totals.net == D("85.55")
