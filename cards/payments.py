"""Writes for payments: payment accounts (bank accounts), one-time and scheduled
payments, posting them, returns, and autopay.

Money moves only through ``cards.ledger``: a payment posts as a ``payment`` transaction
(negative: the balance drops and available credit returns), a returned payment as a
``payment_return`` (positive: the credit is taken back). Each happens under the
account's row lock, with the payment row locked after it (the one lock order used
here, so posting, cancelling and returning never deadlock), and each is a no-op when
already done, so a task may run twice.

A payment is created exactly once: the form carries a random idempotency key, the
service returns the existing payment for a key it has seen, and ``Payment`` has a
unique constraint on the key for two requests that race past the first check.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404, HttpRequest
from django.utils import timezone

from accounts.models import User
from portal.digits import is_digits
from portal.money import format_money, quantize
from security.models import SecurityEvent
from security.services import security_event_record

from . import cardnumbers, ledger
from .models import Autopay, CardAccount, Payment, PaymentMethod, Transaction
from .payment_selectors import (
    account_payable_by,
    latest_statement,
    paid_since,
    payment_method_in_use,
    payment_options,
    scheduled_total,
)

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("999999999.99")
MAX_DAYS_AHEAD = 365
# Autopay runs this many days after a missed due date at most (a beat outage), never later.
AUTOPAY_CATCH_UP_DAYS = 3

# Security events for payment settings. The kinds are plain strings until
# security.models.SecurityEvent.Kind lists them (see the report to the lead).
EVENT_PAYMENT_ACCOUNT_ADDED = getattr(SecurityEvent.Kind, "PAYMENT_ACCOUNT_ADDED", "payment_account_added")
EVENT_PAYMENT_ACCOUNT_REMOVED = getattr(SecurityEvent.Kind, "PAYMENT_ACCOUNT_REMOVED", "payment_account_removed")
EVENT_AUTOPAY_CHANGED = getattr(SecurityEvent.Kind, "AUTOPAY_CHANGED", "autopay_changed")


class PaymentError(Exception):
    """A rule was broken; the message is fit to show a person. ``field`` names the form
    field it belongs to, when there is one."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


class ReturnReason:
    """Why the bank sent a payment back (the common ACH return codes)."""

    CHOICES = [
        ("R01", "Insufficient funds (R01)"),
        ("R02", "Bank account closed (R02)"),
        ("R03", "No account or unable to locate account (R03)"),
        ("R04", "Invalid account number (R04)"),
        ("R08", "Payment stopped (R08)"),
        ("R10", "Account holder says the payment was not authorized (R10)"),
        ("R16", "Bank account frozen (R16)"),
        ("other", "Other"),
    ]
    # What the cardholder reads.
    PLAIN = {
        "R01": "there were not enough funds in the bank account",
        "R02": "the bank account is closed",
        "R03": "the bank could not find the account",
        "R04": "the account number is not valid",
        "R08": "the payment was stopped at the bank",
        "R10": "the bank account holder said the payment was not authorized",
        "R16": "the bank account is frozen",
        "other": "the bank returned it",
    }


# --- Bank account numbers ----------------------------------------------------------------

_ROUTING_WEIGHTS = (3, 7, 1, 3, 7, 1, 3, 7, 1)


def routing_number_valid(number: str) -> bool:
    """An ABA routing number: 9 digits, a Federal Reserve prefix (00-12, 21-32, 61-72,
    80) and the checksum 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10)."""
    if len(number) != 9 or not is_digits(number):
        return False
    prefix = int(number[:2])
    if not (prefix <= 12 or 21 <= prefix <= 32 or 61 <= prefix <= 72 or prefix == 80):
        return False
    return sum(int(d) * w for d, w in zip(number, _ROUTING_WEIGHTS, strict=True)) % 10 == 0


def bank_account_hash(*, routing_number: str, account_number: str, key_version: int | None = None) -> str:
    """A keyed hash of the bank account (HMAC-SHA256 under CARD_PAN_HASH_KEY with its own
    domain prefix, so it can never equal a card number's hash): finds a duplicate
    without keeping the number. ``key_version`` picks an accepted old key (rotation)."""
    message = f"bank-account-v1:{routing_number}:{account_number}".encode()
    return hmac.new(cardnumbers.pan_hash_keyring().key(key_version), message, hashlib.sha256).hexdigest()


