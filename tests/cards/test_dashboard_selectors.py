"""Selectors behind the dashboard: scopes, billing cycles and due dates, spending by
category, rewards, and keyset pages."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from cards import selectors
from cards.models import Transaction
from cards.rewards import reward_entry_add
from tests.factories import TransactionFactory

pytestmark = pytest.mark.django_db


def scope_of(user, card):
    choices = selectors.card_choices_for_user(user=user)
    return selectors.card_scope(user=user, card=next(c for c in choices if c.pk == card.pk), choices=choices)


def test_scope_is_the_whole_account_for_its_managers_and_own_cards_for_others(roles):
    owner_view = scope_of(roles.users["owner"], roles.cards["supp"])
    supp_view = scope_of(roles.users["supplementary"], roles.cards["supp"])
    admin_view = scope_of(roles.users["admin"], roles.cards["employee"])
    employee_view = scope_of(roles.users["employee"], roles.cards["employee"])

    assert (owner_view.whole_account, set(owner_view.card_ids)) == (
        True,
        {roles.cards["basic"].pk, roles.cards["supp"].pk},
    )
    assert (supp_view.whole_account, supp_view.card_ids) == (False, [roles.cards["supp"].pk])
    assert (admin_view.whole_account, set(admin_view.card_ids)) == (
        True,
        {roles.cards["employee"].pk, roles.cards["colleague"].pk},
    )
    assert (employee_view.whole_account, employee_view.card_ids) == (False, [roles.cards["employee"].pk])


def test_a_supplementary_scope_leaves_out_account_movements_and_other_cards(roles):
    basic, supp = roles.cards["basic"], roles.cards["supp"]
    mine = TransactionFactory(card=supp)
    TransactionFactory(card=basic)
    TransactionFactory(card=None, account=basic.account, kind="payment", amount=Decimal("-5.00"))

    assert list(scope_of(roles.users["supplementary"], supp).transactions()) == [mine]
    assert scope_of(roles.users["owner"], basic).transactions().count() == 3


@pytest.mark.parametrize(
    ("today", "statement_day", "start", "close"),
    [
        (dt.date(2026, 3, 10), 15, dt.date(2026, 2, 16), dt.date(2026, 3, 15)),
        (dt.date(2026, 3, 15), 15, dt.date(2026, 2, 16), dt.date(2026, 3, 15)),
        (dt.date(2026, 3, 16), 15, dt.date(2026, 3, 16), dt.date(2026, 4, 15)),
        (dt.date(2026, 12, 20), 3, dt.date(2026, 12, 4), dt.date(2027, 1, 3)),
        (dt.date(2026, 1, 2), 28, dt.date(2025, 12, 29), dt.date(2026, 1, 28)),
    ],
)
def test_billing_cycle_closes_at_the_end_of_the_statement_day(charge_card, today, statement_day, start, close):
    account = charge_card.card.account
    account.statement_day = statement_day

    assert selectors.billing_cycle(account=account, today=today) == selectors.Cycle(start=start, close=close)


@pytest.mark.parametrize(
    ("today", "opened_on", "due"),
    [
        # The last statement closed on Mar 15: due 25 days later, until that day passes.
        (dt.date(2026, 3, 20), dt.date(2025, 1, 1), dt.date(2026, 4, 9)),
        (dt.date(2026, 4, 9), dt.date(2025, 1, 1), dt.date(2026, 4, 9)),
        (dt.date(2026, 4, 10), dt.date(2025, 1, 1), dt.date(2026, 5, 10)),
        # An account opened after the last close owes nothing until its first cycle closes.
        (dt.date(2026, 3, 20), dt.date(2026, 3, 18), dt.date(2026, 5, 10)),
    ],
)
def test_payment_due_date_is_25_days_after_the_close_with_no_amounts_before_a_statement(
    charge_card, today, opened_on, due
):
    account = charge_card.card.account
    account.statement_day, account.opened_on = 15, opened_on
    cycle = selectors.billing_cycle(account=account, today=today)

    payment = selectors.payment_due(account=account, cycle=cycle, today=today)

    assert payment == selectors.PaymentDue(due)
    assert payment.from_statement is False


def test_spending_by_category_nets_refunds_counts_pending_and_skips_declines(charge_card):
    card = charge_card.card
    now = timezone.now()
    TransactionFactory(card=card, category="dining", amount=Decimal("30.00"), transacted_at=now)
    TransactionFactory(card=card, category="dining", amount=Decimal("5.00"), status="pending", transacted_at=now)
    TransactionFactory(card=card, category="dining", amount=Decimal("99.00"), status="declined", transacted_at=now)
    TransactionFactory(card=card, category="travel", amount=Decimal("20.00"), transacted_at=now)
    TransactionFactory(card=card, category="travel", kind="refund", amount=Decimal("-50.00"), transacted_at=now)
    TransactionFactory(card=card, category="fuel", amount=Decimal("40.00"), transacted_at=now - dt.timedelta(days=60))
    TransactionFactory(card=None, account=card.account, kind="payment", amount=Decimal("-500.00"), transacted_at=now)

    spend = selectors.spending_by_category(
        transactions=Transaction.objects.filter(account=card.account), since=now - dt.timedelta(days=1)
    )

    assert [(s.label, s.amount) for s in spend] == [("Dining", Decimal("35.00")), ("Travel", Decimal("-30.00"))]


def test_rewards_summary_balance_and_this_cycles_earnings(charge_card):
    account = charge_card.card.account
    now = timezone.now()
    old = now - dt.timedelta(days=60)
    for kind, quantity, when in [
        ("earn", "500", old),
        ("earn", "120", now),
        ("adjust", "-20", now),
        ("redeem", "-300", now),
    ]:
        reward_entry_add(account=account, kind=kind, unit="points", quantity=Decimal(quantity), created_at=when)

    account.refresh_from_db()  # the balance is read from the account row, as pages load it
    summary = selectors.rewards_summary(account=account, since=now - dt.timedelta(days=1))

    assert (summary.balance, summary.earned_this_cycle) == (Decimal("300.00"), Decimal("100.00"))
    assert (summary.redeemable_steps, summary.redeemable, summary.redeemable_value) == (
        0,
        Decimal("0.00"),
        Decimal("0.00"),
    )


def test_keyset_page_backwards_and_forwards(charge_card):
    card = charge_card.card
    now = timezone.now()
    made = [TransactionFactory(card=card, transacted_at=now - dt.timedelta(hours=n)) for n in range(7)]
    everything = Transaction.objects.filter(card=card)

    first = selectors.keyset_page(everything, time_field="transacted_at", limit=3)
    second = selectors.keyset_page(everything, time_field="transacted_at", before=first.older, limit=3)
    third = selectors.keyset_page(everything, time_field="transacted_at", before=second.older, limit=3)
    back = selectors.keyset_page(everything, time_field="transacted_at", after=second.newer, limit=3)

    assert [first.rows, second.rows, third.rows] == [made[0:3], made[3:6], made[6:7]]
    assert (first.newer, third.older) == (None, None)
    assert back.rows == made[0:3]
    assert back.newer is None
