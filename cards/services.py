"""Writes for cards: opening accounts and issuing cards."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from accounts.models import Cardholder, User
from portal.money import quantize

from . import cardnumbers
from .models import (
    BusinessProgram,
    Card,
    CardAccount,
    CardProduct,
    CardRequest,
    Category,
    RewardEntry,
    Transaction,
)


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
    pan_ring, verification_ring = cardnumbers.pan_hash_keyring(), cardnumbers.verification_keyring()
    while True:
        pan = cardnumbers.generate_pan()
        # A number is free only if no card has it under any accepted key version.
        if not Card.objects.filter(cardnumbers.pan_lookup_q(pan)).exists():
            break
    now = timezone.now()
    card = Card.objects.create(
        account=account,
        holder=holder,
        role=role,
        pan_hash=cardnumbers.pan_hash(pan),
        pan_key_version=pan_ring.current_version,
        card_id_key_version=verification_ring.current_version,
        first6=pan[:6],
        last4=pan[-4:],
        expiry_month=expiry_month,
        expiry_year=expiry_year,
        status=Card.Status.ACTIVE if active else Card.Status.INACTIVE,
        activated_at=now if active else None,
        monthly_limit=monthly_limit,
        replaces=replaces,
    )
    card_id = cardnumbers.derive_card_id(
        pan=pan, expiry_month=expiry_month, expiry_year=expiry_year, key_version=card.card_id_key_version
    )
    return IssuedCard(card=card, pan=pan, card_id=card_id)


def card_find_by_number(*, pan: str) -> Card | None:
    """Look a card up by the number a person typed (hash look-up, never a stored PAN)."""
    normalized = cardnumbers.normalize_pan(pan)
    if not cardnumbers.luhn_checksum_ok(normalized):
        return None
    # Rehashes a card still on an old PAN hash key (docs/key-rotation.md).
    with transaction.atomic():
        return cardnumbers.card_find_by_pan(Card.objects.select_related("account__product", "holder"), normalized)


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


# --- Card controls -----------------------------------------------------------------------
# Each control checks the acting user through cards.selectors (a card they cannot see is
# "not found", Http404; one they see but may not control is PermissionDenied), locks the
# account then the card (the order authorizations use, so a control and a purchase never
# deadlock and a freeze applies to the very next authorization), and writes a
# CARD_STATUS_CHANGED security event naming the actor.


def _staff_agent(actor: User, *also: str) -> bool:
    """Staff serving a customer (by phone, from the admin) may use every control; staff
    holding one of ``also`` (e.g. "cards.freeze_card", the fraud team) that one."""
    return (
        actor.is_active
        and actor.is_staff
        and any(actor.has_perm(permission) for permission in ("cards.change_card", *also))
    )


def _require(actor: User, card: Card, allowed: Q | None, refusal: str, *, staff_permission: str = "") -> None:
    from .selectors import card_visible_to

    if _staff_agent(actor, *([staff_permission] if staff_permission else [])):
        return
    if not Card.objects.filter(card_visible_to(actor), pk=card.pk).exists():
        raise Http404("No card matches the given query.")
    if allowed is not None and not Card.objects.filter(allowed, pk=card.pk).exists():
        raise PermissionDenied(refusal)


def _locked(card: Card) -> Card:
    from .ledger import account_lock

    account_lock(card.account_id)
    return Card.objects.select_for_update(no_key=True).select_related("holder", "account").get(pk=card.pk)


def _holder_user(card: Card) -> User | None:
    return getattr(card.holder, "user", None)


def _card_event(*, card: Card, actor: User, request, action: str, **detail) -> None:
    from security.models import SecurityEvent
    from security.services import security_event_record

    security_event_record(
        kind=SecurityEvent.Kind.CARD_STATUS_CHANGED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=_holder_user(card),
        actor=actor,
        request=request,
        detail={"card": card.masked_number, "action": action, **detail},
    )


def _status_set(card: Card, status: str, **extra) -> str:
    previous = card.status
    card.status = status
    for name, value in extra.items():
        setattr(card, name, value)
    card.save(update_fields=["status", *extra])
    return previous


FRAUD_TEAM_FREEZE = "Our fraud team froze this card. Call the number on the back of your card."


class _FreezeAuthority(IntEnum):
    """Who outranks whom over a card's freeze. A freeze holds against anyone with less
    authority (card_unfreeze), and a freeze by someone with more takes it over
    (card_freeze)."""

    CARDHOLDER = 0  # the card's own holder
    MANAGER = 1  # the account's basic card member, the program's administrator
    STAFF = 2  # the fraud team, customer service


def card_frozen_by_staff(card: Card) -> bool:
    """Whether staff (the fraud team) froze the card: only staff lift that freeze."""
    return card.frozen_by_id is not None and card.frozen_by.is_staff


def _manages(user: User, card: Card) -> bool:
    from .selectors import card_managed_by

    return Card.objects.filter(card_managed_by(user), pk=card.pk).exists()


def _freezer_authority(card: Card) -> _FreezeAuthority:
    """The authority of whoever froze ``card``, as card_unfreeze weighs it."""
    if card.frozen_by_id is None:
        return _FreezeAuthority.MANAGER  # their login is gone: card_unfreeze asks for a manager
    if card_frozen_by_staff(card):
        return _FreezeAuthority.STAFF
    return _FreezeAuthority.MANAGER if _manages(card.frozen_by, card) else _FreezeAuthority.CARDHOLDER


def _actor_authority(actor: User, card: Card) -> _FreezeAuthority:
    if _staff_agent(actor, "cards.freeze_card"):
        return _FreezeAuthority.STAFF
    return _FreezeAuthority.MANAGER if _manages(actor, card) else _FreezeAuthority.CARDHOLDER


@transaction.atomic
def card_freeze(*, actor: User, card: Card, request=None, reason: str = "") -> Card:
    """Freeze an active card: the next authorization is declined. Staff (the fraud team,
    from the admin) give a ``reason``.

    On a frozen card, a freeze by someone with more authority than whoever froze it (staff
    over anyone, the account's manager over the cardholder) takes the freeze over, so
    the first freezer can no longer lift it; from anyone else it changes nothing."""
    _require(actor, card, None, "", staff_permission="cards.freeze_card")
    card = _locked(card)
    if card.status == Card.Status.FROZEN:
        if card.frozen_by_id == actor.pk or _actor_authority(actor, card) <= _freezer_authority(card):
            return card
    elif card.status != Card.Status.ACTIVE:
        raise CardServiceError("Only an active card can be frozen.")
    previous = _status_set(card, Card.Status.FROZEN, frozen_by=actor)
    _card_event(
        card=card,
        actor=actor,
        request=request,
        action="freeze",
        **{"from": previous, "to": card.status},
        **({"reason": reason[:200]} if reason else {}),
    )
    return card


@transaction.atomic
def card_unfreeze(*, actor: User, card: Card, request=None) -> Card:
    """Lift a freeze. A supplementary or employee cardholder may lift only a freeze
    they put on themselves, not one from the basic card member or the administrator;
    a freeze by staff (the fraud team) only staff lift. Who may lift what is the
    ``_FreezeAuthority`` order that card_freeze uses to take a freeze over."""
    from .selectors import card_managed_by

    _require(actor, card, None, "")
    card = _locked(card)
    if card.status == Card.Status.ACTIVE:
        return card
    if card.status != Card.Status.FROZEN:
        raise CardServiceError("Only a frozen card can be unfrozen.")
    if card.frozen_by_id != actor.pk:
        if card_frozen_by_staff(card) and not _staff_agent(actor):
            # A fraud-team freeze holds even if the cardholder's login is the problem.
            raise PermissionDenied(FRAUD_TEAM_FREEZE)
        _require(actor, card, card_managed_by(actor), "This card was frozen by your account's administrator.")
    previous = _status_set(card, Card.Status.ACTIVE, frozen_by=None)
    _card_event(card=card, actor=actor, request=request, action="unfreeze", **{"from": previous, "to": card.status})
    return card


def _replacement_expiry() -> tuple[int, int]:
    today = timezone.localdate()
    return today.month, today.year + 4


@transaction.atomic
def card_report_lost_stolen(*, actor: User, card: Card, request=None) -> IssuedCard | None:
    """Close the card to new authorizations at once and issue a replacement (a new
    number, inactive until activated) on the same account. Authorizations already
    approved on the old card still clear. The cardholder is alerted.

    Returns the replacement, whose number and card ID only card production may use,
    or None when the card had already been replaced (for example reissued at expiry)."""
    from security.models import Notification
    from security.services import notify

    _require(actor, card, None, "")
    card = _locked(card)
    if card.status in (Card.Status.LOST_STOLEN, Card.Status.CLOSED):
        raise CardServiceError("This card is already closed.")
    previous = _status_set(card, Card.Status.LOST_STOLEN, frozen_by=None)
    issued = None
    if not Card.objects.filter(replaces=card).exists():
        expiry_month, expiry_year = _replacement_expiry()
        issued = card_issue(
            account=card.account,
            holder=card.holder,
            role=card.role,
            expiry_month=expiry_month,
            expiry_year=expiry_year,
            monthly_limit=card.monthly_limit,
            replaces=card,
        )
        if card.blocked_categories:
            issued.card.blocked_categories = list(card.blocked_categories)
            issued.card.save(update_fields=["blocked_categories"])
    _card_event(
        card=card,
        actor=actor,
        request=request,
        action="report_lost_stolen",
        replacement=issued.card.masked_number if issued else "",
        **{"from": previous, "to": card.status},
    )
    user = _holder_user(card)
    email = (user.email if user else "") or card.holder.email
    phone = (user.phone if user else "") or card.holder.phone
    if email:
        notify(
            channel=Notification.Channel.EMAIL,
            to=email,
            kind="card_lost_stolen",
            subject="Your card was reported lost or stolen",
            body=(
                f"Your card ending {card.last4} was reported lost or stolen and can no longer be used for new "
                "purchases. Purchases you made before the report will still go through.\n\n"
                + (
                    "A replacement card with a new number is on its way; activate it when it arrives.\n\n"
                    if issued
                    else ""
                )
                + f"If you did not make this report, call us right away on {settings.SUPPORT_PHONE}."
            ),
            idempotency_key=f"card-lost-stolen-{card.pk}-email",
            user=user,
        )
    if phone:
        notify(
            channel=Notification.Channel.SMS,
            to=phone,
            kind="card_lost_stolen",
            body=(
                f"{settings.ISSUER_NAME}: card ending {card.last4} reported lost/stolen and blocked. "
                f"Not you? Call {settings.SUPPORT_PHONE}."
            ),
            idempotency_key=f"card-lost-stolen-{card.pk}-sms",
            user=user,
        )
    return issued


@transaction.atomic
def card_close(*, actor: User, card: Card, request=None) -> Card:
    """Close a supplementary or employee card for good (the basic card member or the
    program administrator). Authorizations already approved still clear. The basic
    card closes with its account, which is done by staff."""
    from .selectors import card_managed_by

    _require(actor, card, card_managed_by(actor), "Only the basic card member or an administrator can close a card.")
    card = _locked(card)
    if card.status == Card.Status.CLOSED:
        return card
    if card.role == Card.Role.BASIC and not _staff_agent(actor):
        raise CardServiceError("The basic card closes with the account: call us to close the account.")
    previous = _status_set(card, Card.Status.CLOSED, frozen_by=None)
    _card_event(card=card, actor=actor, request=request, action="close", **{"from": previous, "to": card.status})
    return card


def _require_employee_card(actor: User, card: Card) -> None:
    from .selectors import card_administered_by

    _require(actor, card, card_administered_by(actor), "Only the program administrator can change this card.")
    if card.role != Card.Role.EMPLOYEE:
        raise CardServiceError("Spending controls apply to employee cards.")


def employee_card_controls_refusal(*, card: Card) -> str:
    """Why an employee card's spending controls can't be changed, or "" if they can.

    A closed or lost card takes no new purchases, and its replacement carries copies of
    its controls made at the report: a change here would reach nothing, so it is
    refused and the administrator is sent to the replacement."""
    if card.status not in (Card.Status.CLOSED, Card.Status.LOST_STOLEN):
        return ""
    what = "was reported lost or stolen" if card.status == Card.Status.LOST_STOLEN else "is closed"
    text = f"This card {what}, so its spending controls can't be changed."
    replacement = _current_replacement(card)
    if replacement is not None:
        text += f" Change them on its replacement, the card ending {replacement.last4}."
    return text


def _current_replacement(card: Card) -> Card | None:
    """The newest card in ``card``'s line of replacements, if it can still be used."""
    newest = None
    following = Card.objects.filter(replaces=card).only("status", "last4").first()
    while following is not None:
        newest = following
        following = Card.objects.filter(replaces=following).only("status", "last4").first()
    if newest is None or newest.status in (Card.Status.CLOSED, Card.Status.LOST_STOLEN):
        return None
    return newest


def _require_controls_changeable(card: Card) -> None:
    refusal = employee_card_controls_refusal(card=card)
    if refusal:
        raise CardServiceError(refusal)


def _categories(values) -> list[str]:
    chosen = sorted(set(values))
    unknown = [value for value in chosen if value not in Category.values]
    if unknown:
        raise CardServiceError("Choose categories from the list.")
    return chosen


def _limit(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    amount = quantize(value)
    if amount <= 0:
        raise CardServiceError("The monthly limit must be more than zero.")
    return amount


@transaction.atomic
def employee_card_limit_set(*, actor: User, card: Card, monthly_limit: Decimal | None, request=None) -> Card:
    """Set (or with None remove) an employee card's monthly spending limit. It applies
    from the next authorization, counting what the card spent this month."""
    _require_employee_card(actor, card)
    card = _locked(card)
    _require_controls_changeable(card)
    previous = card.monthly_limit
    card.monthly_limit = _limit(monthly_limit)
    card.save(update_fields=["monthly_limit"])
    _card_event(
        card=card,
        actor=actor,
        request=request,
        action="monthly_limit",
        **{
            "from": str(previous) if previous is not None else None,
            "to": str(card.monthly_limit) if card.monthly_limit is not None else None,
        },
    )
    return card


@transaction.atomic
def employee_card_categories_block(*, actor: User, card: Card, categories, request=None) -> Card:
    """Replace the list of merchant categories the employee card may not buy in."""
    _require_employee_card(actor, card)
    chosen = _categories(categories)
    card = _locked(card)
    _require_controls_changeable(card)
    previous = list(card.blocked_categories or [])
    card.blocked_categories = chosen
    card.save(update_fields=["blocked_categories"])
    _card_event(
        card=card, actor=actor, request=request, action="blocked_categories", **{"from": previous, "to": chosen}
    )
    return card


CARD_REQUEST_KEY = re.compile(r"[0-9A-Za-z_-]{16,64}")
CARD_REQUEST_EXPIRED = "This form has expired. Check the details and send the request again."


@transaction.atomic
def employee_card_request(
    *,
    actor: User,
    account: CardAccount,
    legal_name: str,
    name_on_card: str,
    date_of_birth,
    postal_code: str,
    email: str,
    phone: str = "",
    monthly_limit: Decimal | None = None,
    blocked_categories=(),
    idempotency_key: str | None = None,
    request=None,
) -> CardRequest:
    """Queue a new employee card on a business account for staff to issue.

    ``idempotency_key`` (one per rendered form) makes a double submit or a replayed
    POST queue one card: the same key again returns the request it first queued.
    Without one (staff, scripts) every call queues a card."""
    from security.models import SecurityEvent
    from security.services import security_event_record

    from .ledger import account_lock

    administers = BusinessProgram.objects.filter(pk=account.business_program_id, administrators=actor).exists()
    if not (administers or _staff_agent(actor)):
        raise Http404("No account matches the given query.")
    if idempotency_key is not None:
        if not CARD_REQUEST_KEY.fullmatch(idempotency_key):
            raise CardServiceError(CARD_REQUEST_EXPIRED)
        # Under the account's lock, a second submit with this key waits for the first
        # to commit, then finds its request (the unique key is the backstop).
        account = account_lock(account.pk)
        seen = CardRequest.objects.filter(idempotency_key=idempotency_key).first()
        if seen is not None:
            if (seen.account_id, seen.requested_by_id) != (account.pk, actor.pk):
                raise CardServiceError(CARD_REQUEST_EXPIRED)
            return seen
    if account.status != CardAccount.Status.OPEN:
        raise CardServiceError("New cards can only be requested on an open account.")
    if not legal_name.strip() or not name_on_card.strip():
        raise CardServiceError("Give the employee's name.")
    name_on_card = name_on_card.strip().upper()
    longest = CardRequest._meta.get_field("name_on_card").max_length
    if len(name_on_card) > longest:
        # The form refuses it first, counted in capitals; never print a name cut short.
        raise CardServiceError(f"The name on the card can be at most {longest} characters.")
    card_request = CardRequest.objects.create(
        account=account,
        requested_by=actor,
        **({"idempotency_key": idempotency_key} if idempotency_key is not None else {}),
        legal_name=legal_name.strip(),
        name_on_card=name_on_card,
        date_of_birth=date_of_birth,
        postal_code=postal_code.strip(),
        email=email.strip(),
        phone=phone.strip(),
        monthly_limit=_limit(monthly_limit),
        blocked_categories=_categories(blocked_categories),
    )
    security_event_record(
        kind=SecurityEvent.Kind.CARD_STATUS_CHANGED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=actor,
        actor=actor,
        request=request,
        detail={"action": "employee_card_requested", "account": account.reference, "request": card_request.pk},
    )
    return card_request


@transaction.atomic
def card_request_fulfil(*, staff: User, card_request: CardRequest, request=None) -> IssuedCard:
    """Staff issue the requested employee card (inactive, to be activated by the
    employee). Returns the card for card production."""
    if not _staff_agent(staff):
        raise PermissionDenied("Only staff issue cards.")
    card_request = CardRequest.objects.select_for_update().select_related("account").get(pk=card_request.pk)
    if card_request.status != CardRequest.Status.REQUESTED:
        raise CardServiceError("This request has already been handled.")
    holder = Cardholder.objects.create(
        legal_name=card_request.legal_name,
        name_on_card=card_request.name_on_card,
        date_of_birth=card_request.date_of_birth,
        postal_code=card_request.postal_code,
        email=card_request.email,
        phone=card_request.phone,
    )
    expiry_month, expiry_year = _replacement_expiry()
    issued = card_issue(
        account=card_request.account,
        holder=holder,
        role=Card.Role.EMPLOYEE,
        expiry_month=expiry_month,
        expiry_year=expiry_year,
        monthly_limit=card_request.monthly_limit,
    )
    if card_request.blocked_categories:
        issued.card.blocked_categories = list(card_request.blocked_categories)
        issued.card.save(update_fields=["blocked_categories"])
    card_request.status = CardRequest.Status.ISSUED
    card_request.card = issued.card
    card_request.resolved_by = staff
    card_request.resolved_at = timezone.now()
    card_request.save(update_fields=["status", "card", "resolved_by", "resolved_at"])
    _card_event(
        card=issued.card, actor=staff, request=request, action="employee_card_issued", request_id=card_request.pk
    )
    return issued


@transaction.atomic
def card_request_decline(*, staff: User, card_request: CardRequest, note: str, request=None) -> CardRequest:
    if not _staff_agent(staff):
        raise PermissionDenied("Only staff handle card requests.")
    card_request = CardRequest.objects.select_for_update().get(pk=card_request.pk)
    if card_request.status != CardRequest.Status.REQUESTED:
        raise CardServiceError("This request has already been handled.")
    card_request.status = CardRequest.Status.DECLINED
    card_request.note = note[:200]
    card_request.resolved_by = staff
    card_request.resolved_at = timezone.now()
    card_request.save(update_fields=["status", "note", "resolved_by", "resolved_at"])
    return card_request


# --- Rewards ------------------------------------------------------------------------------


class RewardsError(CardServiceError):
    """A redemption the rules refuse; the message says why and what is possible."""


@dataclass(frozen=True)
class Redemption:
    entry: RewardEntry  # the ledger's redeem row (negative quantity)
    credit: Transaction  # the statement credit (negative amount, posted)
    replayed: bool = False  # True when this idempotency key had already redeemed


REDEMPTION_PREFIX = "rewards-redeem-"
ZERO_REWARDS = Decimal("0.00")


def _reward_amount_text(product: CardProduct, quantity: Decimal) -> str:
    from portal.money import format_money

    if product.rewards_kind == CardProduct.RewardsKind.POINTS:
        return f"{quantity:,.0f} points"
    return f"{format_money(quantity, product.currency)} cash back"


@transaction.atomic
def rewards_redeem(
    *, actor: User, account: CardAccount, quantity: Decimal, idempotency_key: str, request=None
) -> Redemption:
    """Redeem points (or cash back) as a statement credit, in the product's steps
    (``redemption_step`` units = ``redemption_step_value``).

    Only someone who manages the account (its basic card member, or an administrator
    of its business program) may redeem; anyone else is told the account is not found.
    Under the account's row lock the balance is read, the credit is posted through
    cards.ledger and the ledger gets its redeem row, all in one database transaction.
    The idempotency key (one per rendered form) makes a double submit, a replayed POST
    or two tabs redeem once: a second call with the same key returns the first result.
    """
    from . import ledger
    from .rewards import reward_entry_add
    from .selectors import account_managed_by, reward_balance

    if not (CardAccount.objects.filter(account_managed_by(actor), pk=account.pk).exists() or _staff_agent(actor)):
        raise Http404("No account matches the given query.")
    if not (8 <= len(idempotency_key) <= 48) or not idempotency_key.replace("-", "").isalnum():
        raise RewardsError("This form has expired. Open the rewards page again and redeem from there.")
    network_id = f"{REDEMPTION_PREFIX}{idempotency_key}"

    account = ledger.account_lock(account.pk)
    done = Transaction.objects.filter(network_id=network_id).first()
    if done is not None:
        if done.account_id != account.pk:
            raise RewardsError("This form has expired. Open the rewards page again and redeem from there.")
        return Redemption(
            entry=RewardEntry.objects.get(transaction=done, kind=RewardEntry.Kind.REDEEM), credit=done, replayed=True
        )

    product = account.product
    step = Decimal(product.redemption_step)
    quantity = quantize(quantity)
    if account.status == CardAccount.Status.CLOSED:
        raise RewardsError("Rewards can't be redeemed on a closed account. Call us to use your rewards.")
    if quantity <= 0 or quantity % step:
        raise RewardsError(
            f"Redeem in steps of {_reward_amount_text(product, step)}, for example "
            f"{_reward_amount_text(product, step)} or {_reward_amount_text(product, step * 2)}."
        )
    balance = reward_balance(account=account)
    if quantity > balance:
        raise RewardsError(
            f"You have {_reward_amount_text(product, max(balance, ZERO_REWARDS))} to redeem: "
            f"that's less than {_reward_amount_text(product, quantity)}."
        )
    steps = int(quantity // step)
    value = quantize(product.redemption_step_value * steps)
    unit_name = "Points" if product.rewards_kind == CardProduct.RewardsKind.POINTS else "Cash back"
    description = f"{unit_name} redeemed for a statement credit"
    credit = ledger.transaction_record(
        account=account,
        kind=Transaction.Kind.CREDIT,
        status=Transaction.Status.POSTED,
        amount=-value,
        merchant_name="Rewards statement credit",
        category=Category.OTHER,
        network_id=network_id,
        transacted_at=timezone.now(),
        detail=f"{_reward_amount_text(product, quantity)} redeemed",
    )
    entry = reward_entry_add(
        account=account,
        transaction=credit,
        kind=RewardEntry.Kind.REDEEM,
        unit=RewardEntry.Unit.POINTS
        if product.rewards_kind == CardProduct.RewardsKind.POINTS
        else RewardEntry.Unit.CASH,
        quantity=-quantity,
        description=description,
    )
    return Redemption(entry=entry, credit=credit)
