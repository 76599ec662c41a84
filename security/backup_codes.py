"""Backup codes: ten single-use codes for when no code can reach the person.

Each code is 8 characters from the operating system's CSPRNG, shown as two groups of
four ("k7mq-3xtp"), drawn from lowercase letters and digits without the look-alikes
(0/o, 1/l/i), so about 40 bits each. Only an HMAC-SHA256 under the secret key and the
device is stored: a leaked table is no list of codes, and a new set voids the old one
(the old rows are deleted with it). The plain codes exist only in the response that
shows them, once. django-otp's StaticToken keeps them in plain text, which is why this
is ours.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User

from .models import BackupCode, BackupCodeDevice, Notification, SecurityEvent
from .services import notify, security_event_record

CODE_COUNT = 10
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
GROUP = 4
DEVICE_NAME = "backup"


def _normalize(code: str) -> str:
    """What people type: any case, with or without the hyphen or spaces."""
    return "".join(c for c in (code or "").lower() if c.isalnum())


def code_hash(*, device_id: int, code: str, secret: str | None = None) -> str:
    message = f"backup-code:{device_id}:{_normalize(code)}".encode()
    return hmac.new((secret or settings.SECRET_KEY).encode(), message, hashlib.sha256).hexdigest()


def _generate_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(GROUP * 2))
    return f"{raw[:GROUP]}-{raw[GROUP:]}"


def backup_device_for(*, user: User) -> BackupCodeDevice | None:
    return BackupCodeDevice.objects.filter(user=user, confirmed=True).first()


def unused_codes(*, user: User) -> QuerySet[BackupCode]:
    return BackupCode.objects.filter(device__user=user, device__confirmed=True, used_at__isnull=True)


@transaction.atomic
def codes_generate(*, user: User, request: HttpRequest | None = None, tell: bool = True) -> list[str]:
    """A new set of codes for this user, voiding any earlier set. Returns the plain
    codes for the one page that shows them; they are not kept anywhere. ``tell=False``
    when the caller's own email already covers it (turning on two-step verification)."""
    device, _ = BackupCodeDevice.objects.select_for_update().get_or_create(
        user=user, defaults={"name": DEVICE_NAME, "confirmed": True}
    )
    replaced = device.codes.filter(used_at__isnull=True).count()
    device.codes.all().delete()
    device.created_at = timezone.now()
    device.confirmed = True
    device.throttle_reset(commit=False)
    device.save()
    plain: list[str] = []
    while len(plain) < CODE_COUNT:
        code = _generate_code()
        if code not in plain:
            plain.append(code)
    BackupCode.objects.bulk_create(
        [BackupCode(device=device, code_hash=code_hash(device_id=device.pk, code=code)) for code in plain]
    )
    event = security_event_record(
        kind=SecurityEvent.Kind.TWO_FACTOR_CHANGED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=user,
        request=request,
        detail={"change": "backup_codes_generated", "count": CODE_COUNT, "replaced_unused": replaced},
    )
    if tell and user.email:
        notify(
            channel=Notification.Channel.EMAIL,
            to=user.email,
            kind="backup_codes_generated",
            subject="You have new backup codes",
            body=(
                f"You made a new set of backup codes for your {settings.ISSUER_NAME} account. Any earlier "
                "backup codes no longer work.\n\n"
                f"If you didn't do this, change your password now and call us on {settings.SUPPORT_PHONE}."
            ),
            idempotency_key=f"backup-codes-{event.pk}",
            user=user,
        )
    return plain


def code_use(*, device: BackupCodeDevice, code: str) -> bool:
    """Spend one code. The update is conditional on the code being unused, so two
    requests racing with the same code cannot both succeed."""
    if len(_normalize(code)) != GROUP * 2:
        return False
    # Codes printed before a SECRET_KEY rotation keep working while the old key is in
    # SECRET_KEY_FALLBACKS (docs/key-rotation.md).
    digests = [
        code_hash(device_id=device.pk, code=code, secret=secret)
        for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)
    ]
    match = BackupCode.objects.filter(device=device, used_at__isnull=True, code_hash__in=digests).first()
    if match is None or not any(hmac.compare_digest(match.code_hash, digest) for digest in digests):
        return False
    return BackupCode.objects.filter(pk=match.pk, used_at__isnull=True).update(used_at=timezone.now()) == 1


def codes_remove(*, user: User) -> int:
    """Delete the user's backup codes (a staff reset). Returns how many were unused."""
    unused = unused_codes(user=user).count()
    BackupCodeDevice.objects.filter(user=user).delete()
    return unused
