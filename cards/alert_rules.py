"""Alerts: each user's choices, and the rules that turn events into messages.

Every message goes through the notification outbox (``security.services.notify``) with
an idempotency key naming the event, the alert, the channel and the recipient, so a
re-run sends nothing twice; Celery delivers it after the change commits. Messages name
a card by its last 4 digits only, and text messages stay within 160 characters.

* Transaction alerts (every purchase, over an amount, outside the US, card not
  present, declined) run from ``cards.alerts.transaction_alerts_dispatch`` when
  processor events post, for every user who can see the card and asked for them.
* Payment alerts (received, returned, due soon, autopay about to run) and "statement
  ready" go to the people who manage the account's bill.
* Security alerts (new device, password or contact changed, lockout, card ID attempts)
  are sent by the security app and cannot be turned off; the alerts page says so.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction as db_transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import User
from portal.money import format_money
from security.models import Notification
from security.services import notify

from .alerts import Alert
from .models import AlertPreference, Card, CardAccount, DeclineReason, Payment, Transaction, TransactionEvent

Kind = AlertPreference.Kind
EMAIL, SMS = Notification.Channel.EMAIL, Notification.Channel.SMS
SMS_LIMIT = 160
ISSUER_COUNTRY = "US"
DAYS_BEFORE_CHOICES = (1, 2, 3, 5, 7, 10, 14)
DEFAULT_DAYS_BEFORE = 3
AUTOPAY_REMINDER_DAYS = 3


@dataclass(frozen=True)
class Default:
    email: bool = False
    sms: bool = False


# Payment and statement news is on by email unless turned off; transaction alerts are
# opt-in. A returned payment always goes by email: it changes what is owed.
DEFAULTS: dict[str, Default] = {
    Kind.PURCHASE: Default(),
    Kind.PURCHASE_OVER: Default(),
    Kind.INTERNATIONAL: Default(),
    Kind.CARD_NOT_PRESENT: Default(),
    Kind.DECLINED: Default(),
    Kind.PAYMENT_DUE: Default(email=True),
    Kind.PAYMENT_RECEIVED: Default(email=True),
    Kind.PAYMENT_RETURNED: Default(email=True),
    Kind.AUTOPAY_UPCOMING: Default(email=True),
    Kind.STATEMENT_READY: Default(email=True),
}
ALWAYS_BY_EMAIL = {Kind.PAYMENT_RETURNED}

GROUPS: list[tuple[str, str, list[str]]] = [
    (
        "transactions",
        "Transactions",
        [Kind.PURCHASE, Kind.PURCHASE_OVER, Kind.INTERNATIONAL, Kind.CARD_NOT_PRESENT, Kind.DECLINED],
    ),
    ("payments", "Payments", [Kind.PAYMENT_DUE, Kind.PAYMENT_RECEIVED, Kind.PAYMENT_RETURNED, Kind.AUTOPAY_UPCOMING]),
    ("statements", "Statements", [Kind.STATEMENT_READY]),
]
HINTS = {
    Kind.PURCHASE: "Each purchase on cards you can see, as soon as it is approved.",
    Kind.PURCHASE_OVER: "Only purchases over the amount you choose.",
    Kind.INTERNATIONAL: "Purchases with a merchant outside the US or in another currency.",
    Kind.CARD_NOT_PRESENT: "Purchases made without the card in hand: online, by phone or by mail.",
    Kind.DECLINED: "When we decline a purchase, and why.",
    Kind.PAYMENT_DUE: "A reminder before the payment due date, if the minimum payment is not yet paid.",
    Kind.PAYMENT_RECEIVED: "When a payment reaches your account.",
    Kind.PAYMENT_RETURNED: "When your bank sends a payment back. Always sent by email.",
    Kind.AUTOPAY_UPCOMING: f"{AUTOPAY_REMINDER_DAYS} days before autopay pays, with the amount.",
    Kind.STATEMENT_READY: "When a new statement is ready to view.",
}
SECURITY_ALERTS = [
    ("New device sign-in", "When someone logs in to your account from a device we don't recognize."),
    ("Password or contact details changed", "When your password, email or mobile number changes."),
    ("Account locked", "When your User ID is locked after too many wrong passwords."),
    ("Card ID attempts", "When someone enters too many wrong card IDs for your card."),
]


# --- Preferences -------------------------------------------------------------------------


@dataclass(frozen=True)
class Preference:
    kind: str
    email: bool
    sms: bool
    threshold: Decimal | None = None
    days_before: int | None = None

    @property
    def label(self) -> str:
        return str(Kind(self.kind).label)

    @property
    def hint(self) -> str:
        return HINTS[self.kind]

    @property
    def email_locked(self) -> bool:
        return self.kind in ALWAYS_BY_EMAIL


def _default(kind: str) -> Preference:
    default = DEFAULTS[kind]
    return Preference(
        kind=kind,
        email=default.email,
        sms=default.sms,
        days_before=DEFAULT_DAYS_BEFORE if kind == Kind.PAYMENT_DUE else None,
    )


def _from_row(row: AlertPreference) -> Preference:
    return Preference(
        kind=row.kind,
        email=row.email or row.kind in ALWAYS_BY_EMAIL,
        sms=row.sms,
        threshold=row.threshold,
        days_before=row.days_before if row.kind != Kind.PAYMENT_DUE else (row.days_before or DEFAULT_DAYS_BEFORE),
    )


def preferences_for_user(*, user: User) -> dict[str, Preference]:
    """Every alert's setting for this user, in page order (defaults where unset)."""
    rows = {row.kind: row for row in AlertPreference.objects.filter(user=user)}
    return {
        kind: _from_row(rows[kind]) if kind in rows else _default(kind)
        for _key, _title, kinds in GROUPS
        for kind in kinds
    }


