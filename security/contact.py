"""Changing the email address or mobile number that codes and alerts go to.

By the cardholder: after confirming it's them (security.reauth), a code goes to the NEW
contact and the change takes effect only once that code is entered; the OLD contact is
told. By staff (after an identity verification, security.staff): the new contact is
marked verified by them, and every contact on file, old and new, is told. Either way a
``CONTACT_CHANGED`` event, and the code devices follow the new contact at once."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User

from . import codes
from .devices import code_devices_sync
from .masking import mask_contact
from .models import Notification, OneTimeCode, SecurityEvent
from .services import notify, security_event_record

EMAIL = "email"
PHONE = "phone"
KINDS = {
    EMAIL: ("email", "email_verified_at", Notification.Channel.EMAIL, "email address"),
    PHONE: ("phone", "phone_verified_at", Notification.Channel.SMS, "mobile number"),
}
# Codes to new contacts per user per hour: the form must not become a way to send
# messages to strangers.
CODES_PER_HOUR = 5
PURPOSE = OneTimeCode.Purpose.CONTACT_CHANGE


class ContactChangeError(Exception):
    pass


def kind_label(kind: str) -> str:
    return KINDS[kind][3]


def channel_for(kind: str) -> str:
    return KINDS[kind][2]


def current_value(user: User, kind: str) -> str:
    return getattr(user, KINDS[kind][0]) or ""


def _same(kind: str, a: str, b: str) -> bool:
    return (a or "").strip().lower() == (b or "").strip().lower()


@dataclass(frozen=True)
class ContactChangeStart:
    binding: str
    sent_to: str


def _count_code(user: User) -> int:
    key = f"contact-change-codes:{user.pk}"
    cache.add(key, 0, timeout=60 * 60)
    try:
        return cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=60 * 60)
        return 1


def contact_change_start(
    *, user: User, kind: str, value: str, request: HttpRequest | None = None, binding: str | None = None
) -> ContactChangeStart:
    """Send a code to the new contact. Raises ``ContactChangeError`` (same value, too
    many codes) or ``codes.CodeCooldown``. Nothing about the account changes yet."""
    if _same(kind, value, current_value(user, kind)):
        raise ContactChangeError(f"That is already your {kind_label(kind)}. Enter a different one.")
    if (cache.get(f"contact-change-codes:{user.pk}") or 0) >= CODES_PER_HOUR:
        raise ContactChangeError("You've asked for too many codes. Try again in an hour, or call us.")
    binding = binding or codes.new_binding()
    channel = channel_for(kind)
    with transaction.atomic():
        codes.code_issue(purpose=PURPOSE, binding=binding, channel=channel, destination=value, user=user)
        security_event_record(
            kind=SecurityEvent.Kind.CODE_SENT,
            user=user,
            request=request,
            detail={"purpose": PURPOSE, "channel": channel, "to": mask_contact(value)},
        )
    _count_code(user)
    return ContactChangeStart(binding=binding, sent_to=mask_contact(value))


def contact_change_confirm(
    *, user: User, kind: str, value: str, binding: str, code: str, request: HttpRequest | None = None
) -> codes.Verification:
    """Check the code sent to the new contact; if right, make the change."""
    verification = codes.code_verify(purpose=PURPOSE, binding=binding, code=code)
    if not verification.ok:
        security_event_record(
            kind=SecurityEvent.Kind.CODE_FAILED,
            outcome=SecurityEvent.Outcome.FAILURE,
            user=user,
            request=request,
            detail={"purpose": PURPOSE, "result": verification.result.value},
        )
        return verification
    contact_change(user=user, kind=kind, value=value, request=request)
    return verification


@transaction.atomic
def contact_change(
    *,
    user: User,
    kind: str,
    value: str,
    request: HttpRequest | None = None,
    actor: User | None = None,
    reason: str = "",
    verification_id: int | None = None,
) -> User:
    """Make ``value`` the user's verified email or mobile. The caller has confirmed it
    (a code to it, or a staff member who verified the cardholder: ``actor``)."""
    field, verified_field, channel, label = KINDS[kind]
    locked = User.objects.select_for_update().get(pk=user.pk)
    old = getattr(locked, field) or ""
    if _same(kind, old, value):
        raise ContactChangeError(f"That is already the {label} on file.")
    setattr(locked, field, value)
    setattr(locked, verified_field, timezone.now())
    locked.save(update_fields=[field, verified_field])
    setattr(user, field, value)
    setattr(user, verified_field, getattr(locked, verified_field))
    detail = {"field": kind, "from": mask_contact(old) if old else "", "to": mask_contact(value)}
    if actor is not None:
        detail.update(by="staff", reason=reason[:200], verification=verification_id)
    event = security_event_record(
        kind=SecurityEvent.Kind.CONTACT_CHANGED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=locked,
        actor=actor,
        request=request,
        detail=detail,
    )
    code_devices_sync(user=locked)
    _tell_contacts(user=locked, kind=kind, old=old, new=value, by_staff=actor is not None, event_id=event.pk)
    return locked


def _tell_contacts(*, user: User, kind: str, old: str, new: str, by_staff: bool, event_id: int) -> None:
    """The old contact always hears of it. After a staff change every contact on file
    does too, so a change talked out of our team cannot go unnoticed."""
    _, _, channel, label = KINDS[kind]
    who = " by our customer service team" if by_staff else ""
    issuer, phone = settings.ISSUER_NAME, settings.SUPPORT_PHONE
    recipients: list[tuple[str, str]] = []
    if old:
        recipients.append((channel, old))
    if by_staff:
        recipients.append((channel, new))
        other = PHONE if kind == EMAIL else EMAIL
        other_value = current_value(user, other)
        if other_value:
            recipients.append((channel_for(other), other_value))
    for index, (send_by, to) in enumerate(recipients):
        if send_by == Notification.Channel.SMS:
            body = f"{issuer}: the {label} on your account was changed{who}. Not you? Call {phone} now."
            subject = ""
        else:
            subject = f"Your {label} was changed"
            body = (
                f"Hello {user.get_short_name()},\n\n"
                f"The {label} on your {issuer} account was changed{who} to {mask_contact(new)}. "
                "Security codes and alerts now go there.\n\n"
                f"If you didn't ask for this, call us right away on {phone}."
            )
        notify(
            channel=send_by,
            to=to,
            kind="contact_changed",
            subject=subject,
            body=body,
            idempotency_key=f"contact-changed-{event_id}-{index}",
            user=user,
        )