def _bank_account_q(*, routing_number: str, account_number: str) -> Q:
    """Matches the account hashed under any accepted key version (a rotation in progress)."""
    ring = cardnumbers.pan_hash_keyring()
    condition = Q()
    for version in ring.versions:
        digest = bank_account_hash(routing_number=routing_number, account_number=account_number, key_version=version)
        condition |= Q(account_hash=digest, account_key_version=version)
    return condition


def _notify_user(*, user: User, kind: str, subject: str, body: str, key: str) -> None:
    from security.models import Notification
    from security.services import notify

    if user.email:
        notify(
            channel=Notification.Channel.EMAIL,
            to=user.email,
            kind=kind,
            subject=subject,
            body=body,
            idempotency_key=key,
            user=user,
        )


@transaction.atomic
def payment_method_add(
    *, user: User, nickname: str, routing_number: str, account_number: str, request: HttpRequest | None = None
) -> PaymentMethod:
    """Add a bank account to pay from. The caller has stepped the user up (a code to a
    verified contact). Only the last 4 digits and a keyed hash are kept."""
    routing_number = "".join(routing_number.split())
    account_number = "".join(account_number.split())
    nickname = " ".join(nickname.split())[:40]
    if not routing_number_valid(routing_number):
        raise PaymentError(
            "Enter a valid 9-digit routing number. Check it on a check or with your bank.", field="routing_number"
        )
    if not (is_digits(account_number) and 4 <= len(account_number) <= 17):
        raise PaymentError("Enter the account number: 4 to 17 digits.", field="account_number")
    digest = bank_account_hash(routing_number=routing_number, account_number=account_number)
    if (
        PaymentMethod.objects.filter(owner=user, routing_number=routing_number, removed_at__isnull=True)
        .filter(_bank_account_q(routing_number=routing_number, account_number=account_number))
        .exists()
    ):
        raise PaymentError("This bank account is already on your list.", field="account_number")
    last4 = account_number[-4:]
    try:
        with transaction.atomic():
            method = PaymentMethod.objects.create(
                owner=user,
                nickname=nickname or f"Bank account {last4}",
                routing_number=routing_number,
                account_last4=last4,
                account_hash=digest,
                account_key_version=cardnumbers.pan_hash_keyring().current_version,
            )
    except IntegrityError:
        raise PaymentError("This bank account is already on your list.", field="account_number") from None
    security_event_record(
        kind=EVENT_PAYMENT_ACCOUNT_ADDED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=user,
        request=request,
        detail={"bank_account": f"•••• {last4}", "method": method.pk},
    )
    _notify_user(
        user=user,
        kind="payment_account_added",
        subject="A bank account was added for payments",
        body=(
            f"The bank account ending {last4} ({method.nickname}) was added to your online account for paying "
            f"your card.\n\nIf this wasn't you, call us right away on {settings.SUPPORT_PHONE}."
        ),
        key=f"payment-account-added-{method.pk}",
    )
    return method


@transaction.atomic
def payment_method_remove(*, user: User, method: PaymentMethod, request: HttpRequest | None = None) -> PaymentMethod:
    """Remove a bank account that no scheduled payment and no autopay uses. It stays in
    the database for the payments already made from it."""
    method = PaymentMethod.objects.select_for_update().filter(pk=method.pk, owner=user).first()
    if method is None:
        raise Http404("No payment account matches the given query.")
    if method.removed_at is not None:
        return method
    reason = payment_method_in_use(method=method)
    if reason:
        raise PaymentError(reason)
    method.removed_at = timezone.now()
    method.save(update_fields=["removed_at"])
    security_event_record(
        kind=EVENT_PAYMENT_ACCOUNT_REMOVED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=user,
        request=request,
        detail={"bank_account": f"•••• {method.account_last4}", "method": method.pk},
    )
    return method


# --- Amounts and dates -------------------------------------------------------------------


