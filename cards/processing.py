"""Card processor events: authorization decisions, clearing, reversals and refunds, and
the release of stale holds.

The webhook (cards.webhook) authenticates a request and hands its JSON here:
``event_parse`` validates it into an ``Event`` and ``processor_event_handle`` applies
it once. Every event that was applied is stored as a ``ProcessorEvent`` with the answer
given, in the same database transaction as its effects, so a repeated event id changes
nothing and gets the first answer. Events that cannot be applied (malformed, or naming
a transaction we do not have yet) raise ``EventError``: nothing is stored or changed,
and the processor may send them again.

Cards are named by ``card_number`` (looked up by its keyed hash, never stored, logged
or echoed) or by ``card_token`` (the opaque ``Card.processor_token`` the processor was
given at issuance). Decisions and movements run under the account's row lock
(``ledger.account_lock``), so they are correct under concurrency.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal.money import format_money

from . import cardnumbers, ledger, selectors
from .mcc import category_for_mcc
from .models import Card, CardAccount, DeclineReason, ProcessorEvent, Transaction

logger = logging.getLogger(__name__)

HOLD_LIFETIME = dt.timedelta(days=7)
MAX_AMOUNT = Decimal("999999999.99")
Status = Transaction.Status
Type = ProcessorEvent.Type

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_MCC = re.compile(r"^[0-9]{4}$")
_IDENTIFIER = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces
# Control characters (NUL above all: PostgreSQL refuses it in text), lone surrogates
# (no database can store them as UTF-8) and the noncharacters U+FFFE/U+FFFF.
FUTURE_TOLERANCE = dt.timedelta(days=1)
_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


class EventError(Exception):
    """An event we cannot apply. ``status`` 400: malformed; 409: it contradicts what we
    hold; 422: well-formed but not applicable (for example an unknown card)."""

    def __init__(self, message: str, *, code: str = "invalid_event", status: int = 400):
        super().__init__(message)
        self.code, self.status, self.message = code, status, message

    def body(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


# --- Parsing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardRef:
    number: str = field(default="", repr=False)
    token: str = ""

    def __repr__(self) -> str:  # never let a card number reach a log through repr()
        return f"CardRef(token={self.token!r})" if self.token else "CardRef(number=[hidden])"


@dataclass(frozen=True)
class Merchant:
    name: str = ""
    city: str = ""
    country: str = ""
    mcc: str = ""


@dataclass(frozen=True)
class Event:
    event_id: str
    type: str
    network_id: str
    card: CardRef | None = None
    amount: Decimal | None = None
    currency: str = ""
    original_amount: Decimal | None = None
    original_currency: str = ""
    merchant: Merchant = Merchant()
    card_present: bool = False
    transacted_at: dt.datetime | None = None
    original_network_id: str = ""


def _text(payload: dict, name: str, *, max_length: int, required: bool = False, pattern=None) -> str:
    value = payload.get(name)
    if value is None:
        if required:
            raise EventError(f"{name} is required")
        return ""
    if not isinstance(value, str):
        raise EventError(f"{name} must be a string")
    value = value.strip()
    if required and not value:
        raise EventError(f"{name} is required")
    if len(value) > max_length:
        raise EventError(f"{name} is longer than {max_length} characters")
    if value and pattern is not None and not pattern.match(value):
        raise EventError(f"{name} is not in the expected format")
    return value


def _amount(payload: dict, name: str, *, required: bool) -> Decimal | None:
    value = payload.get(name)
    if value is None:
        if required:
            raise EventError(f"{name} is required")
        return None
    # JSON numbers arrive as int or Decimal (never float: see the webhook's parser).
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise EventError(f'{name} must be a decimal amount, e.g. "12.34"')
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise EventError(f'{name} must be a decimal amount, e.g. "12.34"') from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
        raise EventError(f"{name} must be more than 0 and at most {MAX_AMOUNT}")
    if amount.as_tuple().exponent < -2 and amount != amount.quantize(Decimal("0.01")):
        raise EventError(f"{name} has more than 2 decimal places")
    return amount.quantize(Decimal("0.01"))


def _card(payload: dict, *, required: bool) -> CardRef | None:
    number, token = payload.get("card_number"), payload.get("card_token")
    if number is not None and token is not None:
        raise EventError("give card_number or card_token, not both")
    if number is not None:
        if not isinstance(number, str):
            raise EventError("card_number must be a string")
        return CardRef(number=cardnumbers.normalize_pan(number)[:19])
    if token is not None:
        return CardRef(token=_text(payload, "card_token", max_length=40, required=True, pattern=_IDENTIFIER))
    if required:
        raise EventError("card_number or card_token is required")
    return None


def _merchant(payload: dict, *, required: bool) -> Merchant:
    value = payload.get("merchant")
    if value is None:
        if required:
            raise EventError("merchant is required")
        return Merchant()
    if not isinstance(value, dict):
        raise EventError("merchant must be an object")
    mcc = _text(value, "mcc", max_length=4, required=required, pattern=_MCC)
    country = _text(value, "country", max_length=2, pattern=_COUNTRY)
    # Descriptors longer than our columns are cut, not refused: a long name is no reason
    # to fail a cardholder's purchase.
    name = value.get("name")
    city = value.get("city")
    for label, text in (("merchant.name", name), ("merchant.city", city)):
        if text is not None and not isinstance(text, str):
            raise EventError(f"{label} must be a string")
    # What no database or export can carry (_CONTROL) is dropped, not refused.
    name = _CONTROL.sub("", name or "").strip()[:100]
    if required and not name:
        raise EventError("merchant.name is required")
    return Merchant(name=name, city=_CONTROL.sub("", city or "").strip()[:60], country=country, mcc=mcc)


def _when(payload: dict, name: str) -> dt.datetime | None:
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventError(f"{name} must be an ISO 8601 date and time")
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None or timezone.is_naive(parsed):
        raise EventError(f"{name} must be an ISO 8601 date and time with a time zone")
    try:
        parsed = parsed.astimezone(dt.UTC)  # 9999-12-31T23:59-05:00 is past the last UTC date
    except OverflowError:
        raise EventError(f"{name} is out of range") from None
    # A purchase happens now or before: one dated ahead would never expire as a hold and
    # would count in every month's spending until its date. A day allows for clocks.
    if parsed > timezone.now() + FUTURE_TOLERANCE:
        raise EventError(f"{name} is in the future")
    return parsed


def event_parse(payload: Any) -> Event:
    """Validate a decoded JSON body. Raises ``EventError`` (400) naming the problem."""
    if not isinstance(payload, dict):
        raise EventError("the body must be a JSON object")
    event_id = _text(payload, "event_id", max_length=100, required=True, pattern=_IDENTIFIER)
    kind = _text(payload, "type", max_length=20, required=True)
    if kind not in Type.values:
        raise EventError(f"type must be one of: {', '.join(Type.values)}")
    network_id = _text(payload, "network_id", max_length=64, required=True, pattern=_IDENTIFIER)
    money = kind != Type.REVERSAL
    card_present = payload.get("card_present", False)
    if not isinstance(card_present, bool):
        raise EventError("card_present must be true or false")
    original_amount = _amount(payload, "original_amount", required=False)
    original_currency = _text(payload, "original_currency", max_length=3, pattern=_CURRENCY)
    if (original_amount is None) != (not original_currency):
        raise EventError("original_amount and original_currency come together")
    return Event(
        event_id=event_id,
        type=kind,
        network_id=network_id,
        card=_card(payload, required=money),
        amount=_amount(payload, "amount", required=money),
        currency=_text(payload, "currency", max_length=3, required=money, pattern=_CURRENCY),
        original_amount=original_amount,
        original_currency=original_currency,
        merchant=_merchant(payload, required=kind in (Type.AUTHORIZATION, Type.REFUND)),
        card_present=card_present,
        transacted_at=_when(payload, "transacted_at"),
        original_network_id=_text(payload, "original_network_id", max_length=64, pattern=_IDENTIFIER),
    )


# --- Applying --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


@dataclass(frozen=True)
class _Outcome:
    body: dict[str, Any]
    card: Card | None = None
    transaction: Transaction | None = None
    status: int = 200


def processor_event_handle(*, event: Event, body_sha256: str = "") -> Answer:
    """Apply an event once. A repeat of a stored event id returns the stored answer;
    two deliveries racing each other store one event (the loser rolls back and reads
    the winner's answer)."""
    stored = ProcessorEvent.objects.filter(event_id=event.event_id).first()
    if stored is not None:
        return _replay(stored, body_sha256)
    for attempt in (1, 2):
        try:
            with db_transaction.atomic():
                outcome = _HANDLERS[event.type](event)
                body = {"event_id": event.event_id, "type": event.type, **outcome.body}
                ProcessorEvent.objects.create(
                    event_id=event.event_id,
                    type=event.type,
                    network_id=event.network_id,
                    card=outcome.card,
                    transaction=outcome.transaction,
                    status_code=outcome.status,
                    response=body,
                    body_sha256=body_sha256,
                )
        except IntegrityError:
            # Another delivery of this event won, or another event claimed the same
            # network id first: read the winner, or try once more (then it is seen).
            stored = ProcessorEvent.objects.filter(event_id=event.event_id).first()
            if stored is not None:
                return _replay(stored, body_sha256)
            if attempt == 2:
                raise
            continue
        logger.info("processor event %s (%s) applied: %s", event.event_id, event.type, _summary(body))
        return Answer(outcome.status, body)
    raise AssertionError("unreachable")


def _replay(stored: ProcessorEvent, body_sha256: str) -> Answer:
    if body_sha256 and stored.body_sha256 and body_sha256 != stored.body_sha256:
        logger.warning("processor event %s repeated with a different body; the first answer stands", stored.event_id)
    return Answer(stored.status_code, stored.response, replayed=True)


def _summary(body: dict[str, Any]) -> str:
    return str(body.get("decision") or body.get("result") or "")


def _card_find(ref: CardRef | None) -> Card | None:
    if ref is None:
        return None
    if ref.token:
        return Card.objects.filter(processor_token=ref.token).first()
    if not cardnumbers.luhn_checksum_ok(ref.number):
        return None
    # Under any accepted PAN hash key; a card on an old key moves to the current one.
    return cardnumbers.card_find_by_pan(Card.objects.all(), ref.number)


def _check_currency(event: Event, account: CardAccount) -> None:
    if event.currency != account.currency:
        raise EventError(
            f"amount must be in the account currency ({account.currency}); send the foreign amount as original_amount",
            code="currency_mismatch",
            status=422,
        )


def _check_same_card(event: Event, txn: Transaction) -> None:
    if event.card is None:
        return
    card = _card_find(event.card)
    if card is None or card.pk != txn.card_id:
        raise EventError("the card does not match the transaction's card", code="card_mismatch", status=409)


def _fields(event: Event, card: Card) -> dict[str, Any]:
    merchant = event.merchant
    return {
        "card": card,
        "kind": Transaction.Kind.PURCHASE,
        "amount": event.amount,
        "original_amount": event.original_amount,
        "original_currency": event.original_currency,
        "merchant_name": merchant.name,
        "merchant_city": merchant.city,
        "merchant_country": merchant.country,
        "mcc": merchant.mcc,
        "category": category_for_mcc(merchant.mcc),
        "card_present": event.card_present,
        "network_id": event.network_id,
        "transacted_at": event.transacted_at or timezone.now(),
    }


def _masked(card: Card | None) -> str:
    return card.masked_number if card is not None else ""


# --- Authorization ---------------------------------------------------------------------------

_STATUS_DECLINES = {
    Card.Status.INACTIVE: DeclineReason.CARD_INACTIVE,
    Card.Status.FROZEN: DeclineReason.CARD_FROZEN,
    Card.Status.LOST_STOLEN: DeclineReason.CARD_LOST_STOLEN,
    Card.Status.CLOSED: DeclineReason.CARD_CLOSED,
}


def authorization_decline_reason(
    *, card: Card, account: CardAccount, amount: Decimal, category: str, now: dt.datetime | None = None
) -> str:
    """Why this purchase must be declined, or "" to approve. The caller holds the
    account's row lock, so the figures cannot change before the hold is written."""
    now = now or timezone.now()
    if card.status in _STATUS_DECLINES:
        return _STATUS_DECLINES[card.status]
    today = timezone.localdate(now)
    if (today.year, today.month) > (card.expiry_year, card.expiry_month):
        return DeclineReason.CARD_EXPIRED
    if account.status != CardAccount.Status.OPEN:
        return DeclineReason.ACCOUNT_NOT_OPEN
    if category in (card.blocked_categories or []):
        return DeclineReason.BLOCKED_CATEGORY
    limit = card.monthly_limit
    if limit is not None and selectors.card_spend_this_month(card=card, now=now) + amount > limit:
        return DeclineReason.OVER_MONTHLY_LIMIT
    available = selectors.account_available_credit(account=account)
    if available is not None and amount > available:
        return DeclineReason.OVER_CREDIT_LIMIT
    return ""


def _decision(txn: Transaction | None, card: Card | None, reason: str, event: Event) -> dict[str, Any]:
    approved = not reason
    return {
        "network_id": event.network_id,
        "approved": approved,
        "decision": "approved" if approved else "declined",
        "reason_code": reason,
        "reason": DeclineReason(reason).label if reason else "",
        "transaction_id": txn.pk if txn is not None else None,
        "card": _masked(card),
        "amount": str(txn.amount if txn is not None else event.amount),
        "currency": txn.currency if txn is not None else event.currency,
    }


def _authorize(event: Event) -> _Outcome:
    found = _card_find(event.card)
    if found is None:
        return _Outcome(_decision(None, None, DeclineReason.UNKNOWN_CARD, event))
    account = ledger.account_lock(found.account_id)
    # Read the card again under the lock: a freeze committed while we waited applies.
    card = Card.objects.get(pk=found.pk)
    existing = Transaction.objects.filter(network_id=event.network_id).first()
    if existing is not None:
        # The same authorization under another event id: the same decision again.
        if existing.card_id != card.pk or existing.kind != Transaction.Kind.PURCHASE:
            raise EventError("network_id belongs to another transaction", code="network_id_conflict", status=409)
        reason = existing.decline_reason if existing.status == Status.DECLINED else ""
        return _Outcome(_decision(existing, card, reason, event), card, existing)
    _check_currency(event, account)
    fields = _fields(event, card)
    reason = authorization_decline_reason(card=card, account=account, amount=event.amount, category=fields["category"])
    if reason:
        txn = ledger.transaction_record(
            account=account,
            status=Status.DECLINED,
            decline_reason=reason,
            detail=f"Declined: {DeclineReason(reason).label}",
            **fields,
        )
    else:
        txn = ledger.transaction_record(account=account, status=Status.PENDING, detail="Authorized", **fields)
    return _Outcome(_decision(txn, card, reason, event), card, txn)


# --- Clearing, reversal, refund --------------------------------------------------------------


def _posted_body(txn: Transaction, result: str, **extra: Any) -> dict[str, Any]:
    return {
        "network_id": txn.network_id,
        "result": result,
        "transaction_id": txn.pk,
        "status": txn.status,
        "amount": str(txn.amount),
        "currency": txn.currency,
        "card": _masked(txn.card),
        **extra,
    }


def _locked_transaction(network_id: str) -> tuple[CardAccount, Transaction] | None:
    found = Transaction.objects.filter(network_id=network_id).values_list("pk", "account_id").first()
    if found is None:
        return None
    account = ledger.account_lock(found[1])
    return account, Transaction.objects.select_related("card").get(pk=found[0])


def _clear(event: Event) -> _Outcome:
    locked = _locked_transaction(event.network_id)
    if locked is None:
        return _force_post(event)
    account, txn = locked
    _check_same_card(event, txn)
    if txn.kind != Transaction.Kind.PURCHASE:
        raise EventError("network_id belongs to another transaction", code="network_id_conflict", status=409)
    if txn.status == Status.POSTED:
        return _Outcome(_posted_body(txn, "already_posted"), txn.card, txn)
    if txn.status == Status.DECLINED:
        raise EventError("this authorization was declined", code="authorization_declined", status=409)
    _check_currency(event, account)
    authorized = txn.amount
    if txn.status == Status.REVERSED:
        detail = "Posted after the hold was released"
    elif event.amount != authorized:
        final, held = format_money(event.amount, txn.currency), format_money(authorized, txn.currency)
        detail = f"Posted: final amount {final} (authorized {held})"
    else:
        detail = "Posted"
    extra: dict[str, Any] = {}
    if event.original_amount is not None:
        extra = {"original_amount": event.original_amount, "original_currency": event.original_currency}
    ledger.transaction_transition(
        txn=txn, account=account, status=Status.POSTED, amount=event.amount, detail=detail, **extra
    )
    return _Outcome(_posted_body(txn, "posted", authorized_amount=str(authorized), forced=False), txn.card, txn)


def _force_post(event: Event) -> _Outcome:
    """A clearing with no authorization we know (an offline or force-posted purchase)."""
    found = _card_find(event.card)
    if found is None:
        raise EventError("no card matches this event", code="unknown_card", status=422)
    account = ledger.account_lock(found.account_id)
    _check_currency(event, account)
    txn = ledger.transaction_record(
        account=account,
        status=Status.POSTED,
        detail="Posted (no prior authorization)",
        **_fields(event, found),
    )
    return _Outcome(_posted_body(txn, "posted", authorized_amount=None, forced=True), found, txn)


def _reverse(event: Event) -> _Outcome:
    locked = _locked_transaction(event.network_id)
    if locked is None:
        # Perhaps ahead of its authorization: not stored, so a retry can apply it.
        raise EventError("no transaction has this network_id", code="unknown_transaction", status=422)
    account, txn = locked
    _check_same_card(event, txn)
    if txn.status == Status.REVERSED:
        return _Outcome(_posted_body(txn, "already_reversed"), txn.card, txn)
    if txn.status != Status.PENDING:
        raise EventError(
            f"only a pending authorization can be reversed; this one is {txn.status}",
            code="not_pending",
            status=409,
        )
    if event.amount is not None and event.currency:
        # A reversal's amount is in the hold's currency; one that says another must not
        # release 40.00 USD of a hold for 40.00 EUR. (Its currency may be left out.)
        _check_currency(event, account)
    amount = event.amount if event.amount is not None else txn.amount
    if amount > txn.amount:
        raise EventError("the reversal is larger than the hold", code="reversal_too_large", status=422)
    if amount == txn.amount:
        ledger.transaction_transition(
            txn=txn, account=account, status=Status.REVERSED, detail="Authorization reversed by the merchant"
        )
        return _Outcome(_posted_body(txn, "reversed"), txn.card, txn)
    ledger.transaction_transition(
        txn=txn,
        account=account,
        status=Status.PENDING,
        amount=txn.amount - amount,
        detail=f"Hold reduced by {format_money(amount, txn.currency)}",
    )
    return _Outcome(_posted_body(txn, "partially_reversed"), txn.card, txn)


def _refund(event: Event) -> _Outcome:
    found = _card_find(event.card)
    if found is None:
        raise EventError("no card matches this event", code="unknown_card", status=422)
    account = ledger.account_lock(found.account_id)
    existing = Transaction.objects.select_related("card").filter(network_id=event.network_id).first()
    if existing is not None:
        if existing.kind != Transaction.Kind.REFUND or existing.card_id != found.pk:
            raise EventError("network_id belongs to another transaction", code="network_id_conflict", status=409)
        return _Outcome(_posted_body(existing, "already_posted"), found, existing)
    _check_currency(event, account)
    refund_of = None
    if event.original_network_id:
        refund_of = Transaction.objects.filter(
            network_id=event.original_network_id, account=account, kind=Transaction.Kind.PURCHASE
        ).first()
        if refund_of is not None and refund_of.status == Status.DECLINED:
            raise EventError(
                "the purchase this refunds was declined: nothing was paid", code="refund_of_declined", status=409
            )
    fields = _fields(event, found) | {"kind": Transaction.Kind.REFUND, "amount": -event.amount}
    txn = ledger.transaction_record(
        account=account, status=Status.POSTED, detail="Refund posted", refund_of=refund_of, **fields
    )
    return _Outcome(_posted_body(txn, "posted"), found, txn)


_HANDLERS = {
    Type.AUTHORIZATION: _authorize,
    Type.CLEARING: _clear,
    Type.REVERSAL: _reverse,
    Type.REFUND: _refund,
}


# --- Stale holds ---------------------------------------------------------------------------


def holds_expire(*, now: dt.datetime | None = None, batch_size: int = 500) -> int:
    """Release authorizations still pending after 7 days (the merchant never cleared
    them). Idempotent: each hold is re-checked under its account's lock. Returns how
    many were released. A late clearing still posts (see ``_clear``)."""
    cutoff = (now or timezone.now()) - HOLD_LIFETIME
    released = 0
    while True:
        due = list(
            Transaction.objects.filter(status=Status.PENDING, transacted_at__lt=cutoff)
            .order_by("transacted_at", "id")
            .values_list("pk", "account_id")[:batch_size]
        )
        for pk, account_id in due:
            with db_transaction.atomic():
                account = ledger.account_lock(account_id)
                txn = Transaction.objects.filter(pk=pk, status=Status.PENDING).first()
                if txn is None:
                    continue
                ledger.transaction_transition(
                    txn=txn,
                    account=account,
                    status=Status.REVERSED,
                    detail="Hold released: the merchant did not claim it within 7 days",
                )
                released += 1
        if len(due) < batch_size:
            return released
