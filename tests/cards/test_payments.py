"""Payment services: bank accounts, paying now and later, posting, cancelling, returns
and autopay. Balances move only through cards.ledger and are checked against it."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from cards import alert_rules, ledger, payment_selectors, payments
from cards.models import AlertPreference, Autopay, CardAccount, Payment, PaymentMethod, Transaction
from security.models import Notification, SecurityEvent
from tests.cards.payments_helpers import ROUTING, StatementFactory, bank_account, commits, key, spend
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date.today


@pytest.fixture
def owner(charge_card):
    return charge_card.card.holder.user


@pytest.fixture
def account(charge_card):
    spend(charge_card, "300.00")
    return CardAccount.objects.get(pk=charge_card.card.account_id)


@pytest.fixture
def method(owner):
    return bank_account(owner)


def schedule(account, method, amount="100.00", day=None, n=1, actor=None):
    with commits():
        return payments.payment_schedule(
            account=account,
            method=method,
            amount=Decimal(amount),
            scheduled_for=day or timezone.localdate(),
            idempotency_key=key(n),
            actor=actor or method.owner,
        )


def balance(account) -> Decimal:
    return CardAccount.objects.get(pk=account.pk).posted_balance


# --- Bank accounts -----------------------------------------------------------------------


@pytest.mark.parametrize("number", ["021000021", "011000015", "121000358", "322271627"])
def test_real_routing_numbers_pass_the_checksum(number):
    assert payments.routing_number_valid(number)


@pytest.mark.parametrize("number", ["021000022", "12345678", "0210000210", "abcdefghi", "991000021", ""])
def test_wrong_routing_numbers_are_refused(number):
    assert not payments.routing_number_valid(number)


def test_bank_account_keeps_last4_and_a_keyed_hash_never_the_number(owner, settings):
    method = bank_account(owner, number="000123456789")
    assert method.account_last4 == "6789"
    assert "000123456789" not in str(PaymentMethod.objects.filter(pk=method.pk).values().get())
    first = method.account_hash
    settings.CARD_PAN_HASH_KEY = "another-key"
    assert payments.bank_account_hash(routing_number=ROUTING, account_number="000123456789") != first


def test_adding_a_bank_account_is_audited_and_the_owner_told(owner):
    bank_account(owner)
    assert SecurityEvent.objects.filter(user=owner, kind=payments.EVENT_PAYMENT_ACCOUNT_ADDED).exists()
    assert "ending 6789" in mail.outbox[-1].body


def test_the_same_bank_account_twice_is_refused(owner):
    bank_account(owner)
    with pytest.raises(payments.PaymentError, match="already on your list"):
        bank_account(owner, nickname="Again")


@pytest.mark.parametrize(
    ("routing", "number", "field"),
    [
        ("021000022", "000123456789", "routing_number"),
        (ROUTING, "12", "account_number"),
        (ROUTING, "12ab5", "account_number"),
    ],
)
def test_invalid_bank_details_are_refused_with_the_field(owner, routing, number, field):
    with pytest.raises(payments.PaymentError) as refused:
        payments.payment_method_add(user=owner, nickname="", routing_number=routing, account_number=number)
    assert refused.value.field == field


def test_a_bank_account_used_by_a_scheduled_payment_cannot_be_removed(account, method):
    schedule(account, method, day=timezone.localdate() + dt.timedelta(days=5))
    with pytest.raises(payments.PaymentError, match="scheduled payment"):
        payments.payment_method_remove(user=method.owner, method=method)


def test_a_bank_account_used_by_autopay_cannot_be_removed(account, method):
    payments.autopay_set(actor=method.owner, account=account, method=method, amount_kind="minimum")
    with pytest.raises(payments.PaymentError, match="Autopay"):
        payments.payment_method_remove(user=method.owner, method=method)


def test_an_unused_bank_account_is_removed_and_hidden(method):
    payments.payment_method_remove(user=method.owner, method=method)
    assert not payment_selectors.payment_methods_for_user(user=method.owner).exists()
    assert PaymentMethod.objects.get(pk=method.pk).removed_at is not None


def test_someone_elses_bank_account_cannot_be_removed(method):
    with pytest.raises(Http404):
        payments.payment_method_remove(user=UserFactory(), method=method)


# --- Amounts and dates -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0", "more than $0.00"),
        ("0.00", "more than $0.00"),
        ("-5", "can't be negative"),
        ("12.345", "2 decimal places"),
        ("abc", "dollars and cents"),
        ("", "Enter the amount"),
        ("NaN", "dollars and cents"),
        ("1e400", "more than your balance"),
    ],
)
def test_amounts_are_refused_with_a_clear_message(raw, message):
    with pytest.raises(payments.PaymentError, match=re.escape(message)):
        payments.amount_parse(raw)


def test_amounts_are_read_as_people_type_them():
    assert payments.amount_parse("$1,250.5") == Decimal("1250.50")


def test_a_payment_over_the_balance_is_refused(account, method):
    with pytest.raises(payments.PaymentError, match=r"You can pay up to \$300.00"):
        schedule(account, method, amount="300.01")


def test_payments_already_scheduled_count_against_the_balance(account, method):
    schedule(account, method, amount="250.00", day=timezone.localdate() + dt.timedelta(days=3))
    with pytest.raises(payments.PaymentError, match=r"up to \$50.00.*\$250.00 is already scheduled"):
        schedule(account, method, amount="60.00", n=2)


def test_nothing_to_pay_on_a_zero_balance(charge_card):
    method = bank_account(charge_card.card.holder.user)
    with pytest.raises(payments.PaymentError, match="nothing to pay"):
        schedule(charge_card.card.account, method, amount="1.00")


def test_a_date_in_the_past_is_refused(account, method):
    with pytest.raises(payments.PaymentError, match="can't be in the past"):
        schedule(account, method, day=timezone.localdate() - dt.timedelta(days=1))


def test_a_date_over_a_year_ahead_is_refused(account, method):
    with pytest.raises(payments.PaymentError, match="up to a year ahead"):
        schedule(account, method, day=timezone.localdate() + dt.timedelta(days=366))


def test_a_date_after_the_due_date_is_warned_not_refused(account, method):
    statement = StatementFactory(account=account, closing_balance=Decimal("300.00"))
    late = statement.due_date + dt.timedelta(days=2)
    assert "after your payment due date" in payments.date_warning(account=account, day=late)
    assert payments.date_warning(account=account, day=statement.due_date) == ""
    assert schedule(account, method, day=late)[1] is True


def test_another_users_bank_account_cannot_pay(account, method):
    stranger_method = bank_account(UserFactory(), number="99887766")
    with pytest.raises(payments.PaymentError, match="Choose one of your bank accounts"):
        schedule(account, stranger_method, actor=method.owner)


def test_a_stranger_cannot_pay_someone_elses_account(account):
    stranger = UserFactory()
    with pytest.raises(Http404):
        schedule(account, bank_account(stranger), actor=stranger)


# --- What the form may offer -------------------------------------------------------------


def test_without_a_statement_only_the_current_balance_is_offered(account):
    options = payment_selectors.payment_options(account=account)
    assert (options.current_balance, options.statement_balance, options.minimum_due, options.due_date) == (
        Decimal("300.00"),
        None,
        None,
        None,
    )


def test_statement_figures_take_off_payments_since_it_closed(account, method):
    StatementFactory(account=account, closing_balance=Decimal("250.00"), minimum_due=Decimal("40.00"))
    schedule(account, method, amount="30.00")
    account.refresh_from_db()
    options = payment_selectors.payment_options(account=account)
    assert (options.statement_balance, options.minimum_due) == (Decimal("220.00"), Decimal("10.00"))
    assert options.current_balance == Decimal("270.00")


# --- Exactly once, posting and cancelling ------------------------------------------------


def test_the_same_key_twice_makes_one_payment(account, method):
    first, created = schedule(account, method, amount="50.00")
    again, created_again = schedule(account, method, amount="50.00")
    assert (created, created_again, first.pk) == (True, False, again.pk)
    assert Payment.objects.count() == 1
    assert balance(account) == Decimal("250.00")


def test_pay_now_posts_after_commit_and_the_balance_drops(account, method, charge_card):
    payment, _ = schedule(account, method, amount="120.00")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.POSTED
    assert payment.transaction.kind == Transaction.Kind.PAYMENT
    assert payment.transaction.amount == Decimal("-120.00")
    assert balance(account) == Decimal("180.00")
    assert ledger.ledger_verify(account_ids=[account.pk])[1] == []


def test_payment_received_alert_goes_out_by_default(account, method):
    schedule(account, method, amount="120.00")
    received = Notification.objects.get(kind="payment_received")
    assert received.channel == "email" and "$120.00" in received.body and "ending 6789" in received.body


def test_available_credit_returns_when_a_payment_posts(credit_card):
    spend(credit_card, "400.00")
    account = CardAccount.objects.get(pk=credit_card.card.account_id)
    assert payment_selectors.payment_options(account=account).current_balance == Decimal("400.00")
    schedule(account, bank_account(credit_card.card.holder.user), amount="150.00")
    account.refresh_from_db()
    from cards.selectors import account_available_credit

    assert account_available_credit(account=account) == Decimal("750.00")


def test_a_future_payment_waits_for_its_date_then_posts_once(account, method):
    later = timezone.localdate() + dt.timedelta(days=4)
    payment, _ = schedule(account, method, amount="75.00", day=later)
    assert payments.payments_post_due(today=later - dt.timedelta(days=1)) == 0
    assert payments.payments_post_due(today=later) == 1
    assert payments.payments_post_due(today=later) == 0
    payment.refresh_from_db()
    assert payment.status == Payment.Status.POSTED
    assert balance(account) == Decimal("225.00")


def test_a_scheduled_payment_is_cancelled_and_never_posts(account, method):
    later = timezone.localdate() + dt.timedelta(days=4)
    payment, _ = schedule(account, method, day=later)
    payments.payment_cancel(actor=method.owner, payment=payment)
    assert payments.payments_post_due(today=later) == 0
    payment.refresh_from_db()
    assert (payment.status, payment.cancelled_by) == (Payment.Status.CANCELLED, method.owner)
    assert balance(account) == Decimal("300.00")


def test_a_posted_payment_cannot_be_cancelled(account, method):
    payment, _ = schedule(account, method)
    with pytest.raises(payments.PaymentError, match="already been made"):
        payments.payment_cancel(actor=method.owner, payment=payment)


def test_a_stranger_cannot_cancel(account, method):
    payment, _ = schedule(account, method, day=timezone.localdate() + dt.timedelta(days=2))
    with pytest.raises(Http404):
        payments.payment_cancel(actor=UserFactory(), payment=payment)


def test_business_administrator_pays_the_program_account(business):
    spend(business["card"], "80.00")
    admin = business["admin"]
    account = CardAccount.objects.get(pk=business["account"].pk)
    payment, created = schedule(account, bank_account(admin), amount="80.00", actor=admin)
    assert created and balance(account) == Decimal("0.00")
    with pytest.raises(Http404):
        schedule(account, bank_account(business["employee"]), amount="1.00", actor=business["employee"], n=9)


# --- Returns -----------------------------------------------------------------------------


@pytest.fixture
def staff(db):
    return User.objects.create_superuser("payments.staff", password="staff-password-123")


def test_a_returned_payment_reverses_the_credit_and_tells_the_cardholder(account, method, staff):
    payment, _ = schedule(account, method, amount="100.00")
    payments.payment_return(staff=staff, payment=payment, reason="R01", note="NSF from bank file")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.RETURNED
    assert payment.return_transaction.kind == Transaction.Kind.PAYMENT_RETURN
    assert payment.return_transaction.amount == Decimal("100.00")
    assert balance(account) == Decimal("300.00")
    told = Notification.objects.get(kind="payment_returned")
    assert "not enough funds" in told.body and "added $100.00 back" in told.body
    assert SecurityEvent.objects.filter(kind="staff_action", actor=staff, detail__action="payment_returned").exists()
    assert ledger.ledger_verify(account_ids=[account.pk])[1] == []


def test_returning_twice_changes_nothing_twice(account, method, staff):
    payment, _ = schedule(account, method, amount="100.00")
    payments.payment_return(staff=staff, payment=payment, reason="R02")
    payments.payment_return(staff=staff, payment=payment, reason="R02")
    assert Transaction.objects.filter(kind="payment_return").count() == 1


def test_only_a_received_payment_can_be_returned(account, method, staff):
    payment, _ = schedule(account, method, day=timezone.localdate() + dt.timedelta(days=3))
    with pytest.raises(payments.PaymentError, match="received"):
        payments.payment_return(staff=staff, payment=payment, reason="R01")


def test_a_cardholder_cannot_mark_a_payment_returned(account, method):
    payment, _ = schedule(account, method)
    with pytest.raises(PermissionDenied):
        payments.payment_return(staff=method.owner, payment=payment, reason="R01")


def test_payment_returned_email_cannot_be_turned_off(account, method, staff):
    AlertPreference.objects.create(user=method.owner, kind="payment_returned", email=False)
    payment, _ = schedule(account, method)
    payments.payment_return(staff=staff, payment=payment, reason="R01")
    assert Notification.objects.filter(kind="payment_returned", channel="email").count() == 1


# --- Autopay -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fixed", "expected"),
    [("minimum", None, "35.00"), ("statement_balance", None, "250.00"), ("fixed", "100.00", "100.00")],
)
def test_autopay_pays_its_amount_on_the_due_date_once(account, method, kind, fixed, expected):
    statement = StatementFactory(account=account, closing_balance=Decimal("250.00"), minimum_due=Decimal("35.00"))
    payments.autopay_set(
        actor=method.owner, account=account, method=method, amount_kind=kind, fixed_amount=fixed and Decimal(fixed)
    )
    assert payments.autopay_run_due(today=statement.due_date - dt.timedelta(days=1)) == 0
    with pytest.MonkeyPatch.context() as patch, commits():
        patch.setattr(timezone, "localdate", lambda *a: statement.due_date)
        assert payments.autopay_run_due(today=statement.due_date) == 1
        assert payments.autopay_run_due(today=statement.due_date) == 0
    payment = Payment.objects.get(kind="autopay")
    assert (payment.amount, payment.status, payment.idempotency_key) == (
        Decimal(expected),
        Payment.Status.POSTED,
        f"autopay-{statement.pk}",
    )


def test_autopay_pays_only_what_is_left_after_other_payments(account, method):
    statement = StatementFactory(account=account, closing_balance=Decimal("250.00"), minimum_due=Decimal("35.00"))
    schedule(account, method, amount="200.00")
    payments.autopay_set(actor=method.owner, account=account, method=method, amount_kind="statement_balance")
    autopay = Autopay.objects.get(account=account)
    assert payments.autopay_amount(autopay=autopay, statement=statement) == Decimal("50.00")
    payments.autopay_set(actor=method.owner, account=account, method=method, amount_kind="minimum")
    autopay.refresh_from_db()
    assert payments.autopay_amount(autopay=autopay, statement=statement) == Decimal("0.00")


def test_autopay_that_is_off_does_not_run(account, method):
    statement = StatementFactory(account=account)
    payments.autopay_set(actor=method.owner, account=account, method=method, amount_kind="minimum")
    payments.autopay_turn_off(actor=method.owner, account=account)
    assert payments.autopay_run_due(today=statement.due_date) == 0
    assert SecurityEvent.objects.filter(kind=payments.EVENT_AUTOPAY_CHANGED, detail__action="off").exists()


def test_autopay_fixed_needs_an_amount(account, method):
    with pytest.raises(payments.PaymentError, match="Enter the amount"):
        payments.autopay_set(actor=method.owner, account=account, method=method, amount_kind="fixed")


def test_autopay_cannot_use_someone_elses_bank_account(account, method):
    with pytest.raises(payments.PaymentError):
        payments.autopay_set(
            actor=method.owner,
            account=account,
            method=bank_account(UserFactory(), number="5555"),
            amount_kind="minimum",
        )


def test_autopay_reminder_goes_out_three_days_before_with_the_amount(account, method):
    statement = StatementFactory(account=account, closing_balance=Decimal("250.00"), minimum_due=Decimal("35.00"))
    payments.autopay_set(actor=method.owner, account=account, method=method, amount_kind="minimum")
    before = statement.due_date - dt.timedelta(days=alert_rules.AUTOPAY_REMINDER_DAYS)
    assert alert_rules.payment_reminders_send(today=before - dt.timedelta(days=1)) == 0
    assert alert_rules.payment_reminders_send(today=before) == 1
    assert alert_rules.payment_reminders_send(today=before) == 1  # the outbox key makes it one message
    reminder = Notification.objects.get(kind="autopay_upcoming")
    assert "$35.00" in reminder.body and "ending 6789" in reminder.body


def test_due_reminder_uses_the_chosen_days_and_stops_once_paid(account, method):
    statement = StatementFactory(account=account, closing_balance=Decimal("250.00"), minimum_due=Decimal("35.00"))
    AlertPreference.objects.create(user=method.owner, kind="payment_due", email=True, days_before=5)
    assert alert_rules.payment_reminders_send(today=statement.due_date - dt.timedelta(days=6)) == 0  # not yet
    assert alert_rules.payment_reminders_send(today=statement.due_date - dt.timedelta(days=5)) == 1
    assert "$35.00" in Notification.objects.get(kind="payment_due").body
    Notification.objects.all().delete()
    schedule(account, method, amount="35.00")
    assert alert_rules.payment_reminders_send(today=statement.due_date - dt.timedelta(days=5)) == 0


def test_staff_mark_a_payment_returned_in_the_admin(client, account, method, staff):
    from django.urls import reverse

    from tests.cards.payments_helpers import staff_console_login

    payment, _ = schedule(account, method, amount="100.00")
    staff_console_login(client, staff)
    change = client.get(reverse("admin:cards_payment_change", args=[payment.pk]))
    assert "Mark returned by the bank" in change.content.decode()
    url = reverse("admin:cards_payment_return", args=[payment.pk])
    assert client.get(url).status_code == 200
    with commits():
        done = client.post(url, {"reason": "R01", "note": "Returned in the ACH file"})
    assert done.status_code == 302
    payment.refresh_from_db()
    assert (payment.status, payment.return_reason, payment.returned_by) == ("returned", "R01", staff)
    assert balance(account) == Decimal("300.00")
    assert "was returned" in mail.outbox[-1].subject
