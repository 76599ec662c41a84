"""Staff help for a cardholder who cannot get a code ("no access to the phone or email
on file").

A staff member first records how they verified the person (``IdentityVerification``).
Only with such a record of their own from the last 30 minutes may they reset the
person's two-step verification, replace a contact, or send a one-time recovery link.
Each action is a security event naming the staff member and their reason, and the
cardholder is told on every contact on file."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User

from . import backup_codes, contact
from .masking import mask_contact
from .models import BackupCodeDevice, IdentityVerification, Notification, RecoveryLink, SecurityEvent
from .services import notify, security_event_record

VERIFICATION_WINDOW = timedelta(minutes=30)
RECOVERY_LINK_VALIDITY = timedelta(minutes=30)

NO_VERIFICATION_MESSAGE = (
    "Record an identity verification for this cardholder first. Account recovery actions need a "
    "verification you made in the last 30 minutes."
)


class VerificationRequired(Exception):
    def __init__(self, message: str = NO_VERIFICATION_MESSAGE):
        super().__init__(message)


class StaffActionError(Exception):
    pass


# --- Identity verification -------------------------------------------------------------


def identity_verification_record(
    *, user: User, staff: User, method: str, checks: list[str], note: str = "", request: HttpRequest | None = None
) -> IdentityVerification:
    with transaction.atomic():
        verification = IdentityVerification.objects.create(
            user=user, staff=staff, method=method, checks=list(checks), note=note[:1000]
        )
        security_event_record(
            kind=SecurityEvent.Kind.STAFF_ACTION,
            outcome=SecurityEvent.Outcome.SUCCESS,
            user=user,
            actor=staff,
            request=request,
            detail={
                "action": "identity_verified",
                "method": method,
                "checks": list(checks),
                "verification": verification.pk,
            },
        )
    return verification


def recent_verification(*, user: User, staff: User) -> IdentityVerification | None:
    """This staff member's verification of this cardholder in the last 30 minutes."""
    since = timezone.now() - VERIFICATION_WINDOW
    return (
        IdentityVerification.objects.filter(user=user, staff=staff, created_at__gte=since)
        .order_by("-created_at")
        .first()
    )


def _require_verification(*, user: User, staff: User) -> IdentityVerification:
    verification = recent_verification(user=user, staff=staff)
    if verification is None:
        raise VerificationRequired()
    return verification


# --- Telling the cardholder --------------------------------------------------------------


def contacts_on_file(user: User) -> list[tuple[str, str]]:
    """(channel, address) for every contact we hold for this login; the cardholder
    record's when the login has none."""
    holder = user.cardholder if user.cardholder_id else None
    found = []
    email = user.email or (holder.email if holder else "")
    phone = user.phone or (holder.phone if holder else "")
    if email:
        found.append((Notification.Channel.EMAIL, email))
    if phone:
        found.append((Notification.Channel.SMS, phone))
    return found


def _tell_everywhere(*, user: User, kind: str, subject: str, what: str, sms: str, key: str, skip: str = "") -> None:
    """Email ``what`` and text ``sms`` (short: texts hold 160 characters) to every
    contact on file but ``skip``."""
    issuer, phone = settings.ISSUER_NAME, settings.SUPPORT_PHONE
    for channel, to in contacts_on_file(user):
        if channel == skip:
            continue
        if channel == Notification.Channel.SMS:
            body = f"{issuer}: {sms}. Not you? Call {phone} now."
        else:
            body = (
                f"Hello {user.get_short_name()},\n\n{what}.\n\n"
                f"If you didn't ask us for this, call us right away on {phone}."
            )
        notify(
            channel=channel,
            to=to,
            kind=kind,
            subject=subject if channel == Notification.Channel.EMAIL else "",
            body=body,
            idempotency_key=f"{key}-{channel}",
            user=user,
        )


# --- Actions ------------------------------------------------------------------------------


def _passkey_model():
    if not apps.is_installed("django_otp_webauthn"):
        return None
    from django_otp_webauthn.utils import get_credential_model

    return get_credential_model()


@transaction.atomic
def two_factor_reset(*, user: User, staff: User, reason: str, request: HttpRequest | None = None) -> dict[str, int]:
    """Remove the authenticator app, backup codes and passkeys, so the cardholder signs
    in with the password and a code to the contact on file and can set them up again."""
    verification = _require_verification(user=user, staff=staff)
    removed = {
        "app": TOTPDevice.objects.filter(user=user).delete()[0],
        "backup_codes": backup_codes.unused_codes(user=user).count(),
    }
    BackupCodeDevice.objects.filter(user=user).delete()
    # django-otp's own static tokens are not used by the portal; any left are removed too.
    StaticDevice.objects.filter(user=user).delete()
    passkeys = _passkey_model()
    if passkeys is not None:
        removed["passkeys"] = passkeys.objects.filter(user=user).delete()[0]
    event = security_event_record(
        kind=SecurityEvent.Kind.TWO_FACTOR_CHANGED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=user,
        actor=staff,
        request=request,
        detail={
            "change": "reset_by_staff",
            "removed": removed,
            "reason": reason[:200],
            "verification": verification.pk,
        },
    )
    _tell_everywhere(
        user=user,
        kind="two_factor_reset",
        subject="Your two-step verification was reset",
        what=(
            "At your request, our customer service team removed your authenticator app, backup codes and "
            "passkeys. You can set them up again on the Security page after you log in"
        ),
        sms="at your request we reset your two-step verification",
        key=f"two-factor-reset-{event.pk}",
    )
    return removed


