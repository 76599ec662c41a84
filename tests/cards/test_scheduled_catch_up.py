"""Scheduled work that catches up: a reminder whose day beat missed still goes out
(once), and one account that fails does not stop the run for the others."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from cards import alert_rules, payments
from cards.models import AlertPreference, CardAccount, Payment
from security.models import Notification
from tests.cards.payments_helpers import StatementFactory, bank_account, spend

pytestmark = pytest.mark.django_db
D = Decimal


def test_a_due_reminder_whose_day_was_missed_goes_out_on_the_next_run_once(charge_card):
    spend(charge_card, "300.00")
    account = CardAccount.objects.get(pk=charge_card.card.account_id)
    user = charge_card.card.holder.user
    statement = StatementFactory(account=account, closing_balance=D("250.00"), minimum_due=D("35.00"))
    AlertPreference.objects.create(user=user, kind="payment_due", email=True, days_before=3)
    # Beat down on due-3; back on due-2, the minimum still unpaid.
    alert_rules.payment_reminders_send(today=statement.due_date - dt.timedelta(days=2))
    assert Notification.objects.filter(kind="payment_due").count() == 1, "reminder skipped for good"
    alert_rules.payment_reminders_send(today=statement.due_date - dt.timedelta(days=1))
    assert Notification.objects.filter(kind="payment_due").count() == 1  # once, not every day after


def test_an_autopay_notice_whose_day_was_missed_goes_out_on_the_next_run_once(charge_card):
    spend(charge_card, "300.00")
    account = CardAccount.objects.get(pk=charge_card.card.account_id)
    user = charge_card.card.holder.user
    method = bank_account(user)
    statement = StatementFactory(account=account, closing_balance=D("250.00"), minimum_due=D("35.00"))
    payments.autopay_set(actor=user, account=account, method=method, amount_kind="minimum")
    alert_rules.payment_reminders_send(today=statement.due_date - dt.timedelta(days=2))
    assert Notification.objects.filter(kind="autopay_upcoming").count() == 1, "autopay notice skipped for good"
    alert_rules.payment_reminders_send(today=statement.due_date)
    assert Notification.objects.filter(kind="autopay_upcoming").count() == 1


def test_one_failing_account_does_not_stop_the_autopay_run_for_the_others(charge_card, monkeypatch):
    from tests.factories import UserFactory, issue_card, open_account

    accounts = []
    for card in (charge_card, issue_card(account=open_account(holder=UserFactory().cardholder))):
        spend(card, "300.00")
        account = CardAccount.objects.get(pk=card.card.account_id)
        user = card.card.holder.user
        payments.autopay_set(actor=user, account=account, method=bank_account(user), amount_kind="minimum")
        accounts.append(StatementFactory(account=account, closing_balance=D("250.00"), minimum_due=D("35.00")))
    due = accounts[0].due_date
    real = payments.payment_schedule
    bad = min(s.account_id for s in accounts)

    def flaky(**kw):
        if kw["account"].pk == bad:
            raise RuntimeError("one account's failure (e.g. a DB error)")
        return real(**kw)

    monkeypatch.setattr(payments, "payment_schedule", flaky)
    monkeypatch.setattr(timezone, "localdate", lambda *a: due)
    assert payments.autopay_run_due(today=due) == 1
    assert not Payment.objects.filter(account_id=bad).exists()
    assert Payment.objects.filter(account_id=max(s.account_id for s in accounts)).exists(), (
        "the other account's autopay never ran"
    )
