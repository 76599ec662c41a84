"""One-time codes sent by email or text: issue, resend with a cooldown, verify.

Codes come from the operating system's CSPRNG, are stored as HMAC-SHA256 under the
secret key and the flow's binding (so a leaked table is no list of codes, and a code
from one flow is useless in another), expire after 10 minutes, are single use and are
void after 5 wrong tries. django-otp keeps email/SMS tokens in plain text, which is
why this is ours.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from portal.digits import digits_in

from .masking import mask_contact
from .models import Notification, OneTimeCode
from .services import notify

CODE_DIGITS = 6
CODE_VALIDITY = timedelta(minutes=10)
RESEND_COOLDOWN = timedelta(seconds=30)
MAX_FAILED_ATTEMPTS = 5

PURPOSE_TEXT = {
    OneTimeCode.Purpose.ENROLLMENT: "to confirm your contact details",
    OneTimeCode.Purpose.PASSWORD_RESET: "to reset your password",
    OneTimeCode.Purpose.SIGN_IN: "to sign in",
    OneTimeCode.Purpose.CONTACT_CHANGE: "to confirm your new contact details",
    OneTimeCode.Purpose.USER_ID_CHANGE: "to change your User ID",
    OneTimeCode.Purpose.STEP_UP: "to confirm it's you",
}


class VerifyResult(enum.Enum):
    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"
    TOO_MANY = "too_many"
    NO_CODE = "no_code"


@dataclass(frozen=True)
class Verification:
    result: VerifyResult
    attempts_left: int = 0
    code: OneTimeCode | None = None

    @property
    def ok(self) -> bool:
        return self.result is VerifyResult.OK

    @property
    def message(self) -> str:
        if self.result is VerifyResult.WRONG:
            tries = "try" if self.attempts_left == 1 else "tries"
            return f"That code is not right. Check it and try again ({self.attempts_left} {tries} left)."
        if self.result is VerifyResult.EXPIRED:
            return "That code has expired. Ask for a new code."
        if self.result is VerifyResult.TOO_MANY:
            return "Too many wrong codes. For your security this code no longer works: ask for a new one."
        if self.result is VerifyResult.NO_CODE:
            return "There is no code waiting for this request. Ask for a new code."
        return ""


class CodeCooldown(Exception):
    def __init__(self, seconds: int):
        self.seconds = seconds
        super().__init__(f"Please wait {seconds} seconds before asking for another code.")


def new_binding() -> str:
    """A random flow identifier to keep in the session; the database sees its hash."""
    return secrets.token_urlsafe(32)


def _binding_hash(binding: str) -> str:
    return hashlib.sha256(binding.encode()).hexdigest()


def _code_hash(binding: str, code: str, secret: str | None = None) -> str:
    message = f"{binding}:{code}".encode()
    return hmac.new((secret or settings.SECRET_KEY).encode(), message, hashlib.sha256).hexdigest()


def _code_matches(record_hash: str, binding: str, code: str) -> bool:
    # A code sent just before a SECRET_KEY rotation still works (SECRET_KEY_FALLBACKS).
    return any(
        hmac.compare_digest(record_hash, _code_hash(binding, code, secret))
        for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)
    )


def _generate_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))


def _message(purpose: str, code: str, channel: str) -> tuple[str, str]:
    why = PURPOSE_TEXT[purpose]
    issuer = settings.ISSUER_NAME
    if channel == Notification.Channel.SMS:
        return "", f"{issuer}: {code} is your code {why}. It expires in 10 minutes. We will never call to ask for it."
    subject = f"Your {issuer} security code"
    body = (
        f"Your security code {why} is:\n\n    {code}\n\n"
        "It expires in 10 minutes and works once.\n\n"
        "We will never call, text or email to ask for this code. If you did not ask for it, "
        f"someone may know your details: call us on {settings.SUPPORT_PHONE}.\n"
    )
    return subject, body


@transaction.atomic
def code_issue(
    *,
    purpose: str,
    binding: str,
    channel: str,
    destination: str,
    user: User | None = None,
    deliver: bool = True,
) -> OneTimeCode:
    """Send a new code for this flow, voiding any earlier one. Raises ``CodeCooldown``
    when asked again too soon.

    ``deliver=False`` issues a code that is stored like any other but never sent: a flow
    that must not reveal whether the details given matched (password recovery) still
    has a code to be wrong about, with the same tries, cooldown and expiry."""
    now = timezone.now()
    bound = _binding_hash(binding)
    previous = (
        OneTimeCode.objects.select_for_update()
        .filter(binding=bound, purpose=purpose, used_at__isnull=True, voided_at__isnull=True)
        .order_by("-created_at")
    )
    # The cooldown is per contact: switching from text to email sends at once.
    latest = previous.filter(destination=destination).first()
    if latest is not None and now - latest.created_at < RESEND_COOLDOWN:
        raise CodeCooldown(int((RESEND_COOLDOWN - (now - latest.created_at)).total_seconds()) + 1)
    previous.update(voided_at=now)
    code = _generate_code()
    record = OneTimeCode.objects.create(
        created_at=now,
        user=user,
        purpose=purpose,
        binding=bound,
        channel=channel,
        destination=destination,
        code_hash=_code_hash(binding, code),
        expires_at=now + CODE_VALIDITY,
    )
    if not deliver:
        return record
    subject, body = _message(purpose, code, channel)
    notify(
        channel=channel,
        to=destination,
        kind=f"code_{purpose}",
        subject=subject,
        body=body,
        idempotency_key=f"otc-{record.pk}",
        user=user,
        sensitive=True,
    )
    return record


@transaction.atomic
def code_verify(*, purpose: str, binding: str, code: str) -> Verification:
    now = timezone.now()
    record = (
        OneTimeCode.objects.select_for_update()
        .filter(binding=_binding_hash(binding), purpose=purpose, used_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    if record is None:
        return Verification(VerifyResult.NO_CODE)
    if record.voided_at is not None:
        # Voided by too many tries or superseded by a newer code.
        return Verification(
            VerifyResult.TOO_MANY if record.failed_attempts >= MAX_FAILED_ATTEMPTS else VerifyResult.NO_CODE,
            code=record,
        )
    if record.expires_at <= now:
        return Verification(VerifyResult.EXPIRED, code=record)
    typed = digits_in(code)
    if _code_matches(record.code_hash, binding, typed):
        record.used_at = now
        record.save(update_fields=["used_at"])
        return Verification(VerifyResult.OK, code=record)
    record.failed_attempts += 1
    fields = ["failed_attempts"]
    if record.failed_attempts >= MAX_FAILED_ATTEMPTS:
        record.voided_at = now
        fields.append("voided_at")
    record.save(update_fields=fields)
    left = MAX_FAILED_ATTEMPTS - record.failed_attempts
    if left <= 0:
        return Verification(VerifyResult.TOO_MANY, code=record)
    return Verification(VerifyResult.WRONG, attempts_left=left, code=record)


def masked_destination(record: OneTimeCode) -> str:
    return mask_contact(record.destination)


def attempt_exhausted(*, purpose: str, binding: str) -> bool:
    """Whether this flow's latest code was voided by too many wrong tries."""
    if not binding:
        return False
    latest = (
        OneTimeCode.objects.filter(binding=_binding_hash(binding), purpose=purpose)
        .order_by("-created_at")
        .values_list("failed_attempts", flat=True)
        .first()
    )
    return latest is not None and latest >= MAX_FAILED_ATTEMPTS