def contact_replace(
    *, user: User, staff: User, kind: str, value: str, reason: str, request: HttpRequest | None = None
) -> User:
    """Put a new email or mobile on file, verified by the staff member. Raises
    ``contact.ContactChangeError`` when it is the same as now."""
    verification = _require_verification(user=user, staff=staff)
    return contact.contact_change(
        user=user,
        kind=kind,
        value=value,
        request=request,
        actor=staff,
        reason=reason,
        verification_id=verification.pk,
    )


def _link_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def recovery_link_send(
    *, user: User, staff: User, channel: str, reason: str, request: HttpRequest | None = None
) -> RecoveryLink:
    """Send a link to choose a new password to the contact on file (by email or text).
    Valid 30 minutes, once; any earlier unused link stops working."""
    verification = _require_verification(user=user, staff=staff)
    destination = dict(contacts_on_file(user)).get(channel, "")
    if not destination:
        raise StaffActionError("There is no contact of that kind on file. Replace the contact first.")
    now = timezone.now()
    RecoveryLink.objects.filter(user=user, used_at__isnull=True, voided_at__isnull=True).update(voided_at=now)
    token = secrets.token_urlsafe(32)
    link = RecoveryLink.objects.create(
        user=user,
        created_by=staff,
        verification=verification,
        token_hash=_link_hash(token),
        channel=channel,
        created_at=now,
        expires_at=now + RECOVERY_LINK_VALIDITY,
    )
    path = reverse("recovery:link", args=[token])
    url = request.build_absolute_uri(path) if request is not None else path
    issuer = settings.ISSUER_NAME
    if channel == Notification.Channel.SMS:
        body = f"{issuer}: set a new password within 30 minutes: {url}"
        if len(body) > 160:
            body = f"Set a new password within 30 minutes: {url}"
        if len(body) > 160:
            raise StaffActionError("The link is too long for a text message. Send it by email instead.")
        subject = ""
    else:
        subject = f"Set a new password for your {issuer} account"
        body = (
            f"Hello {user.get_short_name()},\n\n"
            "As you asked when you spoke to our customer service team, here is a link to set a new password. "
            "It works once, for 30 minutes:\n\n"
            f"    {url}\n\n"
            "After that, log in with your User ID and the new password.\n\n"
            "We will never call, text or email to ask for your password. If you didn't ask for this, "
            f"call us right away on {settings.SUPPORT_PHONE}."
        )
    notify(
        channel=channel,
        to=destination,
        kind="recovery_link",
        subject=subject,
        body=body,
        idempotency_key=f"recovery-link-{link.pk}",
        user=user,
        sensitive=True,
    )
    security_event_record(
        kind=SecurityEvent.Kind.STAFF_ACTION,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=user,
        actor=staff,
        request=request,
        detail={
            "action": "recovery_link_sent",
            "channel": channel,
            "to": mask_contact(destination),
            "reason": reason[:200],
            "verification": verification.pk,
            "expires_at": link.expires_at.isoformat(),
        },
    )
    where = "email address" if channel == Notification.Channel.EMAIL else "mobile number"
    _tell_everywhere(
        user=user,
        kind="recovery_link_notice",
        subject="We sent you a link to set a new password",
        what=f"Our customer service team sent a link to set a new password to your {where} ending "
        f"{mask_contact(destination)}",
        sms=f"we sent a link to set a new password to your {where}",
        key=f"recovery-link-notice-{link.pk}",
        skip=channel,
    )
    return link


def recovery_link_valid(*, token: str) -> RecoveryLink | None:
    """The link for this token if it can still be used."""
    if not token or len(token) > 100:
        return None
    return (
        RecoveryLink.objects.select_related("user")
        .filter(
            token_hash=_link_hash(token),
            used_at__isnull=True,
            voided_at__isnull=True,
            expires_at__gt=timezone.now(),
            user__is_active=True,
        )
        .first()
    )


def recovery_link_by_id(*, link_id: int | None) -> RecoveryLink | None:
    if link_id is None:
        return None
    return (
        RecoveryLink.objects.select_related("user")
        .filter(pk=link_id, used_at__isnull=True, voided_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )


@transaction.atomic
def recovery_link_redeem(*, link_id: int, raw_password: str, request: HttpRequest | None = None) -> bool:
    """Set the new password through the link (once). Returns False when the link can
    no longer be used; raises ``ValidationError`` when the password breaks the policy.
    The person is not signed in."""
    from accounts.recovery import password_reset_complete

    link = (
        RecoveryLink.objects.select_for_update()
        .select_related("user")
        .filter(pk=link_id, used_at__isnull=True, voided_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if link is None or not link.user.is_active:
        return False
    password_reset_complete(user=link.user, raw_password=raw_password, channel="recovery_link", request=request)
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    return True