def amount_parse(raw: str | Decimal) -> Decimal:
    """A typed amount ("$1,250.50") as cents. Raises ``PaymentError`` for anything that
    is not a positive amount in dollars and cents."""
    text = str(raw).strip().replace(",", "").replace("$", "").replace(" ", "")
    if not text:
        raise PaymentError("Enter the amount you want to pay, like 125.50.", field="amount")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise PaymentError("Enter the amount in dollars and cents, like 125.50.", field="amount") from None
    if not value.is_finite():
        raise PaymentError("Enter the amount in dollars and cents, like 125.50.", field="amount")
    if value < 0:
        raise PaymentError(
            "The amount can't be negative. Enter the amount you want to pay, like 125.50.", field="amount"
        )
    if value == 0:
        raise PaymentError("Enter an amount more than $0.00.", field="amount")
    if value > MAX_AMOUNT:
        raise PaymentError("That amount is more than your balance. Check the amount.", field="amount")
    if value != value.quantize(Decimal("0.01")):
        raise PaymentError("Enter the amount in dollars and cents, with no more than 2 decimal places.", field="amount")
    return quantize(value)


def _check_amount(*, account: CardAccount, amount: Decimal) -> None:
    if amount <= 0:
        raise PaymentError("Enter an amount more than $0.00.", field="amount")
    current = quantize(account.posted_balance)
    scheduled = scheduled_total(account=account)
    allowed = current - scheduled
    if current <= 0:
        raise PaymentError(
            f"There is nothing to pay: your balance is {format_money(current, account.currency)}.", field="amount"
        )
    if allowed <= 0:
        raise PaymentError(
            f"Payments already scheduled ({format_money(scheduled, account.currency)}) cover your current balance "
            f"of {format_money(current, account.currency)}.",
            field="amount",
        )
    if amount > allowed:
        already = f" and {format_money(scheduled, account.currency)} is already scheduled" if scheduled > 0 else ""
        raise PaymentError(
            f"You can pay up to {format_money(allowed, account.currency)}. Your current balance is "
            f"{format_money(current, account.currency)}{already}.",
            field="amount",
        )


def check_date(day: dt.date, *, today: dt.date | None = None) -> None:
    today = today or timezone.localdate()
    if day < today:
        raise PaymentError(
            "The payment date can't be in the past. Choose today or a later date.", field="scheduled_for"
        )
    if day > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        raise PaymentError(
            "You can schedule a payment up to a year ahead. Choose an earlier date.", field="scheduled_for"
        )


def date_warning(*, account: CardAccount, day: dt.date) -> str:
    """A warning (not a refusal) for a date after the payment due date."""
    options = payment_options(account=account)
    if options.due_date is not None and day > options.due_date and (options.minimum_due or ZERO) > 0:
        return (
            f"This date is after your payment due date of {options.due_date:%B} {options.due_date.day}, "
            f"{options.due_date.year}. A payment made after the due date may mean a late fee"
            + (" and interest." if account.product.is_credit else ".")
        )
    return ""


# --- Payments ----------------------------------------------------------------------------


@transaction.atomic
def payment_schedule(
    *,
    account: CardAccount,
    method: PaymentMethod,
    amount: Decimal,
    scheduled_for: dt.date,
    idempotency_key: str,
    actor: User | None,
    kind: str = Payment.Kind.ONE_TIME,
) -> tuple[Payment, bool]:
    """Create a payment, once. Returns (payment, created): the same key again (a double
    click, a replayed POST, a second tab) returns the first payment unchanged.

    A payment dated today is posted straight after commit by the posting task; a
    later one by the beat task on its date. ``actor`` is None for autopay."""
    existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _same_submission(existing, account)
    # Under the account lock: two payments cannot both fit under the balance, and a
    # second request with this key waits here, then finds the first one's payment.
    account = ledger.account_lock(account.pk)
    existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _same_submission(existing, account)
    if actor is not None and not CardAccount.objects.filter(account_payable_by(actor), pk=account.pk).exists():
        raise Http404("No account matches the given query.")
    method = PaymentMethod.objects.select_for_update().filter(pk=method.pk, removed_at__isnull=True).first()
    if method is None or (actor is not None and method.owner_id != actor.pk):
        raise PaymentError("Choose one of your bank accounts.", field="method")
    amount = quantize(amount)
    _check_amount(account=account, amount=amount)
    check_date(scheduled_for)
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                account=account,
                method=method,
                created_by=actor,
                kind=kind,
                amount=amount,
                currency=account.currency,
                scheduled_for=scheduled_for,
                idempotency_key=idempotency_key,
            )
    except IntegrityError:
        # Only reachable when the key was inserted without the lock (another code
        # path): the constraint holds, and the first payment is the answer.
        return _same_submission(Payment.objects.get(idempotency_key=idempotency_key), account)
    if scheduled_for <= timezone.localdate():
        from .tasks import payment_post

        # robust: with the broker down the payment is still made (the request must not
        # fail after its commit); the hourly payments_post_due posts it.
        transaction.on_commit(lambda: payment_post.delay(payment.pk), robust=True)
    logger.info("payment %s scheduled for %s on account %s", payment.pk, scheduled_for, account.pk)
    return payment, True