@db_transaction.atomic
def preferences_save(*, user: User, preferences: Iterable[Preference]) -> None:
    now = timezone.now()
    for preference in preferences:
        if preference.kind not in DEFAULTS:
            raise ValueError(f"unknown alert {preference.kind!r}")
        threshold = preference.threshold if preference.kind == Kind.PURCHASE_OVER else None
        days = preference.days_before if preference.kind == Kind.PAYMENT_DUE else None
        AlertPreference.objects.update_or_create(
            user=user,
            kind=preference.kind,
            defaults={
                "email": preference.email or preference.kind in ALWAYS_BY_EMAIL,
                "sms": preference.sms,
                "threshold": threshold,
                "days_before": days,
                "updated_at": now,
            },
        )


def sms_number(user: User) -> str:
    """Texts go only to a mobile number the person has verified."""
    return user.phone if user.phone and user.phone_verified_at else ""


def _channels(user: User, *, email: bool, sms: bool) -> list[tuple[str, str]]:
    found = []
    if email and user.email:
        found.append((EMAIL, user.email))
    if sms and sms_number(user):
        found.append((SMS, sms_number(user)))
    return found


def _effective(users: Iterable[User], kind: str) -> list[tuple[User, Preference]]:
    users = list(users)
    rows = {row.user_id: row for row in AlertPreference.objects.filter(user__in=users, kind=kind)}
    return [(user, _from_row(rows[user.pk]) if user.pk in rows else _default(kind)) for user in users]


# Punctuation that has a plain-ASCII twin; everything else outside ASCII loses its
# accents (NFKD) or, with none to lose, is dropped.
_SMS_PUNCTUATION = str.maketrans(
    {"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2026": "..."}
)


