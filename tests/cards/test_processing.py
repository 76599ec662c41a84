import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from cards import processing, selectors
from cards.models import Card, CardAccount, ProcessorEvent, RewardEntry, Transaction
from cards.tasks import authorization_holds_expire
from tests.cards.conftest import event

pytestmark = pytest.mark.django_db


def handle(payload: dict) -> processing.Answer:
    return processing.processor_event_handle(event=processing.event_parse(payload))


def account_of(issued) -> CardAccount:
    return CardAccount.objects.get(pk=issued.card.account_id)


def set_status(issued, status: str) -> None:
    Card.objects.filter(pk=issued.card.pk).update(status=status)


# --- Authorization decisions -------------------------------------------------------------


def test_approval_holds_the_amount_and_lowers_available_credit(credit_card):
    answer = handle(event(card=credit_card, amount="250.00"))
    assert answer.body["approved"] is True
    account = account_of(credit_card)
    assert account.pending_total == Decimal("250.00")
    assert account.posted_balance == Decimal("0.00")
    assert selectors.account_available_credit(account=account) == Decimal("750.00")


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (Card.Status.FROZEN, "card_frozen"),
        (Card.Status.INACTIVE, "card_inactive"),
        (Card.Status.LOST_STOLEN, "card_lost_stolen"),
        (Card.Status.CLOSED, "card_closed"),
    ],
)
def test_card_status_declines_with_its_reason(credit_card, status, reason):
    set_status(credit_card, status)
    answer = handle(event(card=credit_card))
    assert answer.body["approved"] is False
    assert answer.body["reason_code"] == reason
    assert answer.body["reason"]
    txn = Transaction.objects.get()
    assert (txn.status, txn.decline_reason) == ("declined", reason)
    assert txn.get_decline_reason_display() == answer.body["reason"]
    assert account_of(credit_card).pending_total == Decimal("0.00")


def test_expired_card_declines(credit_card):
    last_month = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    Card.objects.filter(pk=credit_card.card.pk).update(expiry_month=last_month.month, expiry_year=last_month.year)
    assert handle(event(card=credit_card)).body["reason_code"] == "card_expired"


def test_card_valid_through_the_end_of_its_expiry_month(credit_card):
    today = timezone.localdate()
    Card.objects.filter(pk=credit_card.card.pk).update(expiry_month=today.month, expiry_year=today.year)
    assert handle(event(card=credit_card)).body["approved"] is True


def test_suspended_account_declines(credit_card):
    CardAccount.objects.filter(pk=credit_card.card.account_id).update(status=CardAccount.Status.SUSPENDED)
    assert handle(event(card=credit_card)).body["reason_code"] == "account_not_open"


def test_over_available_credit_declines_counting_posted_and_pending(credit_card):
    handle(event(card=credit_card, amount="600.00"))
    handle(event("clearing", card=credit_card, amount="300.00"))  # force-posted
    assert handle(event(card=credit_card, amount="100.01")).body["reason_code"] == "over_credit_limit"
    assert handle(event(card=credit_card, amount="100.00")).body["approved"] is True
    assert selectors.account_available_credit(account=account_of(credit_card)) == Decimal("0.00")


def test_charge_card_has_no_preset_spending_limit(charge_card):
    assert handle(event(card=charge_card, amount="25000.00")).body["approved"] is True
    assert selectors.account_available_credit(account=account_of(charge_card)) is None
    assert selectors.account_balances(account=account_of(charge_card)).no_preset_spending_limit


def test_employee_monthly_limit_counts_this_months_pending_and_posted(business):
    card = business["card"]
    handle(event(card=card, amount="300.00"))
    handle(event("clearing", card=card, amount="150.00"))
    last_month = timezone.localtime().replace(day=1) - dt.timedelta(days=2)
    handle(event(card=card, amount="400.00", transacted_at=last_month.isoformat()))  # declined: 450 + 400
    answer = handle(event(card=card, amount="50.01"))
    assert answer.body["reason_code"] == "over_monthly_limit"
    assert handle(event(card=card, amount="50.00")).body["approved"] is True
    assert selectors.card_spend_this_month(card=card.card) == Decimal("500.00")


def test_spend_this_month_ignores_earlier_months_declines_and_released_holds(business):
    card = business["card"]
    long_ago = (timezone.localtime().replace(day=1) - dt.timedelta(days=40)).isoformat()
    Card.objects.filter(pk=card.card.pk).update(monthly_limit=None)
    handle(event(card=card, amount="100.00", transacted_at=long_ago))
    handle(event(card=card, amount="70.00", network_id="held"))
    handle(event("reversal", card=card, network_id="held"))
    handle(event(card=card, amount="20.00"))
    Card.objects.filter(pk=card.card.pk).update(status=Card.Status.FROZEN)
    handle(event(card=card, amount="5.00"))
    assert selectors.card_spend_this_month(card=card.card) == Decimal("20.00")


