"""Writes for cards: opening accounts and issuing cards."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Cardholder

from . import cardnumbers
from .models import BusinessProgram, Card, CardAccount, CardProduct


class CardServiceError(Exception):
    """A rule of the card domain was broken; the message is fit to show a person."""


@dataclass(frozen=True)
class IssuedCard:
    """The one moment a full card number and card ID exist in our process: returned to
    the caller (the card printer, the demo world, a test) and never stored."""

    card: Card
    pan: str
    card_id: str

    def __repr__(self) -> str:  # never let a PAN or CID reach a log through repr()
        return f"IssuedCard(card={self.card.pk}, last4={self.card.last4})"


def _new_reference() -> str:
    return "A" + "".join(secrets.choice("0123456789") for _ in range(10))


@transaction.atomic
def account_open(
    *,
    product: CardProduct,
    primary_cardholder: Cardholder,
    statement_day: int,
    credit_limit: Decimal | None = None,
    business_program: BusinessProgram | None = None,
    opened_on=None,
) -> CardAccount:
    if product.is_credit and credit_limit is None:
        raise CardServiceError("A credit card account needs a credit limit.")
    if not product.is_credit and credit_limit is not None:
        raise CardServiceError("A charge card has no preset spending limit.")
    if (product.segment == CardProduct.Segment.BUSINESS) != (business_program is not None):
        raise CardServiceError("Business products, and only they, belong to a business program.")
    return CardAccount.objects.create(
        reference=_new_reference(),
        product=product,
        primary_cardholder=primary_cardholder,
        business_program=business_program,
        credit_limit=credit_limit,
        currency=product.currency,
        statement_day=statement_day,
        opened_on=opened_on or timezone.localdate(),
    )


@transaction.atomic
def card_issue(
    *,
    account: CardAccount,
    holder: Cardholder,
    role: str,
    expiry_month: int,
    expiry_year: int,
    active: bool = False,
    monthly_limit: Decimal | None = None,
    replaces: Card | None = None,
) -> IssuedCard:
    """Issue a card with a fresh Luhn-valid number under the issuer BIN."""
    if role == Card.Role.EMPLOYEE and account.business_program_id is None:
        raise CardServiceError("Employee cards are issued on business accounts only.")
    if monthly_limit is not None and role != Card.Role.EMPLOYEE:
        raise CardServiceError("Only employee cards carry a monthly spending limit.")
    while True:
        pan = cardnumbers.generate_pan()
        digest = cardnumbers.pan_hash(pan)
        if not Card.objects.filter(pan_hash=digest).exists():
            break
    now = timezone.now()
    card = Card.objects.create(
        account=account,
        holder=holder,
        role=role,
        pan_hash=digest,
        first6=pan[:6],
        last4=pan[-4:],
        expiry_month=expiry_month,
        expiry_year=expiry_year,
        status=Card.Status.ACTIVE if active else Card.Status.INACTIVE,
        activated_at=now if active else None,
        monthly_limit=monthly_limit,
        replaces=replaces,
    )
    card_id = cardnumbers.derive_card_id(pan=pan, expiry_month=expiry_month, expiry_year=expiry_year)
    return IssuedCard(card=card, pan=pan, card_id=card_id)


def card_find_by_number(*, pan: str) -> Card | None:
    """Look a card up by the number a person typed (hash look-up, never a stored PAN)."""
    normalized = cardnumbers.normalize_pan(pan)
    if not cardnumbers.luhn_checksum_ok(normalized):
        return None
    return (
        Card.objects.select_related("account__product", "holder")
        .filter(pan_hash=cardnumbers.pan_hash(normalized))
        .first()
    )


@transaction.atomic
def card_activate(*, card: Card, request=None) -> Card:
    """Activate a card whose holder has proved possession (see cards.verification)."""
    from security.models import Notification, SecurityEvent
    from security.services import notify, security_event_record

    card = Card.objects.select_for_update().select_related("holder").get(pk=card.pk)
    if card.status != Card.Status.INACTIVE:
        raise CardServiceError("This card can't be activated: it is not waiting for activation.")
    card.status = Card.Status.ACTIVE
    card.activated_at = timezone.now()
    card.save(update_fields=["status", "activated_at"])
    user = getattr(card.holder, "user", None)
    security_event_record(
        kind=SecurityEvent.Kind.CARD_ACTIVATED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=user,
        request=request,
        detail={"card": f"•••• {card.last4}"},
    )
    email = (user.email if user else "") or card.holder.email
    if email:
        notify(
            channel=Notification.Channel.EMAIL,
            to=email,
            kind="card_activated",
            subject="Your card is active",
            body=(
                f"Your card ending {card.last4} is now active and ready to use.\n\n"
                f"If you did not activate it, call us right away on {settings.SUPPORT_PHONE}."
            ),
            idempotency_key=f"card-activated-{card.pk}",
            user=user,
        )
    return card
