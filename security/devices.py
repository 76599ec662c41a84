"""Device recognition: the "remember this device" cookie and the devices that send
sign-in codes.

A remembered browser carries a long-lived cookie holding a random 256-bit token; only
its SHA-256 is stored in ``TrustedDevice``. Clearing cookies, another browser or a
private window is therefore an unrecognized device. Removing a device takes effect on
that device's next request, because the lookup is by hash on every sign-in."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from user_agents import parse as parse_user_agent

from accounts.models import User
from portal.net import client_ip, ip_network

from .models import Notification, OutOfBandDevice, SecurityEvent, TrustedDevice
from .services import security_event_record

DEVICE_COOKIE_NAME = settings.DEVICE_COOKIE_NAME
DEVICE_COOKIE_AGE = timedelta(days=settings.DEVICE_COOKIE_DAYS)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_device_hash(request: HttpRequest) -> str | None:
    """The hash of this browser's device token, or None when it has none."""
    token = request.COOKIES.get(DEVICE_COOKIE_NAME, "")
    return token_hash(token) if 20 <= len(token) <= 100 else None


DEVICE_NAME_LIMIT = 120  # TrustedDevice.name and UserSession.device_name


def device_name(user_agent: str) -> str:
    """ "Chrome on macOS", "Safari on iPhone": what a person recognises in a list."""
    agent = parse_user_agent(user_agent or "")
    browser = agent.browser.family if agent.browser.family != "Other" else "A browser"
    if agent.is_mobile or agent.is_tablet:
        place = agent.device.family if agent.device.family not in ("Other", "Generic Smartphone") else agent.os.family
    else:
        place = agent.os.family
    place = {"Mac OS X": "macOS"}.get(place, place)
    name = f"{browser} on {place}" if place and place != "Other" else browser
    # A phone's model comes from the User-Agent, any length: the columns hold 120.
    return name if len(name) <= DEVICE_NAME_LIMIT else name[: DEVICE_NAME_LIMIT - 3].rstrip() + "..."


def trusted_device_for(*, user: User, request: HttpRequest) -> TrustedDevice | None:
    digest = request_device_hash(request)
    if digest is None:
        return None
    return TrustedDevice.objects.filter(user=user, token_hash=digest, revoked_at__isnull=True).first()


def trusted_device_touch(*, device: TrustedDevice, request: HttpRequest) -> None:
    device.last_used_at = timezone.now()
    device.last_network = ip_network(client_ip(request))
    device.save(update_fields=["last_used_at", "last_network"])


def device_trust(*, user: User, request: HttpRequest, response: HttpResponse) -> TrustedDevice:
    """Remember this browser for this user: a new random token in the cookie, its hash
    in the database. The same browser may be trusted by several users (a shared home
    computer), so the token is per user and device."""
    token = secrets.token_urlsafe(32)
    device = TrustedDevice.objects.create(
        user=user,
        token_hash=token_hash(token),
        name=device_name(request.META.get("HTTP_USER_AGENT", "")),
        last_network=ip_network(client_ip(request)),
    )
    response.set_cookie(
        DEVICE_COOKIE_NAME,
        token,
        max_age=int(DEVICE_COOKIE_AGE.total_seconds()),
        secure=settings.SECURE_COOKIES,
        httponly=True,
        samesite="Lax",
        path="/",
    )
    security_event_record(
        kind=SecurityEvent.Kind.DEVICE_TRUSTED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=user,
        request=request,
        detail={"device_name": device.name},
    )
    return device


def device_revoke(*, user: User, device_id: int, request: HttpRequest | None = None) -> bool:
    updated = TrustedDevice.objects.filter(user=user, pk=device_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if updated:
        security_event_record(
            kind=SecurityEvent.Kind.DEVICE_REMOVED, user=user, request=request, detail={"device_id": device_id}
        )
    return bool(updated)


def devices_revoke_all(*, user: User, request: HttpRequest | None = None) -> int:
    count = TrustedDevice.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if count:
        security_event_record(
            kind=SecurityEvent.Kind.DEVICE_REMOVED, user=user, request=request, detail={"all": True, "count": count}
        )
    return count


def code_devices_sync(*, user: User) -> list[OutOfBandDevice]:
    """Make the user's verified email and mobile into devices that can receive codes,
    and retire devices for contacts the user no longer has."""
    wanted = {}
    if user.email and user.email_verified_at:
        wanted[Notification.Channel.EMAIL] = user.email
    if user.phone and user.phone_verified_at:
        wanted[Notification.Channel.SMS] = user.phone
    devices = []
    for channel, destination in wanted.items():
        device, _ = OutOfBandDevice.objects.update_or_create(
            user=user,
            channel=channel,
            name=channel,
            defaults={"destination": destination, "confirmed": True},
        )
        devices.append(device)
    OutOfBandDevice.objects.filter(user=user).exclude(channel__in=list(wanted)).delete()
    return devices


def code_devices_for(*, user: User) -> list[OutOfBandDevice]:
    """Text first (the phone is usually at hand), then email."""
    devices = list(OutOfBandDevice.objects.filter(user=user, confirmed=True))
    return sorted(devices, key=lambda d: 0 if d.channel == Notification.Channel.SMS else 1)