def test_blocked_category_declines(business):
    card = business["card"]
    Card.objects.filter(pk=card.card.pk).update(blocked_categories=["dining", "entertainment"])
    assert handle(event(card=card)).body["reason_code"] == "blocked_category"
    grocery = {"name": "Grocer", "mcc": "5411"}
    assert handle(event(card=card, merchant=grocery)).body["approved"] is True


def test_the_same_authorization_under_a_new_event_id_gets_the_same_decision(credit_card):
    first = handle(event(card=credit_card, amount="40.00", network_id="net-same"))
    again = handle(event(card=credit_card, amount="40.00", network_id="net-same"))
    assert again.body["approved"] is True
    assert again.body["transaction_id"] == first.body["transaction_id"]
    assert account_of(credit_card).pending_total == Decimal("40.00")


def test_network_id_of_another_card_is_a_conflict(credit_card, charge_card):
    handle(event(card=credit_card, network_id="net-x"))
    with pytest.raises(processing.EventError) as refused:
        handle(event(card=charge_card, network_id="net-x"))
    assert refused.value.status == 409


def test_amount_in_another_currency_is_refused(credit_card):
    with pytest.raises(processing.EventError) as refused:
        handle(event(card=credit_card, currency="EUR"))
    assert refused.value.code == "currency_mismatch"
    assert not Transaction.objects.exists() and not ProcessorEvent.objects.exists()


def test_foreign_purchase_keeps_the_original_amount_and_currency(credit_card):
    handle(
        event(
            card=credit_card,
            amount="54.32",
            original_amount="50.00",
            original_currency="EUR",
            merchant={"name": "Café de Flore", "mcc": "5812", "city": "Paris", "country": "FR"},
        )
    )
    txn = Transaction.objects.get()
    assert (txn.amount, txn.original_amount, txn.original_currency) == (Decimal("54.32"), Decimal("50.00"), "EUR")
    assert (txn.merchant_country, txn.category) == ("FR", "dining")


# --- Clearing, reversal, refund -------------------------------------------------------------


def test_clearing_posts_the_hold_at_the_final_amount(charge_card):
    handle(event(card=charge_card, amount="50.00", network_id="dinner"))
    answer = handle(event("clearing", card=charge_card, amount="59.00", network_id="dinner"))
    assert answer.body["result"] == "posted" and answer.body["authorized_amount"] == "50.00"
    txn = Transaction.objects.get()
    assert (txn.status, txn.amount) == ("posted", Decimal("59.00"))
    assert txn.posted_at is not None
    account = account_of(charge_card)
    assert (account.posted_balance, account.pending_total) == (Decimal("59.00"), Decimal("0.00"))
    assert [e.status for e in selectors.transaction_status_history(transaction=txn)] == ["pending", "posted"]
    assert "authorized $50.00" in txn.events.last().detail


def test_clearing_twice_posts_once(charge_card):
    handle(event(card=charge_card, amount="50.00", network_id="n"))
    handle(event("clearing", card=charge_card, amount="50.00", network_id="n"))
    answer = handle(event("clearing", card=charge_card, amount="50.00", network_id="n"))
    assert answer.body["result"] == "already_posted"
    assert account_of(charge_card).posted_balance == Decimal("50.00")
    assert RewardEntry.objects.count() == 1


def test_clearing_without_authorization_is_force_posted(charge_card):
    answer = handle(event("clearing", card=charge_card, amount="12.00"))
    assert answer.body["forced"] is True
    txn = Transaction.objects.get()
    assert (txn.status, txn.kind) == ("posted", "purchase")
    assert txn.events.get().detail == "Posted (no prior authorization)"


def test_clearing_for_an_unknown_card_is_refused_and_not_stored(charge_card):
    with pytest.raises(processing.EventError) as refused:
        handle(event("clearing", card_number="379764000000001"))
    assert refused.value.status == 422
    assert not ProcessorEvent.objects.exists()


def test_clearing_of_a_declined_authorization_is_refused(credit_card):
    handle(event(card=credit_card, amount="5000.00", network_id="big"))
    with pytest.raises(processing.EventError) as refused:
        handle(event("clearing", card=credit_card, amount="5000.00", network_id="big"))
    assert refused.value.code == "authorization_declined"


def test_clearing_naming_another_card_is_refused(credit_card, charge_card):
    handle(event(card=credit_card, network_id="n"))
    with pytest.raises(processing.EventError) as refused:
        handle(event("clearing", card=charge_card, network_id="n"))
    assert refused.value.code == "card_mismatch"


