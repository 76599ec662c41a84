"""Account recovery: forgot password and forgot User ID.

Nothing here tells the person asking whether a User ID exists or whether the details
they gave matched: a password reset always goes on to the code step (with a code that is
never sent when nothing matched), and a User ID reminder always ends on the same
"if the details match" page. Only the limits speak up.

Limits: recovery attempts per network address (a cache counter, as for sign-in), codes
sent to one user per hour, wrong reset codes per User ID, and one reminder email per
user per quarter hour. The numbers are read from settings when present
(RECOVERY_IP_LIMIT, RECOVERY_IP_WINDOW_SECONDS, RECOVERY_CODES_PER_USER,
RECOVERY_WRONG_CODES_PER_USER_ID, RECOVERY_WRONG_CODES_WINDOW_SECONDS) and fall back to
the defaults below.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import time
import unicodedata
from dataclasses import dataclass

from axes.utils import reset as axes_reset
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from cards.models import CardCheckFailure
from cards.verification import CardCheck, card_check
from cards.verification import _fold as fold_name
from cards.verification import _postal as fold_postal
from portal.net import client_ip
from security import codes
from security.masking import mask_contact
from security.models import Notification, OneTimeCode, SecurityEvent
from security.services import notify, security_event_record

from .models import Cardholder, User
from .services import password_set, user_for_user_id

DEFAULT_IP_LIMIT = 20
DEFAULT_IP_WINDOW = 60 * 60
DEFAULT_CODES_PER_USER = 5
CODES_PER_USER_WINDOW = 60 * 60
REMINDER_WINDOW = 15 * 60
# Each code dies after 5 wrong tries, but a new one can be asked for from any network.
# 10 wrong codes (two codes' worth of tries, more than a person typing from a real
# message gets wrong) in 24 hours pause resets for that User ID until the day is out:
# a guesser gets at most 10 of the million codes a day, whatever networks they use.
DEFAULT_WRONG_CODES_PER_USER_ID = 10
DEFAULT_WRONG_CODES_WINDOW = 24 * 60 * 60


PURPOSE = OneTimeCode.Purpose.PASSWORD_RESET


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


# --- Counters --------------------------------------------------------------------------


def _count(key: str, window: int) -> int:
    cache.add(key, 0, timeout=window)
    try:
        # None while Redis is down (the cache ignores errors): count nothing rather
        # than fail the page, as the other cache counters do.
        return cache.incr(key) or 0
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return 1


def _ip_key(ip: str) -> str:
    return f"recovery:ip:{ip}"


def ip_is_limited(ip: str | None) -> bool:
    if not ip:
        return False
    return (cache.get(_ip_key(ip)) or 0) >= _setting("RECOVERY_IP_LIMIT", DEFAULT_IP_LIMIT)


def ip_attempt_record(ip: str | None) -> None:
    if ip:
        _count(_ip_key(ip), _setting("RECOVERY_IP_WINDOW_SECONDS", DEFAULT_IP_WINDOW))


def ip_window_minutes() -> int:
    return max(1, _setting("RECOVERY_IP_WINDOW_SECONDS", DEFAULT_IP_WINDOW) // 60)


def _user_codes_key(user: User) -> str:
    return f"recovery:codes:{user.pk}"


def _wrong_codes_key(username: str) -> str:
    """Per User ID as typed, whether or not it exists or the details matched, so the
    pause says nothing about either. Folded like the database's case-insensitive match
    (upper, then lower: "ı" and "K" reach the same User ID there), and hashed to keep
    the key safe for any cache."""
    folded = unicodedata.normalize("NFKC", (username or "").strip()).upper().lower()
    return f"recovery:wrongcodes:{hashlib.sha256(folded.encode()).hexdigest()}"


def _wrong_codes_limit() -> int:
    return _setting("RECOVERY_WRONG_CODES_PER_USER_ID", DEFAULT_WRONG_CODES_PER_USER_ID)


def reset_is_paused(username: str) -> bool:
    """Whether resets for this User ID are paused after too many wrong codes."""
    return (cache.get(_wrong_codes_key(username)) or 0) >= _wrong_codes_limit()


def _wrong_code_record(*, username: str, request: HttpRequest | None) -> bool:
    """Count one wrong reset code against the User ID; whether resets are now paused."""
    count = _count(
        _wrong_codes_key(username), _setting("RECOVERY_WRONG_CODES_WINDOW_SECONDS", DEFAULT_WRONG_CODES_WINDOW)
    )
    if count == _wrong_codes_limit():
        security_event_record(
            kind=SecurityEvent.Kind.PASSWORD_RESET,
            outcome=SecurityEvent.Outcome.FAILURE,
            user=user_for_user_id(username),
            request=request,
            username_attempted=username,
            detail={"reason": "too_many_wrong_codes", "step": "code"},
        )
    return count >= _wrong_codes_limit()


def reset_paused_message() -> str:
    hours = max(1, _setting("RECOVERY_WRONG_CODES_WINDOW_SECONDS", DEFAULT_WRONG_CODES_WINDOW) // 3600)
    return (
        "There have been too many wrong codes for this User ID. For your security, password reset for it "
        f"is paused for up to {hours} hour{'s' if hours != 1 else ''}. "
        "Call the number on the back of your card if you need help now."
    )


class ResetPaused(Exception):
    """Too many wrong codes for this User ID: no code is sent or checked for it until
    the pause ends. Said the same way whether or not the User ID exists."""

    def __init__(self):
        super().__init__(reset_paused_message())


def _user_may_get_code(user: User) -> bool:
    """Whether this user may be sent one more reset code this hour. Without a cap,
    anyone who knows a User ID and a birthday could flood that person with codes."""
    return (cache.get(_user_codes_key(user)) or 0) < _setting("RECOVERY_CODES_PER_USER", DEFAULT_CODES_PER_USER)


# --- Matching --------------------------------------------------------------------------


def _facts_match(holder: Cardholder | None, *, date_of_birth: dt.date | None, postal_code: str | None) -> bool:
    if holder is None:
        return False
    if date_of_birth is not None:
        return holder.date_of_birth == date_of_birth
    if postal_code is not None:
        return bool(fold_postal(postal_code)) and fold_postal(postal_code) == fold_postal(holder.postal_code)
    return False


def contact_on_file(user: User, channel: str) -> str:
    holder = user.cardholder if user.cardholder_id else None
    if channel == Notification.Channel.SMS:
        return user.phone or (holder.phone if holder else "")
    return user.email or (holder.email if holder else "")


# --- Forgot password -------------------------------------------------------------------


@dataclass(frozen=True)
class ResetStart:
    """What the session keeps about a reset attempt. ``user_id`` is None when nothing
    matched; the person is shown exactly the same pages either way."""

    binding: str
    user_id: int | None
    channel: str
    username: str  # the User ID as typed: wrong codes are counted against it


def _reset_failure_record(*, request: HttpRequest | None, user: User | None, username: str, reason: str) -> None:
    security_event_record(
        kind=SecurityEvent.Kind.PASSWORD_RESET,
        outcome=SecurityEvent.Outcome.FAILURE,
        user=user,
        request=request,
        username_attempted=username,
        detail={"reason": reason, "step": "details"},
    )


def _code_send(
    *, binding: str, user: User | None, channel: str, request: HttpRequest | None, resend: bool
) -> OneTimeCode:
    """Issue the flow's code: delivered to the contact on file when the flow matched a
    user (and the per-user cap allows), otherwise stored and never sent. Raises
    ``codes.CodeCooldown`` either way when asked again too soon."""
    destination = contact_on_file(user, channel) if user is not None else ""
    deliver = bool(user is not None and destination)
    if deliver and not _user_may_get_code(user):
        deliver = False
        _reset_failure_record(request=request, user=user, username=user.username, reason="too_many_codes")
    record = codes.code_issue(
        purpose=PURPOSE,
        binding=binding,
        channel=channel,
        destination=destination if deliver else "",
        user=user if deliver else None,
        deliver=deliver,
    )
    if deliver:
        _count(_user_codes_key(user), CODES_PER_USER_WINDOW)
        security_event_record(
            kind=SecurityEvent.Kind.CODE_SENT,
            user=user,
            request=request,
            detail={"purpose": PURPOSE, "channel": channel, "to": mask_contact(destination), "resend": resend},
        )
    return record


def password_reset_start(
    *,
    username: str,
    date_of_birth: dt.date | None,
    postal_code: str | None,
    channel: str,
    request: HttpRequest | None = None,
) -> ResetStart:
    """Step 1: match the User ID and one fact, and send a code to the contact on file.
    The same work is done, and the same answer given, when nothing matches. Raises
    ``ResetPaused``, having issued no code, while resets for the User ID are paused."""
    if reset_is_paused(username):
        _reset_failure_record(request=request, user=user_for_user_id(username), username=username, reason="paused")
        raise ResetPaused
    with transaction.atomic():
        binding = codes.new_binding()
        user = user_for_user_id(username)
        matched = (
            user is not None
            and user.is_active
            and _facts_match(
                user.cardholder if user.cardholder_id else None, date_of_birth=date_of_birth, postal_code=postal_code
            )
        )
        if user is None:
            _reset_failure_record(request=request, user=None, username=username, reason="unknown_user_id")
        elif not user.is_active:
            _reset_failure_record(request=request, user=user, username=username, reason="inactive")
        elif not matched:
            _reset_failure_record(request=request, user=user, username=username, reason="details_mismatch")
        elif not contact_on_file(user, channel):
            _reset_failure_record(request=request, user=user, username=username, reason="no_contact")
            matched = False
        reset_user = user if matched else None
        _code_send(binding=binding, user=reset_user, channel=channel, request=request, resend=False)
        return ResetStart(
            binding=binding, user_id=reset_user.pk if reset_user else None, channel=channel, username=username
        )


def password_reset_resend(*, start: ResetStart, request: HttpRequest | None = None) -> None:
    """Raises ``codes.CodeCooldown`` when asked too soon (for matched and unmatched
    flows alike), and ``ResetPaused`` while resets for the User ID are paused."""
    if reset_is_paused(start.username):
        raise ResetPaused
    user = reset_user_get(user_id=start.user_id)
    with transaction.atomic():
        _code_send(
            binding=start.binding,
            user=user,
            channel=start.channel,
            request=request,
            resend=True,
        )


def password_reset_verify(*, start: ResetStart, code: str, request: HttpRequest | None = None) -> codes.Verification:
    """Step 2. Wrong codes are counted against the User ID across attempts and networks;
    raises ``ResetPaused`` (the code unchecked) while resets for it are paused, and when
    this wrong code is the one that pauses them."""
    if reset_is_paused(start.username):
        raise ResetPaused
    verification = codes.code_verify(purpose=PURPOSE, binding=start.binding, code=code)
    user = User.objects.filter(pk=start.user_id).first() if start.user_id else None
    if verification.ok and (user is None or verification.code.user_id != user.pk):
        # Only a lucky guess can verify a code that was never sent (nothing matched, or
        # the per-user cap held it back): answer as for any wrong code, unlock nothing.
        verification = codes.Verification(codes.VerifyResult.WRONG, attempts_left=codes.MAX_FAILED_ATTEMPTS - 1)
    security_event_record(
        kind=SecurityEvent.Kind.CODE_VERIFIED if verification.ok else SecurityEvent.Kind.CODE_FAILED,
        outcome=SecurityEvent.Outcome.SUCCESS if verification.ok else SecurityEvent.Outcome.FAILURE,
        user=user,
        request=request,
        detail={"purpose": PURPOSE, "result": verification.result.value},
    )
    typed_wrong = verification.result in (codes.VerifyResult.WRONG, codes.VerifyResult.TOO_MANY)
    if typed_wrong and _wrong_code_record(username=start.username, request=request):
        raise ResetPaused
    return verification


def reset_user_get(*, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    return User.objects.select_related("cardholder").filter(pk=user_id, is_active=True).first()


@transaction.atomic
def password_reset_complete(*, user: User, raw_password: str, channel: str, request: HttpRequest | None = None) -> None:
    """Step 3: set the new password under the policy (raises ``ValidationError``), end
    any User ID lock, end every other session, record it and alert the cardholder.
    The person is not signed in: they log in with the new password and any second
    factor as usual."""
    password_set(user=user, raw_password=raw_password)
    # django-axes counts failures against the lower-cased User ID (accounts.signin).
    axes_reset(username=user.username.lower())
    cache.delete(_wrong_codes_key(user.username))
    event = security_event_record(
        kind=SecurityEvent.Kind.PASSWORD_RESET,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=user,
        request=request,
        username_attempted=user.username,
        detail={"confirmed_by": channel},
    )
    when = timezone.localtime(event.created_at)
    stamp = f"{when:%B} {when.day}, {when.year} at {when:%I:%M %p %Z}"
    email = contact_on_file(user, Notification.Channel.EMAIL)
    phone = contact_on_file(user, Notification.Channel.SMS)
    if email:
        notify(
            channel=Notification.Channel.EMAIL,
            to=email,
            kind="password_reset",
            subject="Your password was changed",
            body=(
                f"Hello {user.get_short_name()},\n\n"
                f"Your password was changed on {stamp}, after a reset with a security code. "
                "We've signed you out everywhere else.\n\n"
                "If this was you, there's nothing else to do.\n\n"
                f"If it wasn't you, call us right away on {settings.SUPPORT_PHONE}: someone may have "
                "access to your email or phone."
            ),
            idempotency_key=f"password-reset-email-{event.pk}",
            user=user,
        )
    if phone:
        notify(
            channel=Notification.Channel.SMS,
            to=phone,
            kind="password_reset",
            body=(
                f"{settings.ISSUER_NAME}: Your password was changed. Not you? Call {settings.SUPPORT_PHONE} right away."
            ),
            idempotency_key=f"password-reset-sms-{event.pk}",
            user=user,
        )


# --- Forgot User ID --------------------------------------------------------------------


class ReminderRoute(enum.Enum):
    CARD = "card"
    DETAILS = "details"
    STAFF = "staff"  # a staff member sent it from the staff console


def user_id_reminder_send(
    *,
    user: User,
    route: ReminderRoute,
    request: HttpRequest | None = None,
    card_last4: str = "",
    actor: User | None = None,
    reason: str = "",
) -> bool:
    """Email the User ID to the address on file. Returns whether one was sent; at most
    one reminder per user per quarter hour, so the form cannot be used to flood an
    inbox. ``actor`` and ``reason``: the staff member who sent it, and why."""
    if not user.is_active:
        return False
    email = contact_on_file(user, Notification.Channel.EMAIL)
    if not email:
        return False
    window = int(time.time()) // REMINDER_WINDOW
    key = f"user-id-reminder-{user.pk}-{window}"
    if Notification.objects.filter(idempotency_key=key).exists():
        return False
    reset_path = reverse("recovery:password")
    reset_url = request.build_absolute_uri(reset_path) if request is not None else reset_path
    with transaction.atomic():
        notify(
            channel=Notification.Channel.EMAIL,
            to=email,
            kind="user_id_reminder",
            subject=f"Your {settings.ISSUER_NAME} User ID",
            body=(
                f"Hello {user.get_short_name()},\n\n"
                f"You asked us to remind you of your User ID for {settings.ISSUER_NAME} online account access.\n\n"
                f"Your User ID is: {user.username}\n\n"
                f"Forgot your password too? You can reset it here: {reset_url}\n\n"
                "If you didn't ask for this, you don't need to do anything: nobody can log in with a User ID "
                f"alone. If you're worried, call us on {settings.SUPPORT_PHONE}."
            ),
            idempotency_key=key,
            user=user,
        )
        security_event_record(
            kind=SecurityEvent.Kind.USER_ID_REMINDER,
            outcome=SecurityEvent.Outcome.SUCCESS,
            user=user,
            actor=actor,
            request=request,
            detail={
                "route": route.value,
                **({"card": f"•••• {card_last4}"} if card_last4 else {}),
                **({"reason": reason[:200]} if reason else {}),
            },
        )
    return True


def user_for_personal_details(*, name: str, date_of_birth: dt.date, postal_code: str) -> list[User]:
    """Logins whose cardholder has this name (legal name or name on card), date of
    birth and ZIP code."""
    wanted_name, wanted_postal = fold_name(name), fold_postal(postal_code)
    if not wanted_name or not wanted_postal:
        return []
    holders = Cardholder.objects.filter(date_of_birth=date_of_birth, user__isnull=False).select_related("user")
    return [
        holder.user
        for holder in holders
        if wanted_name in {fold_name(holder.legal_name), fold_name(holder.name_on_card)}
        and fold_postal(holder.postal_code) == wanted_postal
    ]


def user_id_reminder_by_details(
    *, name: str, date_of_birth: dt.date, postal_code: str, request: HttpRequest | None = None
) -> None:
    users = user_for_personal_details(name=name, date_of_birth=date_of_birth, postal_code=postal_code)
    for user in users:
        user_id_reminder_send(user=user, route=ReminderRoute.DETAILS, request=request)
    if not users:
        security_event_record(
            kind=SecurityEvent.Kind.USER_ID_REMINDER,
            outcome=SecurityEvent.Outcome.FAILURE,
            request=request,
            detail={"route": ReminderRoute.DETAILS.value, "reason": "no_match"},
        )


def user_id_reminder_by_card(*, pan: str, card_id: str, request: HttpRequest | None = None) -> CardCheck:
    """Prove possession of a card (failures are counted per card and per network, as
    for enrollment); if it checks out and its holder has a login, email the User ID."""
    check = card_check(
        pan=pan,
        card_id=card_id,
        purpose=CardCheckFailure.Purpose.USER_ID_REMINDER,
        ip=client_ip(request),
        request=request,
    )
    user = None
    if check.ok:
        user = User.objects.filter(cardholder_id=check.card.holder_id).select_related("cardholder").first()
    if user is not None:
        user_id_reminder_send(user=user, route=ReminderRoute.CARD, request=request, card_last4=check.card.last4)
    else:
        security_event_record(
            kind=SecurityEvent.Kind.USER_ID_REMINDER,
            outcome=SecurityEvent.Outcome.FAILURE,
            request=request,
            detail={
                "route": ReminderRoute.CARD.value,
                "reason": "no_login" if check.ok else check.outcome.value,
                **({"card": f"•••• {check.card.last4}"} if check.card else {}),
            },
        )
    return check
