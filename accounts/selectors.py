"""Reads for the staff console's cardholder look-up and cardholder page.

The page answers a caller's questions at a glance: which cards and accounts, can they
sign in (locked?), how they confirm it's them (2FA, never a secret), what happened at
recent sign-ins and why a code was asked for, and what disputes are open. A fixed number
of queries, whatever the cardholder has."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import Cardholder, User

RECENT_SIGN_INS = 10


# --- Look-up ------------------------------------------------------------------------------


def cardholders_with_card_last4(*, last4: str) -> Q:
    """Cardholders holding a card ending in these 4 digits: an exact match on the
    indexed-by-holder card table, as a subquery (no join, so no duplicate rows)."""
    from cards.models import Card

    return Q(pk__in=Card.objects.filter(last4=last4).values("holder_id"))


# --- Lock status ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LockStatus:
    failures: int  # wrong passwords counted by django-axes within the cool-off
    locked: bool
    until: dt.datetime | None  # when the lock ends by itself

    @property
    def summary(self) -> str:
        if self.locked:
            return f"Locked after {self.failures} wrong passwords"
        if self.failures:
            return f"Not locked ({self.failures} recent wrong password{'s' if self.failures != 1 else ''})"
        return "Not locked"


def sign_in_lock_status(*, user: User) -> LockStatus:
    """django-axes counts failures per lower-cased User ID (accounts.signin.axes_username).
    The limit depends on the browser (5 on a remembered device, 3 elsewhere), so the lock
    shown is the one most callers meet: the lowest limit."""
    from axes.models import AccessAttempt

    cool_off = dt.timedelta(hours=settings.AXES_COOLOFF_TIME)
    attempts = list(
        AccessAttempt.objects.filter(
            username=user.username.lower(), attempt_time__gte=timezone.now() - cool_off
        ).values_list("failures_since_start", "attempt_time")
    )
    if not attempts:
        return LockStatus(failures=0, locked=False, until=None)
    failures = max(count for count, _ in attempts)
    last = max(at for _, at in attempts)
    limit = min(
        settings.RISK_FAILURE_LIMIT_TRUSTED,
        settings.RISK_FAILURE_LIMIT_KNOWN_NETWORK,
        settings.RISK_FAILURE_LIMIT_UNRECOGNIZED,
    )
    locked = failures >= limit
    return LockStatus(failures=failures, locked=locked, until=last + cool_off if locked else None)


# --- The cardholder page --------------------------------------------------------------------


@dataclass(frozen=True)
class SignInRow:
    at: dt.datetime
    outcome: str
    what: str
    device: str
    network: str
    risk: str  # "High (8.4): this is a new device and a new network"


@dataclass(frozen=True)
class TwoStepSummary:
    app_on_since: dt.datetime | None
    backup_codes_left: int
    passkeys: list[str]
    code_contacts: list[str]  # "Text to •••••••0122"


@dataclass
class CardholderOverview:
    cardholder: Cardholder
    user: User | None
    lock: LockStatus | None = None
    accounts: list = field(default_factory=list)
    sign_ins: list[SignInRow] = field(default_factory=list)
    two_step: TwoStepSummary | None = None
    open_disputes: list = field(default_factory=list)


def _risk_text(event) -> str:
    from security.risk import risk_reasons_sentence

    if event.risk_score is None:
        return "-"
    reasons = risk_reasons_sentence(event.risk_reasons or [])
    score = f"score {event.risk_score:.1f}"
    return f"{score}: {reasons[:1].upper()}{reasons[1:]}" if reasons else score


_SIGN_IN_KINDS = ("sign_in_succeeded", "sign_in_failed", "locked_out", "code_failed", "unlocked")


def recent_sign_ins(*, user: User, limit: int = RECENT_SIGN_INS) -> list[SignInRow]:
    from security.devices import device_name
    from security.models import SecurityEvent

    events = (
        SecurityEvent.objects.filter(user=user, kind__in=_SIGN_IN_KINDS)
        .only("created_at", "kind", "outcome", "user_agent", "detail", "risk_score", "risk_reasons")
        .order_by("-created_at", "-id")[:limit]
    )
    rows = []
    for event in events:
        what = event.get_kind_display()
        reason = (event.detail or {}).get("reason")
        if event.kind == SecurityEvent.Kind.SIGN_IN_FAILED and reason:
            what += f" ({str(reason).replace('_', ' ')})"
        elif event.kind == SecurityEvent.Kind.SIGN_IN_SUCCEEDED:
            method = (event.detail or {}).get("method", "password")
            code = " and a code" if (event.detail or {}).get("code_confirmed") else ""
            what += f" with {method}{code}"
        rows.append(
            SignInRow(
                at=event.created_at,
                outcome=event.outcome,
                what=what,
                device=device_name(event.user_agent) if event.user_agent else "-",
                network=str((event.detail or {}).get("network", "-")),
                risk=_risk_text(event),
            )
        )
    return rows


def two_step_summary(*, user: User) -> TwoStepSummary:
    """What the person confirms sign-ins with: kinds and masked contacts, never a key,
    a code or a credential."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from security.masking import mask_contact
    from security.models import BackupCode
    from security.passkeys import passkeys_for_user

    app = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("created_at").only("created_at").first()
    # Codes go to the verified contacts on file (security.devices.code_devices_sync).
    contacts = [
        f"{label} to {mask_contact(value)}"
        for label, value, verified in (
            ("Text", user.phone, user.phone_verified_at),
            ("Email", user.email, user.email_verified_at),
        )
        if value and verified
    ]
    return TwoStepSummary(
        app_on_since=app.created_at if app else None,
        backup_codes_left=BackupCode.objects.filter(
            device__user=user, device__confirmed=True, used_at__isnull=True
        ).count(),
        passkeys=[passkey.name or "Passkey" for passkey in passkeys_for_user(user=user).only("name")],
        code_contacts=contacts,
    )


def cardholder_accounts(*, cardholder: Cardholder) -> QuerySet:
    """Accounts the person is the basic card member of, or holds a card on."""
    from cards.models import Card, CardAccount

    held = Card.objects.filter(holder=cardholder).values("account_id")
    return (
        CardAccount.objects.filter(Q(primary_cardholder=cardholder) | Q(pk__in=held))
        .select_related("product", "business_program", "primary_cardholder")
        .order_by("opened_on", "id")
    )


def open_disputes_for(*, cardholder: Cardholder) -> QuerySet:
    from cards.models import Dispute

    return (
        Dispute.objects.filter(
            Q(transaction__card__holder=cardholder) | Q(transaction__account__primary_cardholder=cardholder),
            status__in=Dispute.OPEN_STATUSES,
        )
        .select_related("transaction__card", "transaction__account")
        .order_by("created_at", "id")
    )


def cardholder_overview(*, cardholder: Cardholder) -> CardholderOverview:
    user = User.objects.filter(cardholder=cardholder).first()
    overview = CardholderOverview(
        cardholder=cardholder,
        user=user,
        accounts=list(cardholder_accounts(cardholder=cardholder)),
        open_disputes=list(open_disputes_for(cardholder=cardholder)),
    )
    if user is not None:
        overview.lock = sign_in_lock_status(user=user)
        overview.sign_ins = recent_sign_ins(user=user)
        overview.two_step = two_step_summary(user=user)
    return overview