def _same_submission(payment: Payment, account: CardAccount) -> tuple[Payment, bool]:
    if payment.account_id != account.pk:
        raise PaymentError("This payment form was already used. Start again to make another payment.")
    return payment, False


def _locked_payment(payment_id: int) -> tuple[CardAccount, Payment] | None:
    account_id = Payment.objects.filter(pk=payment_id).values_list("account_id", flat=True).first()
    if account_id is None:
        return None
    account = ledger.account_lock(account_id)
    payment = Payment.objects.select_for_update().select_related("method", "account__product").get(pk=payment_id)
    return account, payment


@transaction.atomic
def payment_cancel(*, actor: User, payment: Payment) -> Payment:
    """Cancel a payment that has not run yet."""
    if not CardAccount.objects.filter(account_payable_by(actor), pk=payment.account_id).exists():
        raise Http404("No payment matches the given query.")
    locked = _locked_payment(payment.pk)
    if locked is None:
        raise Http404("No payment matches the given query.")
    _account, payment = locked
    if payment.status == Payment.Status.CANCELLED:
        return payment
    if payment.status != Payment.Status.SCHEDULED:
        raise PaymentError("This payment has already been made, so it can't be cancelled.")
    payment.status = Payment.Status.CANCELLED
    payment.cancelled_at = timezone.now()
    payment.cancelled_by = actor
    payment.save(update_fields=["status", "cancelled_at", "cancelled_by"])
    return payment


@transaction.atomic
def payment_post(*, payment_id: int, today: dt.date | None = None) -> bool:
    """Post a scheduled payment whose date has come: the balance drops by its amount.
    Returns whether this call posted it (False: gone, cancelled, not due, or done)."""
    locked = _locked_payment(payment_id)
    if locked is None:
        return False
    account, payment = locked
    if payment.status != Payment.Status.SCHEDULED or payment.scheduled_for > (today or timezone.localdate()):
        return False
    now = timezone.now()
    txn = ledger.transaction_record(
        account=account,
        kind=Transaction.Kind.PAYMENT,
        status=Transaction.Status.POSTED,
        amount=-payment.amount,
        merchant_name="Payment received - thank you",
        network_id=f"payment-{payment.pk}",
        transacted_at=now,
        posted_at=now,
        detail=f"Payment from bank account ending {payment.method.account_last4}",
    )
    payment.status = Payment.Status.POSTED
    payment.transaction = txn
    payment.posted_at = now
    payment.save(update_fields=["status", "transaction", "posted_at"])
    from .alert_rules import payment_received_notify

    payment_received_notify(payment=payment)
    return True