def test_pending_charges_on_a_card_reported_lost_still_clear(credit_card):
    from cards import services

    handle(event(card=credit_card, amount="80.00", network_id="before-loss"))
    services.card_report_lost_stolen(actor=credit_card.card.holder.user, card=credit_card.card)
    assert handle(event(card=credit_card)).body["reason_code"] == "card_lost_stolen"
    answer = handle(event("clearing", card=credit_card, amount="80.00", network_id="before-loss"))
    assert answer.body["result"] == "posted"
    assert account_of(credit_card).posted_balance == Decimal("80.00")


def test_reversal_releases_the_hold(credit_card):
    handle(event(card=credit_card, amount="90.00", network_id="hotel"))
    answer = handle(event("reversal", network_id="hotel"))
    assert answer.body["result"] == "reversed"
    txn = Transaction.objects.get()
    assert txn.status == "reversed"
    assert account_of(credit_card).pending_total == Decimal("0.00")
    assert handle(event("reversal", network_id="hotel")).body["result"] == "already_reversed"
    assert account_of(credit_card).pending_total == Decimal("0.00")


def test_partial_reversal_reduces_the_hold(credit_card):
    handle(event(card=credit_card, amount="90.00", network_id="fuel"))
    answer = handle(event("reversal", network_id="fuel", amount="60.00"))
    assert answer.body["result"] == "partially_reversed"
    txn = Transaction.objects.get()
    assert (txn.status, txn.amount) == ("pending", Decimal("30.00"))
    assert account_of(credit_card).pending_total == Decimal("30.00")


def test_reversal_of_unknown_or_posted_transactions_is_refused(credit_card):
    with pytest.raises(processing.EventError) as unknown:
        handle(event("reversal", network_id="never-seen"))
    assert unknown.value.status == 422
    handle(event("clearing", card=credit_card, network_id="posted"))
    with pytest.raises(processing.EventError) as posted:
        handle(event("reversal", network_id="posted"))
    assert posted.value.code == "not_pending"
    with pytest.raises(processing.EventError) as too_large:
        handle(event(card=credit_card, amount="10.00", network_id="small"))
        handle(event("reversal", network_id="small", amount="10.01"))
    assert too_large.value.code == "reversal_too_large"


def test_refund_is_a_posted_credit(credit_card):
    handle(event("clearing", card=credit_card, amount="100.00", network_id="shoes"))
    answer = handle(event("refund", card=credit_card, amount="40.00", original_network_id="shoes"))
    assert answer.body["result"] == "posted"
    refund = Transaction.objects.get(kind="refund")
    assert (refund.status, refund.amount) == ("posted", Decimal("-40.00"))
    assert account_of(credit_card).posted_balance == Decimal("60.00")
    assert selectors.account_available_credit(account=account_of(credit_card)) == Decimal("940.00")


def test_refund_with_a_reused_network_id_posts_once(credit_card):
    handle(event("refund", card=credit_card, amount="10.00", network_id="r-1"))
    again = handle(event("refund", card=credit_card, amount="10.00", network_id="r-1"))
    assert again.body["result"] == "already_posted"
    assert account_of(credit_card).posted_balance == Decimal("-10.00")


# --- Rewards --------------------------------------------------------------------------------


def test_points_are_earned_on_posting_at_the_category_rate_rounded_down(charge_card):
    handle(event(card=charge_card, amount="10.55", network_id="lunch"))
    assert not RewardEntry.objects.exists()  # pending earns nothing
    handle(event("clearing", card=charge_card, amount="10.55", network_id="lunch"))
    entry = RewardEntry.objects.get()
    assert (entry.kind, entry.unit, entry.quantity) == ("earn", "points", Decimal("31.00"))  # floor(31.65)
    assert entry.description == "3X points on Dining"


def test_points_at_the_base_rate_for_other_categories(charge_card):
    handle(event("clearing", card=charge_card, amount="99.99", merchant={"name": "Shell", "mcc": "5541"}))
    assert RewardEntry.objects.get().quantity == Decimal("99.00")


def test_cash_back_is_quantized_to_the_cent(credit_card):
    handle(event("clearing", card=credit_card, amount="33.35", merchant={"name": "Grocer", "mcc": "5411"}))
    entry = RewardEntry.objects.get()
    assert (entry.unit, entry.quantity) == ("cash", Decimal("1.00"))  # 3% of 33.35 = 1.0005
    handle(event("clearing", card=credit_card, amount="12.50", merchant={"name": "Shell", "mcc": "5541"}))
    assert RewardEntry.objects.latest("pk").quantity == Decimal("0.12")  # 1% of 12.50, half to even


