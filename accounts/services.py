"""Writes for accounts: what sign-in outcomes record, and the alerts they send."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.http import HttpRequest

from security.models import Notification, SecurityEvent
from security.services import notify, security_event_record

from . import signin
from .models import PasswordHistory, User


def user_for_user_id(user_id: str) -> User | None:
    return User.objects.filter(username__iexact=(user_id or "").strip()).select_related("cardholder").first()


def sign_in_failure_record(*, request: HttpRequest, username: str, locked: bool) -> None:
    user = user_for_user_id(username)
    if locked:
        reason = "locked"
    elif user is None:
        reason = "unknown_user_id"
    else:
        reason = "bad_password"
    security_event_record(
        kind=SecurityEvent.Kind.SIGN_IN_FAILED,
        outcome=SecurityEvent.Outcome.FAILURE,
        user=user,
        request=request,
        username_attempted=username,
        detail={"reason": reason, **_device_detail(request)},
    )


def _device_detail(request: HttpRequest) -> dict[str, str]:
    """What the risk model learns from: which browser (the hash of its device token)
    and which network. Never the token or a full address."""
    from portal.net import client_ip, ip_network
    from security.devices import request_device_hash

    detail = {"network": ip_network(client_ip(request))}
    device = request_device_hash(request)
    if device:
        detail["device"] = device
    return detail


def sign_in_success_record(*, request: HttpRequest, user: User) -> None:
    context = getattr(request, "sign_in_context", None) or {}
    risk = context.get("risk") or {}
    security_event_record(
        kind=SecurityEvent.Kind.SIGN_IN_SUCCEEDED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=user,
        request=request,
        username_attempted=user.username,
        risk_score=risk.get("score"),
        risk_reasons=risk.get("reasons") or [],
        detail={
            **_device_detail(request),
            "method": context.get("method", "password"),
            "code_confirmed": bool(context.get("code_confirmed")),
        },
    )


def sign_out_record(*, request: HttpRequest | None, user: User) -> None:
    security_event_record(kind=SecurityEvent.Kind.SIGNED_OUT, user=user, request=request)


def lockout_record(*, request: HttpRequest | None, username: str) -> None:
    """A User ID reached the failure limit (or tried again while locked): log it, and
    tell the cardholder once per lock period on every contact on file."""
    user = user_for_user_id(username)
    security_event_record(
        kind=SecurityEvent.Kind.LOCKED_OUT,
        outcome=SecurityEvent.Outcome.FAILURE,
        user=user,
        request=request,
        username_attempted=username,
    )
    if user is None:
        return
    period = int(settings.AXES_COOLOFF_TIME * 3600)
    window = int(time.time()) // max(period, 1)
    body = (
        f"We locked your {settings.ISSUER_NAME} User ID after several incorrect passwords. "
        f"You can try again in {period // 60} minutes, or reset your password now.\n\n"
        f"If this wasn't you, your password may be known to someone else: reset it and call us on "
        f"{settings.SUPPORT_PHONE}."
    )
    if user.email:
        notify(
            channel=Notification.Channel.EMAIL,
            to=user.email,
            kind="lockout",
            subject="We locked your User ID",
            body=body,
            idempotency_key=f"lockout-email-{user.pk}-{window}",
            user=user,
        )
    if user.phone:
        notify(
            channel=Notification.Channel.SMS,
            to=user.phone,
            kind="lockout",
            body=(
                f"{settings.ISSUER_NAME}: your User ID was locked after incorrect passwords. "
                f"Not you? Call {settings.SUPPORT_PHONE}."
            ),
            idempotency_key=f"lockout-sms-{user.pk}-{window}",
            user=user,
        )


@transaction.atomic
def password_set(*, user: User, raw_password: str) -> None:
    """Set a password under the policy and remember its hash for the history rule.

    Changing the password also changes the session auth hash, so every other session of
    this user ends on its next request; callers keep the current one with
    ``update_session_auth_hash`` where that is wanted. Raises ``ValidationError``."""
    validate_password(raw_password, user)
    user.set_password(raw_password)
    user.save(update_fields=["password"])
    PasswordHistory.objects.create(user=user, password=user.password)
    keep = PasswordHistory.objects.filter(user=user).order_by("-created_at", "-id")[: settings.PASSWORD_HISTORY_COUNT]
    PasswordHistory.objects.filter(user=user).exclude(pk__in=list(keep.values_list("pk", flat=True))).delete()


def password_rules_check(*, raw_password: str, user: User | None) -> list[dict[str, object]]:
    """Each rule of the policy with whether this password meets it: the live checklist."""
    from django.core.exceptions import ValidationError

    from .passwords import validators_for

    results = []
    for validator in validators_for(user):
        try:
            validator.validate(raw_password, user)
        except ValidationError as error:
            results.append({"rule": validator.get_help_text(), "ok": False, "message": " ".join(error.messages)})
        else:
            results.append({"rule": validator.get_help_text(), "ok": True, "message": ""})
    return results


def password_rules_for(*, user: User | None) -> list[dict[str, object]]:
    """The rules this person's password must follow, none ticked yet (the checklist
    before they type)."""
    from .passwords import help_texts_for

    return [{"rule": text, "ok": False, "message": ""} for text in help_texts_for(user)]


class UserIdChangeError(Exception):
    pass


USER_ID_CHANGE_INTERVAL_DAYS = 365


def user_id_change_available_from(*, user: User):
    """When a cardholder may next change their User ID themselves (None: now)."""
    if user.username_changed_at is None:
        return None
    from datetime import timedelta

    from django.utils import timezone

    available = user.username_changed_at + timedelta(days=USER_ID_CHANGE_INTERVAL_DAYS)
    return available if available > timezone.now() else None


@transaction.atomic
def user_id_change(
    *, user: User, new_username: str, actor: User | None = None, reason: str = "", request: HttpRequest | None = None
) -> User:
    """Change a User ID: once in 12 months by the cardholder (after password and code,
    checked by the view), any time by staff (``actor``) with a reason. Logged, and the
    cardholder is told at the contact on file."""
    from django.utils import timezone

    from .validators import validate_user_id

    user = User.objects.select_for_update().get(pk=user.pk)
    new_username = new_username.strip()
    validate_user_id(new_username)
    if new_username.lower() == user.username.lower():
        raise UserIdChangeError("That is already your User ID.")
    if User.objects.filter(username__iexact=new_username).exclude(pk=user.pk).exists():
        raise UserIdChangeError("That User ID is taken. Try adding numbers or a dot.")
    if actor is None and user_id_change_available_from(user=user) is not None:
        raise UserIdChangeError("You can change your User ID once in 12 months.")
    old = user.username
    user.username = new_username
    fields = ["username"]
    if actor is None:
        user.username_changed_at = timezone.now()
        fields.append("username_changed_at")
    user.save(update_fields=fields)
    security_event_record(
        kind=SecurityEvent.Kind.USER_ID_CHANGED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=user,
        actor=actor,
        request=request,
        detail={"from": old, "to": new_username, **({"reason": reason[:200]} if reason else {})},
    )
    stamp = int(time.time())
    if user.email:
        notify(
            channel=Notification.Channel.EMAIL,
            to=user.email,
            kind="user_id_changed",
            subject="Your User ID was changed",
            body=(
                f"Your {settings.ISSUER_NAME} User ID was changed from {old} to {new_username}"
                + (" by our customer service team" if actor is not None else "")
                + f".\n\nIf you did not ask for this, call us right away on {settings.SUPPORT_PHONE}."
            ),
            idempotency_key=f"user-id-changed-{user.pk}-{stamp}",
            user=user,
        )
    if user.phone:
        notify(
            channel=Notification.Channel.SMS,
            to=user.phone,
            kind="user_id_changed",
            body=f"{settings.ISSUER_NAME}: your User ID was changed. Not you? Call {settings.SUPPORT_PHONE}.",
            idempotency_key=f"user-id-changed-sms-{user.pk}-{stamp}",
            user=user,
        )
    return user


@transaction.atomic
def sign_in_unlock(*, user: User, actor: User, reason: str, request: HttpRequest | None = None) -> int:
    """Staff end a User ID lock after verifying the caller (an identity verification they
    recorded in the last 30 minutes; ``staff.VerificationRequired`` without one), so
    the UNLOCKED event names the verification that allowed it. Returns attempts cleared."""
    from axes.utils import reset

    from security import staff

    verification = staff.recent_verification(user=user, staff=actor)
    if verification is None:
        raise staff.VerificationRequired()
    cleared = reset(username=signin.axes_key(user.username))
    security_event_record(
        kind=SecurityEvent.Kind.UNLOCKED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=user,
        actor=actor,
        request=request,
        detail={"reason": reason[:200], "attempts_cleared": cleared, "verification": verification.pk},
    )
    return cleared


def new_device_alert(*, user, request, explanation: str) -> None:
    """Security alerts are always on: a sign-in from a device we did not know (by
    password and code, or by passkey)."""
    from security.devices import device_name

    name = device_name(request.META.get("HTTP_USER_AGENT", ""))
    body = (
        f"Someone signed in to your {settings.ISSUER_NAME} account from {name}. "
        f"{explanation}\n\nIf this was you, there's nothing to do. If it wasn't, change your password now "
        f"and call us on {settings.SUPPORT_PHONE}."
    )
    key = f"new-device-{user.pk}-{request.session.session_key}"
    if user.email:
        notify(
            channel="email",
            to=user.email,
            kind="new_device",
            subject="New sign-in to your account",
            body=body,
            idempotency_key=f"{key}-email",
            user=user,
        )
