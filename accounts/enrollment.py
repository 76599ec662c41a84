"""Enrollment: a cardholder who has proved they hold a card gets their online login."""

from __future__ import annotations

import enum

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from cards.models import Card
from security.models import Notification, SecurityEvent
from security.services import notify, security_event_record

from .models import Cardholder, PasswordHistory, User


class CardState(enum.Enum):
    """What a verified card allows, in the words the enrollment page needs."""

    CAN_ENROLL = "can_enroll"
    NOT_ACTIVATED = "not_activated"
    ALREADY_ENROLLED = "already_enrolled"
    NEW_CARD_EXISTING_LOGIN = "new_card_existing_login"
    UNUSABLE = "unusable"


class EnrollmentError(Exception):
    pass


def card_enrollment_state(*, card: Card) -> CardState:
    if card.status in (Card.Status.LOST_STOLEN, Card.Status.CLOSED):
        return CardState.UNUSABLE
    user = User.objects.filter(cardholder_id=card.holder_id).first()
    if user is not None:
        # A card issued after the login was made is a new card for an existing login: it
        # is already on their account, they only need to sign in.
        if card.issued_at > user.date_joined:
            return CardState.NEW_CARD_EXISTING_LOGIN
        return CardState.ALREADY_ENROLLED
    if card.status == Card.Status.INACTIVE:
        return CardState.NOT_ACTIVATED
    return CardState.CAN_ENROLL


def enrollment_failure_record(*, request: HttpRequest, reason: str, card: Card | None = None) -> None:
    security_event_record(
        kind=SecurityEvent.Kind.ENROLLMENT_FAILED,
        outcome=SecurityEvent.Outcome.FAILURE,
        request=request,
        user=User.objects.filter(cardholder_id=card.holder_id).first() if card else None,
        detail={"reason": reason, **({"card": f"•••• {card.last4}"} if card else {})},
    )


@transaction.atomic
def enrollment_complete(
    *,
    card: Card,
    username: str,
    password_hash: str,
    email: str,
    phone: str,
    confirmed_channel: str,
    request: HttpRequest | None = None,
) -> User:
    """Create the login for the card's holder. One login per cardholder: the holder row
    is locked and the database's one-to-one constraint backs it up."""
    holder = Cardholder.objects.select_for_update().get(pk=card.holder_id)
    if User.objects.filter(cardholder=holder).exists():
        raise EnrollmentError("This card is already registered for online access.")
    # Read again now: a card reported lost or closed since the card step (a stolen card
    # whose thief passed it) must not open the victim's online account.
    card.refresh_from_db(fields=["status"])
    if card_enrollment_state(card=card) is CardState.UNUSABLE:
        raise EnrollmentError(
            "This card has been closed or reported lost or stolen, so it can't be used to register. "
            "Use your replacement card, or call the number on the back of your card."
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            user = User.objects.create(
                username=username,
                cardholder=holder,
                email=email,
                phone=phone,
                email_verified_at=now if confirmed_channel == Notification.Channel.EMAIL else None,
                phone_verified_at=now if confirmed_channel == Notification.Channel.SMS else None,
                password=password_hash,
            )
    except IntegrityError as exc:
        raise EnrollmentError("That User ID was taken a moment ago. Choose another.") from exc
    PasswordHistory.objects.create(user=user, password=password_hash)
    from security.devices import code_devices_sync

    # The confirmed contact can receive sign-in codes from now on.
    code_devices_sync(user=user)
    security_event_record(
        kind=SecurityEvent.Kind.ENROLLED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=user,
        request=request,
        detail={"card": f"•••• {card.last4}", "confirmed": confirmed_channel},
    )
    notify(
        channel=Notification.Channel.EMAIL,
        to=email,
        kind="welcome",
        subject=f"Welcome to {settings.ISSUER_NAME} online",
        body=(
            f"Hello {holder.legal_name.split(' ')[0]},\n\n"
            f"Your online access is ready. Your User ID is {user.username}.\n\n"
            f"You can now see your card ending {card.last4}, your balance, transactions and statements, "
            "pay your bill and manage alerts.\n\n"
            f"If you did not enroll, call us right away on {settings.SUPPORT_PHONE}."
        ),
        idempotency_key=f"welcome-{user.pk}",
        user=user,
    )
    return user