def sms_ascii(text: str) -> str:
    """Plain ASCII for a text message: one character outside the GSM alphabet makes the
    whole message UCS-2, 70 characters a segment instead of 160 ("Café Crème – Zürich"
    becomes "Cafe Creme - Zurich")."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SMS_PUNCTUATION))
    return " ".join(decomposed.encode("ascii", "ignore").decode("ascii").split())


def sms_fit(text: str, *, squeeze: str = "") -> str:
    """Make a text message plain ASCII and fit in 160 characters by shortening
    ``squeeze`` (the merchant name) first, then by cutting."""
    text, squeeze = sms_ascii(text), sms_ascii(squeeze)
    if len(text) <= SMS_LIMIT:
        return text
    if squeeze and squeeze in text:
        over = len(text) - SMS_LIMIT
        shorter = squeeze[: max(3, len(squeeze) - over - 3)].rstrip() + "..."
        text = text.replace(squeeze, shorter, 1)
    return text if len(text) <= SMS_LIMIT else text[: SMS_LIMIT - 3] + "..."


def _money(amount: Decimal, currency: str) -> str:
    return format_money(amount, currency)


def _when(moment: dt.datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local:%B} {local.day} at {local:%I:%M %p}".replace(" 0", " ")


# --- Transaction alerts (the RULES hook) -------------------------------------------------


def _card_watchers(card: Card, account: CardAccount) -> Q:
    """Users who can see this card (cards.selectors.card_visible_to, read backwards)."""
    basic_holders = Card.objects.filter(account_id=card.account_id, role=Card.Role.BASIC).values("holder_id")
    who = Q(cardholder_id=card.holder_id) | Q(cardholder_id__in=basic_holders)
    program_id = account.business_program_id
    if program_id:
        who |= Q(administered_programs=program_id)
    return who


def _is_international(txn: Transaction) -> bool:
    foreign_merchant = bool(txn.merchant_country) and txn.merchant_country != ISSUER_COUNTRY
    foreign_currency = bool(txn.original_currency) and txn.original_currency != txn.currency
    return foreign_merchant or foreign_currency


def _matches(pref: AlertPreference, txn: Transaction) -> str:
    """Why this preference fires for this purchase, in words for the message, or ""."""
    if pref.kind == Kind.PURCHASE:
        return "every purchase"
    if pref.kind == Kind.PURCHASE_OVER and pref.threshold is not None and txn.amount > pref.threshold:
        return f"purchases over {_money(pref.threshold, txn.currency)}"
    if pref.kind == Kind.INTERNATIONAL and _is_international(txn):
        return "purchases outside the US"
    if pref.kind == Kind.CARD_NOT_PRESENT and not txn.card_present:
        return "purchases without the card present"
    if pref.kind == Kind.DECLINED:
        return "declined purchases"
    return ""


def transaction_alerts(txn: Transaction) -> list[Alert]:
    """The rule called by cards.alerts for every transaction change. A purchase alerts
    once, when first seen (authorized, or posted with no authorization before it); a
    decline alerts when declined."""
    if txn.card_id is None or txn.kind != Transaction.Kind.PURCHASE:
        return []
    if txn.status == Transaction.Status.DECLINED:
        kinds = [Kind.DECLINED]
    elif txn.status in (Transaction.Status.PENDING, Transaction.Status.POSTED):
        kinds = [Kind.PURCHASE, Kind.PURCHASE_OVER, Kind.INTERNATIONAL, Kind.CARD_NOT_PRESENT]
    else:
        return []
    card = txn.card
    watchers = User.objects.filter(_card_watchers(card, txn.account), is_active=True).values("pk")
    prefs = list(
        AlertPreference.objects.filter(kind__in=kinds, user_id__in=watchers)
        .filter(Q(email=True) | Q(sms=True))
        .select_related("user")
        .order_by("user_id", "kind")
    )
    if not prefs:
        return []
    if txn.status == Transaction.Status.POSTED and (
        TransactionEvent.objects.filter(transaction=txn, status=Transaction.Status.PENDING).exists()
    ):
        return []  # told at authorization
    reasons: dict[int, tuple[User, list[str], set[str]]] = {}
    order = {kind: n for n, kind in enumerate(Kind.values)}
    for pref in sorted(prefs, key=lambda p: (p.user_id, order[p.kind])):
        why = _matches(pref, txn)
        if not why:
            continue
        user, whys, channels = reasons.setdefault(pref.user_id, (pref.user, [], set()))
        whys.append(why)
        channels.update(c for c, wanted in ((EMAIL, pref.email), (SMS, pref.sms)) if wanted)
    alerts = []
    for user, whys, wanted in reasons.values():
        for channel, to in _channels(user, email=EMAIL in wanted, sms=SMS in wanted):
            alerts.append(_purchase_alert(txn, card, user, channel, to, whys))
    return alerts


def _purchase_alert(txn: Transaction, card: Card, user: User, channel: str, to: str, whys: list[str]) -> Alert:
    amount = _money(txn.amount, txn.currency)
    merchant = txn.merchant_name or "a merchant"
    issuer, phone = settings.ISSUER_NAME, settings.SUPPORT_PHONE
    declined = txn.status == Transaction.Status.DECLINED
    reason = DeclineReason(txn.decline_reason).label if txn.decline_reason in DeclineReason.values else ""
    kind = "purchase_declined" if declined else "purchase_alert"
    if channel == SMS:
        if declined:
            text = (
                f"{issuer}: {amount} at {merchant} on card ending {card.last4} was declined. Questions? Call {phone}."
            )
        else:
            text = f"{issuer}: {amount} at {merchant} on card ending {card.last4}. Not you? Call {phone}."
        return Alert(channel=channel, to=to, kind=kind, body=sms_fit(text, squeeze=merchant), user=user)
    where = ", ".join(part for part in (txn.merchant_city, txn.merchant_country) if part)
    at = f"{merchant} ({where})" if where else merchant
    if declined:
        subject = f"Declined: {amount} at {merchant}"[:200]
        when = _when(txn.transacted_at)
        first = f"We declined a purchase of {amount} at {at} on your card ending {card.last4} on {when}."
        if reason:
            first += f"\n\nWhy: {reason}."
    else:
        subject = f"Purchase alert: {amount} at {merchant}"[:200]
        first = (
            f"A purchase of {amount} at {at} was made on your card ending {card.last4} on {_when(txn.transacted_at)}."
        )
        if txn.original_amount is not None:
            first += f" The merchant charged {_money(txn.original_amount, txn.original_currency)}."
    body = (
        f"{first}\n\nYou asked us to tell you about {' and '.join(dict.fromkeys(whys))}.\n\n"
        f"Don't recognize it? Freeze your card when you log in and call us on {phone}.\n\n"
        "You can change your alerts on the Alerts page when you log in."
    )
    return Alert(channel=channel, to=to, kind=kind, subject=subject, body=body, user=user)


# --- Account notices: payments and statements --------------------------------------------


def _account_send(*, account: CardAccount, kind: str, key: str, subject: str, body: str, sms: str, users=None) -> int:
    """Tell the account's managers who want this alert. Returns messages queued."""
    from .payment_selectors import account_managers

    users = users if users is not None else account_managers(account=account)
    queued = 0
    for user, pref in _effective(users, kind):
        for channel, to in _channels(user, email=pref.email, sms=pref.sms):
            notify(
                channel=channel,
                to=to,
                kind=kind,
                subject=subject if channel == EMAIL else "",
                body=body if channel == EMAIL else sms_fit(sms),
                idempotency_key=f"{key}-{channel}-u{user.pk}",
                user=user,
            )
            queued += 1
    return queued