def test_refund_takes_back_the_refunded_share_of_the_rewards(charge_card):
    handle(event("clearing", card=charge_card, amount="100.00", network_id="dinner"))
    handle(event("refund", card=charge_card, amount="50.00", original_network_id="dinner"))
    adjustment = RewardEntry.objects.get(kind="adjust")
    assert adjustment.quantity == Decimal("-150.00")
    assert "refund" in adjustment.description


def test_declined_and_reversed_purchases_earn_nothing(credit_card):
    handle(event(card=credit_card, amount="5000.00"))
    handle(event(card=credit_card, amount="10.00", network_id="gone"))
    handle(event("reversal", network_id="gone"))
    assert not RewardEntry.objects.exists()


# --- Alerts hook ------------------------------------------------------------------------------


def test_every_transaction_change_goes_through_the_alert_hook(charge_card):
    with mock.patch("cards.ledger.transaction_alerts_dispatch") as dispatch:
        handle(event(card=charge_card, amount="20.00", network_id="a"))
        handle(event("clearing", card=charge_card, amount="20.00", network_id="a"))
        handle(event("refund", card=charge_card, amount="5.00"))
        set_status(charge_card, Card.Status.FROZEN)
        handle(event(card=charge_card))
    statuses = [(call.args[0].network_id, call.args[0].status) for call in dispatch.call_args_list]
    assert statuses[:2] == [("a", "pending"), ("a", "posted")]
    assert [status for _, status in statuses[2:]] == ["posted", "declined"]


def test_no_alert_is_sent_without_a_rule(charge_card):
    from security.models import Notification

    handle(event(card=charge_card))
    assert not Notification.objects.exists()


def test_a_rule_queues_an_alert_once_per_change(charge_card, monkeypatch):
    from cards import alerts
    from security.models import Notification

    def declines(txn):
        if txn.status == "declined":
            yield alerts.Alert(channel="email", to="holder@example.com", kind="declined", body=f"{txn.merchant_name}")

    monkeypatch.setattr(alerts, "RULES", [declines])
    set_status(charge_card, Card.Status.FROZEN)
    handle(event(card=charge_card, network_id="d-1"))
    handle(event(card=charge_card, network_id="d-1"))  # the same authorization again
    handle(event(card=charge_card, network_id="d-2"))
    assert Notification.objects.filter(kind="declined").count() == 2


# --- Stale holds --------------------------------------------------------------------------------


def test_holds_older_than_seven_days_are_released(credit_card):
    old = (timezone.now() - dt.timedelta(days=7, minutes=1)).isoformat()
    recent = (timezone.now() - dt.timedelta(days=6, hours=23)).isoformat()
    handle(event(card=credit_card, amount="70.00", network_id="stale", transacted_at=old))
    handle(event(card=credit_card, amount="30.00", network_id="fresh", transacted_at=recent))
    assert authorization_holds_expire.delay().get() == 1
    assert authorization_holds_expire.delay().get() == 0  # idempotent
    stale = Transaction.objects.get(network_id="stale")
    assert stale.status == "reversed"
    assert "7 days" in stale.events.last().detail
    assert Transaction.objects.get(network_id="fresh").status == "pending"
    assert account_of(credit_card).pending_total == Decimal("30.00")


def test_a_late_clearing_after_the_hold_expired_still_posts(credit_card):
    old = (timezone.now() - dt.timedelta(days=9)).isoformat()
    handle(event(card=credit_card, amount="70.00", network_id="late", transacted_at=old))
    processing.holds_expire()
    answer = handle(event("clearing", card=credit_card, amount="70.00", network_id="late"))
    assert answer.body["result"] == "posted"
    account = account_of(credit_card)
    assert (account.posted_balance, account.pending_total) == (Decimal("70.00"), Decimal("0.00"))
    assert [e.status for e in Transaction.objects.get().events.all()] == ["pending", "reversed", "posted"]


def test_holds_expire_in_batches(credit_card):
    old = (timezone.now() - dt.timedelta(days=8)).isoformat()
    for n in range(5):
        handle(event(card=credit_card, amount="1.00", network_id=f"b-{n}", transacted_at=old))
    assert processing.holds_expire(batch_size=2) == 5
    assert not Transaction.objects.filter(status="pending").exists()


# --- Cost -------------------------------------------------------------------------------------


def _queries_for_one_authorization(issued) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert handle(event(card=issued, amount="1.00")).body["approved"] is True
    return len(captured)


def test_an_authorization_costs_the_same_queries_however_long_the_history(business):
    card = business["card"]
    Card.objects.filter(pk=card.card.pk).update(monthly_limit=Decimal("100000.00"))
    first = _queries_for_one_authorization(card)
    for n in range(60):
        handle(event("clearing", card=card, amount="2.00", network_id=f"history-{n}"))
    assert _queries_for_one_authorization(card) == first
    # find card, lock account, re-read card, network id, month spend, writes, savepoints, alert choices
    assert first == 13
