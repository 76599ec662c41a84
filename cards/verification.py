"""Proving possession of a card: the number, the 4-digit card ID printed on it, and
facts about its holder. Used by enrollment, activation and "forgot User ID".

The card ID has only 10,000 values, so failures are counted: 5 for one card within 24
hours stop enrollment and activation for that card for 24 hours (the cardholder is
told), and each network address has its own limit across cards. Nothing is revealed
about a card (whether it exists, its state) until every check has passed."""

from __future__ import annotations

import datetime as dt
import enum
import logging
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from security.models import Notification, SecurityEvent
from security.services import notify, security_event_record

from . import cardnumbers
from .models import Card, CardCheckFailure

logger = logging.getLogger(__name__)

MISMATCH_MESSAGE = "The details don't match our records for this card. Check them exactly as they appear on your card."
LOCKED_MESSAGE = (
    "For your security, we have paused online enrollment and activation for this card for 24 hours "
    "after too many attempts. Call the number on the back of your card if you need help now."
)
NETWORK_MESSAGE = (
    "There have been too many attempts from your network. Try again in an hour, or call the number "
    "on the back of your card."
)


class Outcome(enum.Enum):
    OK = "ok"
    MISMATCH = "mismatch"
    LOCKED = "locked"
    NETWORK_LIMITED = "network_limited"


@dataclass(frozen=True)
class CardCheck:
    outcome: Outcome
    card: Card | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def message(self) -> str:
        return {
            Outcome.OK: "",
            Outcome.MISMATCH: MISMATCH_MESSAGE,
            Outcome.LOCKED: LOCKED_MESSAGE,
            Outcome.NETWORK_LIMITED: NETWORK_MESSAGE,
        }[self.outcome]


def _fold(text: str) -> str:
    """Names compare without case, accents, punctuation or spacing: "O'Brien-Smith, Ann"
    matches "OBRIENSMITH ANN" as printed on a card."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z]", "", letters.casefold())


def _postal(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", text or "").upper()


def network_is_limited(ip: str | None) -> bool:
    if not ip:
        return False
    since = timezone.now() - dt.timedelta(hours=1)
    return CardCheckFailure.objects.filter(ip_address=ip, created_at__gte=since).count() >= settings.CARD_CHECK_IP_LIMIT


def _record_failure(*, card: Card | None, purpose: str, ip: str | None, request) -> bool:
    """Record a failure; returns True when it locked the card."""
    CardCheckFailure.objects.create(card=card, purpose=purpose, ip_address=ip)
    if card is None:
        return False
    now = timezone.now()
    recent = CardCheckFailure.objects.filter(card=card, created_at__gte=now - dt.timedelta(hours=24)).count()
    if recent < settings.CARD_CHECK_FAILURE_LIMIT:
        return False
    card.verification_locked_until = now + dt.timedelta(hours=24)
    card.save(update_fields=["verification_locked_until"])
    security_event_record(
        kind=SecurityEvent.Kind.CARD_ID_ATTEMPTS_EXCEEDED,
        outcome=SecurityEvent.Outcome.FAILURE,
        user=getattr(card.holder, "user", None),
        request=request,
        detail={"card": f"•••• {card.last4}", "purpose": purpose, "failures_24h": recent},
    )
    _alert_holder(card=card, when=now)
    return True


def _alert_holder(*, card: Card, when: dt.datetime) -> None:
    holder = card.holder
    user = getattr(holder, "user", None)
    email = (user.email if user else "") or holder.email
    phone = (user.phone if user else "") or holder.phone
    key = f"cardcheck-lock-{card.pk}-{when:%Y%m%d%H%M}"
    if email:
        notify(
            channel=Notification.Channel.EMAIL,
            to=email,
            kind="card_id_attempts",
            subject="Someone tried to use your card details",
            body=(
                f"There were several unsuccessful attempts to enroll or activate your card ending {card.last4} "
                "online, using a wrong card ID or personal details. For your security we have paused this "
                "for 24 hours.\n\nIf this was you, you can try again tomorrow. If it wasn't, call us on "
                f"{settings.SUPPORT_PHONE}: your card is still safe to use."
            ),
            idempotency_key=f"{key}-email",
            user=user,
        )
    if phone:
        notify(
            channel=Notification.Channel.SMS,
            to=phone,
            kind="card_id_attempts",
            body=(
                f"{settings.ISSUER_NAME}: several wrong attempts to enroll/activate card ending {card.last4} online. "
                f"Paused 24h. Not you? Call {settings.SUPPORT_PHONE}."
            ),
            idempotency_key=f"{key}-sms",
            user=user,
        )


@transaction.atomic
def card_check(
    *,
    pan: str,
    card_id: str,
    purpose: str,
    ip: str | None,
    request=None,
    name: str | None = None,
    date_of_birth: dt.date | None = None,
    postal_code: str | None = None,
    expiry: tuple[int, int] | None = None,
) -> CardCheck:
    """Check every fact given; a fact left as None is not asked for in this flow."""
    if network_is_limited(ip):
        return CardCheck(Outcome.NETWORK_LIMITED)
    normalized = cardnumbers.normalize_pan(pan)
    # Finds the card under any accepted PAN hash key and moves it to the current one.
    card = (
        cardnumbers.card_find_by_pan(
            Card.objects.select_for_update(of=("self",)).select_related("holder", "account__product"), normalized
        )
        if cardnumbers.luhn_checksum_ok(normalized)
        else None
    )
    if card is None:
        _record_failure(card=None, purpose=purpose, ip=ip, request=request)
        return CardCheck(Outcome.MISMATCH)
    if card.verification_locked_until and card.verification_locked_until > timezone.now():
        return CardCheck(Outcome.LOCKED)
    if not cardnumbers.verification_key_accepted(card.card_id_key_version):
        # Its card ID was derived under a verification key retired too early: nobody can
        # prove possession online until that key is restored. Not the holder's fault, so
        # the card is not locked; only the network's count grows. Same answer as a
        # mismatch, so nothing is revealed about the card.
        logger.error(
            "card %s: card ID key version %s is not configured (CARD_VERIFICATION_OLD_KEYS); refused",
            card.pk,
            card.card_id_key_version,
        )
        _record_failure(card=None, purpose=purpose, ip=ip, request=request)
        return CardCheck(Outcome.MISMATCH)
    holder = card.holder
    checks = [
        cardnumbers.card_id_matches(
            pan=normalized,
            expiry_month=card.expiry_month,
            expiry_year=card.expiry_year,
            card_id=card_id,
            key_version=card.card_id_key_version,
        )
    ]
    if expiry is not None:
        checks.append(expiry == (card.expiry_month, card.expiry_year))
    if name is not None:
        checks.append(_fold(name) in {_fold(holder.name_on_card), _fold(holder.legal_name)} and bool(_fold(name)))
    if date_of_birth is not None:
        checks.append(date_of_birth == holder.date_of_birth)
    if postal_code is not None:
        checks.append(bool(_postal(postal_code)) and _postal(postal_code) == _postal(holder.postal_code))
    if all(checks):
        return CardCheck(Outcome.OK, card)
    locked = _record_failure(card=card, purpose=purpose, ip=ip, request=request)
    return CardCheck(Outcome.LOCKED if locked else Outcome.MISMATCH)