def payment_received_notify(*, payment: Payment) -> int:
    account = payment.account
    amount = _money(payment.amount, payment.currency)
    last4 = payment.method.account_last4
    return _account_send(
        account=account,
        kind=Kind.PAYMENT_RECEIVED,
        key=f"payment-{payment.pk}-received",
        subject=f"We received your payment of {amount}",
        body=(
            f"Thank you. We received your payment of {amount} for your {account.product.name} account from the "
            f"bank account ending {last4}. Your balance and available credit are updated."
        ),
        sms=f"{settings.ISSUER_NAME}: we received your payment of {amount} from the bank account ending {last4}. "
        "Thank you.",
    )


def payment_returned_notify(*, payment: Payment) -> int:
    from .payments import ReturnReason

    account = payment.account
    amount = _money(payment.amount, payment.currency)
    last4 = payment.method.account_last4
    why = ReturnReason.PLAIN.get(payment.return_reason, ReturnReason.PLAIN["other"])
    return _account_send(
        account=account,
        kind=Kind.PAYMENT_RETURNED,
        key=f"payment-{payment.pk}-returned",
        subject=f"Your payment of {amount} was returned",
        body=(
            f"Your payment of {amount} from the bank account ending {last4} for your {account.product.name} "
            f"account was returned by your bank: {why}.\n\n"
            f"We have added {amount} back to your balance. Please make the payment again, from another bank "
            f"account if you need to, before your due date. Questions? Call us on {settings.SUPPORT_PHONE}."
        ),
        sms=f"{settings.ISSUER_NAME}: your payment of {amount} was returned by your bank and added back to your "
        f"balance. Please pay again. {settings.SUPPORT_PHONE}",
    )


