"""Closing cycles: idempotency, the edge cases of a month of card activity, interest
with and without the grace period, the late fee, the beat's fan-out and the backfill."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from cards import ledger
from cards.models import RewardEntry, Transaction
from statements import services
from statements.models import Statement, StatementLine
from statements.tasks import statements_close_batch, statements_close_cycles
from tests.factories import UserFactory, issue_card, open_account

from .conftest import at, pay, post

pytestmark = pytest.mark.django_db

D = Decimal
MAR_15 = dt.date(2025, 3, 15)
APR_15 = dt.date(2025, 4, 15)
MAY_15 = dt.date(2025, 5, 15)


def close(account, period_end, **kwargs):
    return services.statement_close(account=account, period_end=period_end, **kwargs)


def figures(statement):
    return {
        name: getattr(statement, name)
        for name in (
            "period_start",
            "period_end",
            "opening_balance",
            "purchases",
            "payments_and_credits",
            "fees",
            "interest",
            "closing_balance",
            "minimum_due",
            "past_due",
            "due_date",
            "rewards_earned",
            "rewards_redeemed",
            "rewards_balance",
        )
    }


# --- Idempotency ---------------------------------------------------------------------------


def test_closing_a_cycle_twice_returns_the_first_statement_and_posts_nothing_more(credit):
    _, account, issued = credit
    post(account, "4500.00", at(dt.date(2025, 3, 1)), card=issued.card)
    close(account, MAR_15)
    first = close(account, APR_15)  # unpaid: a late fee and interest are posted
    rows = Transaction.objects.filter(account=account).count()

    again = close(account, APR_15)

    assert again.pk == first.pk
    assert Statement.objects.filter(account=account, period_end=APR_15).count() == 1
    assert Transaction.objects.filter(account=account).count() == rows
    assert StatementLine.objects.filter(statement=first).count() == 2  # the fee and the interest


def test_the_database_holds_one_statement_per_account_and_period(charge):
    _, account, issued = charge
    post(account, "10.00", at(dt.date(2025, 3, 1)), card=issued.card)
    statement = close(account, MAR_15)
    statement.pk = None

    with pytest.raises(IntegrityError), transaction.atomic():
        statement.save()


def test_a_cycle_that_has_not_ended_cannot_close(charge):
    _, account, _ = charge

    with pytest.raises(services.StatementError):
        close(account, MAR_15, today=MAR_15)
    with pytest.raises(services.StatementError):
        close(account, dt.date(2025, 3, 14))  # not the account's statement day


def test_cycles_close_in_order(charge):
    _, account, issued = charge
    post(account, "10.00", at(dt.date(2025, 3, 1)), card=issued.card)
    close(account, APR_15)

    with pytest.raises(services.StatementError):
        close(account, MAR_15)


# --- What a statement holds ------------------------------------------------------------------


def test_statement_snapshots_the_cycle_and_chains_to_the_next(charge):
    _, account, issued = charge
    post(account, "120.00", at(dt.date(2025, 3, 2)), card=issued.card, merchant="Blue Bottle Coffee")
    post(account, "30.50", at(dt.date(2025, 3, 10)), card=issued.card)
    first = close(account, MAR_15)
    pay(account, "150.50", at(dt.date(2025, 4, 1)))
    post(account, "99.99", at(dt.date(2025, 4, 2)), card=issued.card)
    second = close(account, APR_15)

    assert first.lines.count() == 2
    assert (first.period_start, first.opening_balance, first.purchases, first.closing_balance) == (
        dt.date(2025, 2, 16),
        D("0.00"),
        D("150.50"),
        D("150.50"),
    )
    assert (first.minimum_due, first.due_date, first.pay_in_full) == (D("150.50"), dt.date(2025, 4, 9), True)
    assert (second.period_start, second.opening_balance) == (dt.date(2025, 3, 16), D("150.50"))
    assert (second.payments_and_credits, second.purchases, second.closing_balance) == (
        D("-150.50"),
        D("99.99"),
        D("99.99"),
    )
    line = first.lines.get(description="Blue Bottle Coffee")
    assert (line.card_last4, line.card_holder, line.amount, line.posted_on) == (
        issued.card.last4,
        account.primary_cardholder.legal_name,
        D("120.00"),
        dt.date(2025, 3, 2),
    )


def test_cycle_with_no_activity_carries_the_balance_unchanged(charge):
    _, account, issued = charge
    post(account, "100.00", at(dt.date(2025, 3, 1)), card=issued.card)
    pay(account, "100.00", at(dt.date(2025, 3, 5)))
    close(account, MAR_15)

    quiet = close(account, APR_15)

    assert (quiet.lines.count(), quiet.opening_balance, quiet.closing_balance) == (0, D("0.00"), D("0.00"))
    assert (quiet.purchases, quiet.payments_and_credits, quiet.fees, quiet.minimum_due) == (D("0"),) * 4


def test_an_account_with_nothing_ever_posted_gets_no_statement(charge):
    _, account, _ = charge

    assert services.statements_close_due(account=account, today=dt.date(2025, 4, 20), render=False) == []
    assert not Statement.objects.filter(account=account).exists()


def test_credit_balance_owes_nothing_and_carries_as_a_negative_opening(credit):
    _, account, issued = credit
    post(account, "50.00", at(dt.date(2025, 3, 1)), card=issued.card)
    post(account, "-80.00", at(dt.date(2025, 3, 8)), kind=Transaction.Kind.REFUND, card=issued.card)
    first = close(account, MAR_15)

    second = close(account, APR_15)  # nothing paid, nothing owed: no fee, no interest

    assert (first.closing_balance, first.minimum_due, first.payments_and_credits) == (
        D("-30.00"),
        D("0.00"),
        D("-80.00"),
    )
    assert (second.opening_balance, second.fees, second.interest, second.minimum_due) == (
        D("-30.00"),
        D("0.00"),
        D("0.00"),
        D("0.00"),
    )


def test_payment_on_the_closing_day_is_on_this_statement_and_after_midnight_on_the_next(charge):
    _, account, issued = charge
    post(account, "200.00", at(dt.date(2025, 3, 10)), card=issued.card)
    pay(account, "150.00", at(MAR_15, 23, 59, 30))
    pay(account, "50.00", at(dt.date(2025, 3, 16), 0, 0, 30))

    first = close(account, MAR_15)
    second = close(account, APR_15)

    assert (first.payments_and_credits, first.closing_balance) == (D("-150.00"), D("50.00"))
    assert (second.payments_and_credits, second.closing_balance, second.fees) == (D("-50.00"), D("0.00"), D("0.00"))


def test_foreign_transaction_keeps_what_the_merchant_charged(charge):
    _, account, issued = charge
    post(
        account,
        "48.77",
        at(dt.date(2025, 3, 3)),
        card=issued.card,
        merchant="Café de Flore",
        merchant_city="Paris",
        merchant_country="FR",
        original_amount=D("45.00"),
        original_currency="EUR",
    )

    statement = close(account, MAR_15)

    line = statement.lines.get()
    assert (line.amount, line.original_amount, line.original_currency, line.location) == (
        D("48.77"),
        D("45.00"),
        "EUR",
        "Paris, FR",
    )
    assert (statement.purchases, statement.currency) == (D("48.77"), "USD")


def test_disputed_charge_with_a_temporary_credit_nets_to_zero(charge):
    _, account, issued = charge
    post(account, "200.00", at(dt.date(2025, 3, 5)), card=issued.card, merchant="Gadget Store")
    post(account, "-200.00", at(dt.date(2025, 3, 12)), kind=Transaction.Kind.CREDIT)

    statement = close(account, MAR_15)

    assert (statement.purchases, statement.payments_and_credits, statement.closing_balance) == (
        D("200.00"),
        D("-200.00"),
        D("0.00"),
    )
    assert sorted(statement.lines.values_list("kind", "card_last4")) == [
        ("credit", ""),
        ("purchase", issued.card.last4),
    ]
    assert statement.minimum_due == D("0.00")


def test_rewards_of_the_cycle_are_earned_less_refund_take_backs(charge):
    _, account, issued = charge
    purchase = post(account, "100.00", at(dt.date(2025, 3, 1)), card=issued.card)
    post(account, "250.00", at(dt.date(2025, 3, 20)), card=issued.card)  # next cycle
    with transaction.atomic():
        locked = ledger.account_lock(account.pk)
        ledger.transaction_record(
            account=locked,
            detail="refund",
            refund_of=purchase,
            kind=Transaction.Kind.REFUND,
            status=Transaction.Status.POSTED,
            amount=D("-40.00"),
            card=issued.card,
            network_id="refund-1",
            transacted_at=at(dt.date(2025, 3, 9)),
            posted_at=at(dt.date(2025, 3, 9)),
        )

    first = close(account, MAR_15)
    second = close(account, APR_15)

    assert RewardEntry.objects.filter(account=account).count() == 3
    assert (first.rewards_unit, first.rewards_earned, first.rewards_balance) == ("points", D("60.00"), D("60.00"))
    assert (second.rewards_earned, second.rewards_balance) == (D("250.00"), D("310.00"))


# --- Interest and fees (credit products) ---------------------------------------------------------


def test_no_interest_on_the_first_statement(credit):
    _, account, issued = credit
    post(account, "1000.00", at(dt.date(2025, 3, 1)), card=issued.card)

    statement = close(account, MAR_15)

    assert (statement.interest, statement.grace_period, statement.minimum_due) == (D("0.00"), True, D("35.00"))
    assert (statement.annual_rate, statement.credit_limit, statement.pay_in_full) == (
        D("24.99"),
        D("5000.00"),
        False,
    )


def test_interest_on_the_average_daily_balance_when_the_previous_balance_was_not_paid_in_full(credit):
    _, account, issued = credit
    post(account, "1000.00", at(dt.date(2025, 3, 1)), card=issued.card)
    close(account, MAR_15)
    pay(account, "100.00", at(dt.date(2025, 4, 1)))  # the minimum, not the balance

    statement = close(account, APR_15)

    # Mar 16-31: 16 days at $1,000; Apr 1-15: 15 days at $900 → ADB 29,500 / 31.
    # 951.6129… × 24.99% / 365 × 31 days = 20.1974… → $20.20.
    interest = statement.lines.get(kind=Transaction.Kind.INTEREST)
    assert (statement.average_daily_balance, statement.interest, statement.grace_period) == (
        D("951.61"),
        D("20.20"),
        False,
    )
    assert (interest.amount, interest.posted_on, interest.description) == (
        D("20.20"),
        APR_15,
        "Interest charge on purchases",
    )
    assert (statement.closing_balance, statement.minimum_due, statement.fees) == (D("920.20"), D("35.00"), D("0"))


def test_no_interest_on_new_purchases_when_the_previous_balance_was_paid_in_full_by_the_due_date(credit):
    _, account, issued = credit
    post(account, "1000.00", at(dt.date(2025, 3, 1)), card=issued.card)
    close(account, MAR_15)
    pay(account, "1000.00", at(dt.date(2025, 4, 9), 20))  # on the due date
    post(account, "200.00", at(dt.date(2025, 4, 10)), card=issued.card)

    statement = close(account, APR_15)

    assert (statement.interest, statement.grace_period, statement.closing_balance) == (D("0.00"), True, D("200.00"))
    assert not Transaction.objects.filter(account=account, kind=Transaction.Kind.INTEREST).exists()


def test_a_missed_minimum_brings_a_late_fee_through_the_ledger_on_the_next_statement(credit):
    _, account, issued = credit
    post(account, "4500.00", at(dt.date(2025, 3, 1)), card=issued.card)
    first = close(account, MAR_15)

    statement = close(account, APR_15)  # nothing paid by April 9

    fee = Transaction.objects.get(account=account, kind=Transaction.Kind.FEE)
    assert first.minimum_due == D("45.00")
    assert (fee.amount, fee.status, fee.merchant_name) == (D("40.00"), "posted", "Late fee")
    assert fee.statement_line.statement == statement
    assert fee.statement_line.posted_on == dt.date(2025, 4, 10)  # the day after the due date
    # Mar 16-Apr 9: 25 days at 4,500; Apr 10-15: 6 days at 4,540 → 139,740 / 31 a day;
    # 139,740 × 24.99% / 365 = 95.6741… → $95.67.
    assert (statement.fees, statement.interest, statement.past_due) == (D("40.00"), D("95.67"), D("45.00"))
    assert statement.closing_balance == D("4635.67")
    # 1% of 4,635.67 (46.36) + interest 95.67 + fees 40.00, plus the 45.00 past due.
    assert statement.minimum_due == D("227.03")


def test_no_late_fee_when_the_minimum_arrives_on_the_due_date(credit):
    _, account, issued = credit
    post(account, "4500.00", at(dt.date(2025, 3, 1)), card=issued.card)
    close(account, MAR_15)
    pay(account, "45.00", at(dt.date(2025, 4, 9), 23, 30))

    statement = close(account, APR_15)

    assert (statement.fees, statement.past_due) == (D("0.00"), D("0.00"))
    assert statement.interest > 0


def test_charge_card_balance_is_due_in_full_and_never_charged_interest(charge):
    _, account, issued = charge
    post(account, "800.00", at(dt.date(2025, 3, 1)), card=issued.card)
    first = close(account, MAR_15)
    pay(account, "300.00", at(dt.date(2025, 4, 2)))  # less than the balance due in full

    second = close(account, APR_15)

    assert first.minimum_due == first.closing_balance == D("800.00")
    assert (second.interest, second.fees, second.past_due) == (D("0.00"), D("40.00"), D("500.00"))
    assert second.minimum_due == second.closing_balance == D("540.00")


def test_live_close_keeps_the_balance_caches_in_step_with_the_rows(credit):
    _, account, issued = credit
    post(account, "4500.00", at(dt.date(2025, 3, 1)), card=issued.card)
    close(account, MAR_15)
    statement = close(account, APR_15)

    checked, mismatches = ledger.ledger_verify(account_ids=[account.pk])
    account.refresh_from_db()

    assert (checked, mismatches) == (1, [])
    assert account.posted_balance == statement.closing_balance


# --- The beat and the backfill ------------------------------------------------------------------


def test_beat_closes_every_due_cycle_in_batches_and_a_second_run_finds_nothing(monkeypatch):
    accounts = []
    for _ in range(5):
        user = UserFactory()
        account = open_account(holder=user.cardholder, opened_on=dt.date(2025, 1, 2))
        post(account, "25.00", at(dt.date(2025, 3, 10)), card=issue_card(account=account).card)
        accounts.append(account)
    quiet = open_account(holder=UserFactory().cardholder, opened_on=dt.date(2025, 1, 2))
    batches = []
    run = statements_close_batch.run

    def enqueue(ids, today):
        batches.append(list(ids))
        return run(ids, today)

    monkeypatch.setattr(statements_close_batch, "delay", enqueue)

    first = statements_close_cycles(today="2025-04-20", batch_size=2)
    second = statements_close_cycles(today="2025-04-20", batch_size=2)

    assert (first, second) == (3, 0)
    assert batches == [[accounts[0].pk, accounts[1].pk], [accounts[2].pk, accounts[3].pk], [accounts[4].pk]]
    # A missed month is caught up: March and April, oldest first.
    assert sorted(Statement.objects.values_list("account_id", "period_end")) == sorted(
        (account.pk, day) for account in accounts for day in (MAR_15, APR_15)
    )
    assert not Statement.objects.filter(account=quiet).exists()


def history(account, card):
    """Three months of activity with interest already posted, as the demo world has."""
    post(account, "1000.00", at(dt.date(2025, 3, 1)), card=card)
    pay(account, "300.00", at(dt.date(2025, 4, 1)))
    post(account, "18.75", at(APR_15, 23, 59, 30), kind=Transaction.Kind.INTEREST, merchant="Interest")
    post(account, "60.00", at(dt.date(2025, 4, 20)), card=card)
    pay(account, "778.75", at(dt.date(2025, 5, 2)))


def test_backfill_snapshots_past_cycles_from_existing_rows_and_posts_nothing(credit):
    _, account, issued = credit
    history(account, issued.card)
    rows = Transaction.objects.filter(account=account).count()

    created = services.statements_backfill(account_ids=[account.pk], today=dt.date(2025, 6, 1))

    statements = list(Statement.objects.filter(account=account).order_by("period_end"))
    assert created == 3
    assert Transaction.objects.filter(account=account).count() == rows
    assert [(s.period_end, s.opening_balance, s.interest, s.closing_balance) for s in statements] == [
        (MAR_15, D("0.00"), D("0.00"), D("1000.00")),
        (APR_15, D("1000.00"), D("18.75"), D("718.75")),
        (MAY_15, D("718.75"), D("0.00"), D("0.00")),
    ]
    assert StatementLine.objects.filter(statement__account=account).count() == rows
    assert services.statements_backfill(account_ids=[account.pk], today=dt.date(2025, 6, 1)) == 0


def test_backfill_and_one_close_at_a_time_agree(credit):
    _, account, issued = credit
    history(account, issued.card)
    services.statements_backfill(account_ids=[account.pk], today=dt.date(2025, 6, 1))
    backfilled = [figures(s) for s in Statement.objects.filter(account=account).order_by("period_end")]
    Statement.objects.filter(account=account).delete()

    closed = [figures(close(account, day, post_charges=False)) for day in (MAR_15, APR_15, MAY_15)]

    assert closed == backfilled
