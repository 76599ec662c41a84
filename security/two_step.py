"""Optional two-step verification with an authenticator app (TOTP, RFC 6238).

Turning it on: a new secret is kept in the session (not the database) while the
person scans a QR code or types the secret, and becomes a django-otp ``TOTPDevice``
named "default" once one code from their app checks out (django-two-factor-auth treats
the device named "default" as 2FA being on, its issue #652; the sign-in view then asks
for it first). Turning it off removes the app. Each change is a security event and an
email to the cardholder."""

from __future__ import annotations

import base64
import binascii
import io
import time

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex
from two_factor.utils import get_otpauth_url

from accounts.models import User
from portal.digits import digits_in

from .models import Notification, SecurityEvent
from .services import notify, security_event_record

DEVICE_NAME = "default"
STEP_SECONDS = 30
DIGITS = 6
# One step either side of now: phone clocks drift.
TOLERANCE = 1


def secret_new() -> str:
    """A 160-bit secret, hex-encoded as django-otp stores it."""
    return random_hex(20)


def secret_for_people(key_hex: str) -> str:
    """The secret as authenticator apps take it when typed: base32, in groups of 4."""
    b32 = base64.b32encode(binascii.unhexlify(key_hex)).decode().rstrip("=")
    return " ".join(b32[i : i + 4] for i in range(0, len(b32), 4))


def otpauth_url(*, user: User, key_hex: str) -> str:
    b32 = base64.b32encode(binascii.unhexlify(key_hex)).decode().rstrip("=")
    return get_otpauth_url(accountname=user.username, secret=b32, issuer=settings.ISSUER_NAME, digits=DIGITS)


def qr_svg_data_uri(data: str) -> str:
    """The QR code as an SVG data URI for an <img>: drawn here, no outside service, no
    inline script or style (the CSP allows data: images)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=4)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def two_step_device(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, name=DEVICE_NAME, confirmed=True).first()


def _matching_step(*, key_hex: str, token: str, now: float | None = None) -> int | None:
    """The time step this code belongs to (within the tolerance), or None."""
    digits = digits_in(token)
    if len(digits) != DIGITS:
        return None
    totp = TOTP(binascii.unhexlify(key_hex), step=STEP_SECONDS, digits=DIGITS)
    totp.time = now if now is not None else time.time()
    if totp.verify(int(digits), tolerance=TOLERANCE):
        return totp.t()
    return None


def _tell(*, user: User, kind: str, subject: str, body: str, key: str) -> None:
    if user.email:
        notify(
            channel=Notification.Channel.EMAIL,
            to=user.email,
            kind=kind,
            subject=subject,
            body=body,
            idempotency_key=f"{key}-email",
            user=user,
        )
    elif user.phone:
        notify(
            channel=Notification.Channel.SMS,
            to=user.phone,
            kind=kind,
            body=f"{settings.ISSUER_NAME}: {subject}. Not you? Call {settings.SUPPORT_PHONE}.",
            idempotency_key=f"{key}-sms",
            user=user,
        )


@transaction.atomic
def app_confirm(*, user: User, key_hex: str, token: str, request: HttpRequest | None = None) -> TOTPDevice | None:
    """Turn on two-step verification with this secret if the code matches it. Returns
    the new device, or None for a wrong code (nothing changes)."""
    step = _matching_step(key_hex=key_hex, token=token)
    if step is None:
        return None
    User.objects.select_for_update().filter(pk=user.pk).first()
    TOTPDevice.objects.filter(user=user).delete()
    # last_t = this step: the code just typed cannot be replayed at the next sign-in.
    device = TOTPDevice.objects.create(
        user=user,
        name=DEVICE_NAME,
        key=key_hex,
        step=STEP_SECONDS,
        digits=DIGITS,
        tolerance=TOLERANCE,
        confirmed=True,
        last_t=step,
    )
    event = security_event_record(
        kind=SecurityEvent.Kind.TWO_FACTOR_CHANGED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=user,
        request=request,
        detail={"change": "app_added"},
    )
    _tell(
        user=user,
        kind="two_factor_on",
        subject="Two-step verification is on",
        body=(
            f"You turned on two-step verification with an authenticator app for your {settings.ISSUER_NAME} "
            "account. From now on we'll ask for a code from the app when you log in on a device you haven't "
            "chosen to remember.\n\n"
            f"If you didn't do this, change your password now and call us on {settings.SUPPORT_PHONE}."
        ),
        key=f"two-factor-on-{event.pk}",
    )
    return device


def app_token_matches(*, user: User, token: str) -> bool:
    """Whether this is a current code from the user's app (used once: it goes through
    django-otp's replay check and throttling)."""
    device = two_step_device(user=user)
    return bool(device is not None and token and device.verify_token(token))


@transaction.atomic
def app_remove(*, user: User, request: HttpRequest | None = None) -> bool:
    """Turn off two-step verification with the app. Backup codes stay: they still work
    when a text or email code can't arrive."""
    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    if not removed:
        return False
    event = security_event_record(
        kind=SecurityEvent.Kind.TWO_FACTOR_CHANGED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=user,
        request=request,
        detail={"change": "app_removed"},
    )
    _tell(
        user=user,
        kind="two_factor_off",
        subject="Two-step verification is off",
        body=(
            f"You turned off two-step verification with an authenticator app for your {settings.ISSUER_NAME} "
            "account. We'll still send a code by text or email when we don't recognize a device.\n\n"
            f"If you didn't do this, change your password now and call us on {settings.SUPPORT_PHONE}."
        ),
        key=f"two-factor-off-{event.pk}",
    )
    return True