def statement_ready_notify(*, statement) -> int:
    """Call when a statement is ready (the statements app, at cycle close)."""
    account = statement.account
    balance = _money(statement.closing_balance, statement.currency)
    due = f"{statement.due_date:%B} {statement.due_date.day}"
    minimum = _money(statement.minimum_due, statement.currency)
    return _account_send(
        account=account,
        kind=Kind.STATEMENT_READY,
        key=f"statement-{statement.pk}-ready",
        subject=f"Your {account.product.name} statement is ready",
        body=(
            f"Your statement to {statement.period_end:%B} {statement.period_end.day} is ready. Statement balance: "
            f"{balance}. Minimum payment due: {minimum} by {due}.\n\nLog in to view or download it."
        ),
        sms=f"{settings.ISSUER_NAME}: your statement is ready. Balance {balance}, minimum {minimum} due {due}.",
    )


def _current_statements(today: dt.date, horizon: int):
    from statements.models import Statement

    newer = Statement.objects.filter(account=OuterRef("account"), period_end__gt=OuterRef("period_end"))
    return (
        Statement.objects.filter(due_date__gt=today, due_date__lte=today + dt.timedelta(days=horizon))
        .exclude(Exists(newer))
        .select_related("account__product")
        .order_by("due_date", "pk")
    )


def payment_reminders_send(*, today: dt.date | None = None) -> int:
    """Beat task body: "payment due" reminders the chosen number of days before the due
    date while the minimum is unpaid, and "autopay about to run" reminders with the
    amount. Idempotent (keys per statement, alert, channel and user)."""
    from .models import Autopay
    from .payment_selectors import account_managers, paid_since
    from .payments import autopay_amount

    today = today or timezone.localdate()
    queued = 0
    for statement in _current_statements(today, max(DAYS_BEFORE_CHOICES)).iterator(chunk_size=200):
        account = statement.account
        days = (statement.due_date - today).days
        due = f"{statement.due_date:%B} {statement.due_date.day}"
        autopay = Autopay.objects.select_related("method", "account").filter(account=account, enabled=True).first()
        if autopay is not None:
            # On the day, or on the first run after it if beat missed it (the key sends once).
            if not 0 <= days <= AUTOPAY_REMINDER_DAYS:
                continue
            amount = autopay_amount(autopay=autopay, statement=statement, today=today)
            if amount <= 0:
                continue
            money = _money(amount, account.currency)
            last4 = autopay.method.account_last4
            queued += _account_send(
                account=account,
                kind=Kind.AUTOPAY_UPCOMING,
                key=f"statement-{statement.pk}-autopay-reminder",
                subject=f"Autopay will pay {money} on {due}",
                body=(
                    f"On {due}, autopay will pay {money} towards your {account.product.name} account from the bank "
                    f"account ending {last4}. Make sure the money is there. You can change autopay when you log in."
                ),
                sms=f"{settings.ISSUER_NAME}: autopay will pay {money} from the bank account ending {last4} on {due}.",
            )
            continue
        minimum = statement.minimum_due - paid_since(account=account, day=statement.period_end)
        if minimum <= 0:
            continue
        money = _money(minimum, account.currency)
        users = [
            user
            for user, pref in _effective(account_managers(account=account), Kind.PAYMENT_DUE)
            if 0 <= days <= pref.days_before  # or the first run after a missed day: the key sends once
        ]
        if not users:
            continue
        queued += _account_send(
            account=account,
            kind=Kind.PAYMENT_DUE,
            key=f"statement-{statement.pk}-due-reminder",
            subject=f"Your payment is due on {due}",
            body=(
                f"Your {account.product.name} payment is due on {due}. Minimum payment due: {money}. Statement "
                f"balance: {_money(statement.closing_balance, account.currency)}.\n\n"
                "Log in to pay now or schedule a payment."
            ),
            sms=f"{settings.ISSUER_NAME}: your minimum payment of {money} is due on {due}. Log in to pay.",
            users=users,
        )
    return queued
