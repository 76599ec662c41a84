"""Reads for the security pages. Everything is filtered by the signed-in user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone
from two_factor.utils import default_device

from accounts.models import PasswordHistory, User

from .models import BackupCode, OutOfBandDevice, SecurityEvent, TrustedDevice

HISTORY_DAYS = 90


def trusted_devices_for_user(*, user: User) -> QuerySet[TrustedDevice]:
    return TrustedDevice.objects.filter(user=user, revoked_at__isnull=True).order_by("-last_used_at")


def security_events_for_user(*, user: User, days: int = HISTORY_DAYS) -> QuerySet[SecurityEvent]:
    since = timezone.now() - timedelta(days=days)
    return (
        SecurityEvent.objects.filter(user=user, created_at__gte=since)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


def two_factor_device(*, user: User):
    """The optional second factor the user turned on (an authenticator app), if any."""
    device = default_device(user)
    return None if device is None or isinstance(device, OutOfBandDevice) else device


@dataclass(frozen=True)
class SecurityOverview:
    email: str
    email_verified: bool
    phone: str
    phone_verified: bool
    password_changed_at: object
    two_factor_on: bool
    backup_codes_left: int
    trusted_devices: int
    last_sign_in: SecurityEvent | None


def security_overview(*, user: User) -> SecurityOverview:
    last_password = (
        PasswordHistory.objects.filter(user=user).order_by("-created_at").values_list("created_at", flat=True).first()
    )
    last_sign_in = (
        SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.SIGN_IN_SUCCEEDED)
        .order_by("-created_at")
        .first()
    )
    return SecurityOverview(
        email=user.email,
        email_verified=bool(user.email_verified_at),
        phone=user.phone,
        phone_verified=bool(user.phone_verified_at),
        password_changed_at=last_password,
        two_factor_on=two_factor_device(user=user) is not None,
        backup_codes_left=BackupCode.objects.filter(
            device__user=user, device__confirmed=True, used_at__isnull=True
        ).count(),
        trusted_devices=trusted_devices_for_user(user=user).count(),
        last_sign_in=last_sign_in,
    )