def payments_post_due(*, today: dt.date | None = None, batch_size: int = 500) -> int:
    """Beat task body: post every scheduled payment dated today or earlier, each in its
    own transaction. Safe to run twice or concurrently."""
    today = today or timezone.localdate()
    posted, last_pk = 0, 0
    while True:
        due = list(
            Payment.objects.filter(status=Payment.Status.SCHEDULED, scheduled_for__lte=today, pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        for payment_id in due:
            try:
                posted += payment_post(payment_id=payment_id, today=today)
            except Exception:  # one bad payment must not hold up the others
                logger.exception("posting scheduled payment %s failed; the others go on", payment_id)
        if len(due) < batch_size:
            return posted
        last_pk = due[-1]


def _staff_agent(user: User) -> bool:
    return user.is_active and user.is_staff and user.has_perm("cards.change_payment")


@transaction.atomic
def payment_return(
    *, staff: User, payment: Payment, reason: str, note: str = "", request: HttpRequest | None = None
) -> Payment:
    """The bank sent a posted payment back: take the credit back with a
    ``payment_return`` transaction, record why, and tell the cardholder."""
    from django.core.exceptions import PermissionDenied

    if not _staff_agent(staff):
        raise PermissionDenied("Only staff can mark a payment returned.")
    if reason not in ReturnReason.PLAIN:
        raise PaymentError("Choose why the bank returned the payment.", field="reason")
    locked = _locked_payment(payment.pk)
    if locked is None:
        raise Http404("No payment matches the given query.")
    account, payment = locked
    if payment.status == Payment.Status.RETURNED:
        return payment
    if payment.status != Payment.Status.POSTED:
        raise PaymentError("Only a payment that has been received can be returned.")
    now = timezone.now()
    txn = ledger.transaction_record(
        account=account,
        kind=Transaction.Kind.PAYMENT_RETURN,
        status=Transaction.Status.POSTED,
        amount=payment.amount,
        merchant_name="Returned payment",
        network_id=f"payment-{payment.pk}-return",
        transacted_at=now,
        posted_at=now,
        detail=f"Payment returned by the bank ({reason})",
    )
    payment.status = Payment.Status.RETURNED
    payment.return_transaction = txn
    payment.return_reason = reason
    payment.return_note = " ".join(note.split())[:200]
    payment.returned_at = now
    payment.returned_by = staff
    payment.save(
        update_fields=["status", "return_transaction", "return_reason", "return_note", "returned_at", "returned_by"]
    )
    security_event_record(
        kind=SecurityEvent.Kind.STAFF_ACTION,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=payment.created_by,
        actor=staff,
        request=request,
        detail={"action": "payment_returned", "payment": payment.pk, "reason": reason, "note": payment.return_note},
    )
    from .alert_rules import payment_returned_notify

    payment_returned_notify(payment=payment)
    return payment


# --- Autopay -----------------------------------------------------------------------------


@transaction.atomic
def autopay_set(
    *,
    actor: User,
    account: CardAccount,
    method: PaymentMethod,
    amount_kind: str,
    fixed_amount: Decimal | None = None,
    request: HttpRequest | None = None,
) -> Autopay:
    """Turn autopay on (or change it). The caller has stepped the user up."""
    if not CardAccount.objects.filter(account_payable_by(actor), pk=account.pk).exists():
        raise Http404("No account matches the given query.")
    if amount_kind not in Autopay.AmountKind.values:
        raise PaymentError("Choose how much autopay pays.", field="amount_kind")
    if amount_kind == Autopay.AmountKind.FIXED:
        if fixed_amount is None:
            raise PaymentError("Enter the amount autopay pays each month, like 200.00.", field="fixed_amount")
        fixed_amount = amount_parse(fixed_amount)
    else:
        fixed_amount = None
    method = (
        PaymentMethod.objects.select_for_update().filter(pk=method.pk, owner=actor, removed_at__isnull=True).first()
    )
    if method is None:
        raise PaymentError("Choose one of your bank accounts.", field="method")
    ledger.account_lock(account.pk)
    previous = Autopay.objects.filter(account=account).first()
    autopay, _ = Autopay.objects.update_or_create(
        account=account,
        defaults={
            "method": method,
            "amount_kind": amount_kind,
            "fixed_amount": fixed_amount,
            "enabled": True,
            "updated_at": timezone.now(),
        },
    )
    describe = autopay_describe(autopay)
    security_event_record(
        kind=EVENT_AUTOPAY_CHANGED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=actor,
        request=request,
        detail={
            "account": account.reference,
            "action": "changed" if previous is not None and previous.enabled else "on",
            "amount": describe,
            "bank_account": f"•••• {method.account_last4}",
        },
    )
    _notify_user(
        user=actor,
        kind="autopay_changed",
        subject="Autopay is on",
        body=(
            f"Autopay for your {account.product.name} account will pay {describe} from the bank account ending "
            f"{method.account_last4} on each payment due date.\n\n"
            f"If this wasn't you, call us right away on {settings.SUPPORT_PHONE}."
        ),
        key=f"autopay-on-{autopay.pk}-{int(autopay.updated_at.timestamp() * 1000)}",
    )
    return autopay


@transaction.atomic
def autopay_turn_off(*, actor: User, account: CardAccount, request: HttpRequest | None = None) -> Autopay | None:
    if not CardAccount.objects.filter(account_payable_by(actor), pk=account.pk).exists():
        raise Http404("No account matches the given query.")
    ledger.account_lock(account.pk)
    autopay = Autopay.objects.filter(account=account).first()
    if autopay is None or not autopay.enabled:
        return autopay
    autopay.enabled = False
    autopay.updated_at = timezone.now()
    autopay.save(update_fields=["enabled", "updated_at"])
    security_event_record(
        kind=EVENT_AUTOPAY_CHANGED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=actor,
        request=request,
        detail={"account": account.reference, "action": "off"},
    )
    _notify_user(
        user=actor,
        kind="autopay_changed",
        subject="Autopay is off",
        body=(
            f"Autopay for your {account.product.name} account is off. Remember to pay by each due date.\n\n"
            f"If this wasn't you, call us right away on {settings.SUPPORT_PHONE}."
        ),
        key=f"autopay-off-{autopay.pk}-{int(autopay.updated_at.timestamp() * 1000)}",
    )
    return autopay


def autopay_describe(autopay: Autopay) -> str:
    if autopay.amount_kind == Autopay.AmountKind.FIXED and autopay.fixed_amount is not None:
        return format_money(autopay.fixed_amount, autopay.account.currency)
    return "the minimum payment due" if autopay.amount_kind == Autopay.AmountKind.MINIMUM else "the statement balance"


def autopay_amount(*, autopay: Autopay, statement, today: dt.date | None = None) -> Decimal:
    """What autopay pays for this statement now: its choice of amount, less what has
    been paid since the statement and what is already scheduled up to the due date,
    never more than the current balance."""
    account = autopay.account
    paid = paid_since(account=account, day=statement.period_end)
    covered = paid + scheduled_total(account=account, on_or_before=statement.due_date)
    if autopay.amount_kind == Autopay.AmountKind.MINIMUM:
        wanted = quantize(statement.minimum_due) - covered
    elif autopay.amount_kind == Autopay.AmountKind.STATEMENT_BALANCE:
        wanted = quantize(statement.closing_balance) - covered
    else:
        wanted = quantize(autopay.fixed_amount or ZERO) - covered
    owed = quantize(account.posted_balance) - scheduled_total(account=account)
    return max(ZERO, min(wanted, owed))


def autopay_run_for_account(*, account_id: int, today: dt.date | None = None) -> Payment | None:
    """Pay this account's due statement by autopay, once (the payment's idempotency key
    is the statement's). Returns the payment made now, or None."""
    today = today or timezone.localdate()
    with transaction.atomic():
        account = ledger.account_lock(account_id)
        autopay = Autopay.objects.select_related("method", "account__product").filter(account=account).first()
        statement = latest_statement(account=account)
        if autopay is None or not autopay.enabled or statement is None:
            return None
        if not (statement.due_date <= today <= statement.due_date + dt.timedelta(days=AUTOPAY_CATCH_UP_DAYS)):
            return None
        key = f"autopay-{statement.pk}"
        if Payment.objects.filter(idempotency_key=key).exists():
            return None
        amount = autopay_amount(autopay=autopay, statement=statement, today=today)
        if amount <= 0:
            return None
        if autopay.method.removed_at is not None:
            logger.warning("autopay for account %s skipped: its bank account was removed", account.pk)
            return None
        payment, created = payment_schedule(
            account=account,
            method=autopay.method,
            amount=amount,
            scheduled_for=today,
            idempotency_key=key,
            actor=None,
            kind=Payment.Kind.AUTOPAY,
        )
    return payment if created else None


def autopay_run_due(*, today: dt.date | None = None) -> int:
    """Beat task body: run autopay for every account whose statement is due today (or
    was due in the last few days and was missed). Returns how many payments it made."""
    from statements.models import Statement

    today = today or timezone.localdate()
    account_ids = (
        Statement.objects.filter(
            due_date__lte=today,
            due_date__gte=today - dt.timedelta(days=AUTOPAY_CATCH_UP_DAYS),
            account__autopay__enabled=True,
        )
        .values_list("account_id", flat=True)
        .distinct()
    )
    made = 0
    for account_id in sorted(set(account_ids)):
        # One account's failure must not stop every later account's autopay on every run.
        try:
            made += autopay_run_for_account(account_id=account_id, today=today) is not None
        except Exception:
            logger.exception("autopay failed for account %s; the others go on", account_id)
    return made
