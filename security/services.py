"""Writes for the security app: the audit trail and the notification outbox."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from cards import cardnumbers
from portal.net import client_ip

from .models import Notification, SecurityEvent
from .sms import DeliveryError, get_sms_backend

logger = logging.getLogger(__name__)

SCRUBBED_BODY = "[removed after delivery]"
# A claim older than this is treated as a crashed worker and handed out again.
STALE_CLAIM = timedelta(minutes=10)


def is_card_number(user_id: str) -> bool:
    """Whether a User ID as typed is a card number (a common slip on a card issuer's
    sign-in page): 12-19 ASCII digits passing the Luhn check once the spaces and
    hyphens people type are taken out."""
    return cardnumbers.luhn_checksum_ok(cardnumbers.normalize_pan(user_id))


def user_id_as_recorded(user_id: str) -> str:
    """A User ID as typed, fit to store and show: a card number becomes "•••• 1234", so
    the full number never reaches the audit trail, django-axes' username columns
    (``accounts.signin.axes_key``) or a staff page. Anything else is returned unchanged."""
    return cardnumbers.mask_pan(cardnumbers.normalize_pan(user_id)) if is_card_number(user_id) else user_id


def security_event_record(
    *,
    kind: str,
    outcome: str = SecurityEvent.Outcome.INFO,
    user: User | None = None,
    actor: User | None = None,
    request: HttpRequest | None = None,
    username_attempted: str = "",
    risk_score: float | None = None,
    risk_reasons: list[str] | None = None,
    detail: dict[str, Any] | None = None,
) -> SecurityEvent:
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else ""
    # Kept even for known users, so the trail still names them if a login is removed.
    attempted = username_attempted or (user.username if user is not None else "")
    return SecurityEvent.objects.create(
        kind=kind,
        outcome=outcome,
        user=user,
        actor=actor,
        ip_address=client_ip(request),
        user_agent=user_agent,
        username_attempted=user_id_as_recorded(attempted)[:150],
        risk_score=risk_score,
        risk_reasons=risk_reasons or [],
        detail=detail or {},
    )


def notify(
    *,
    channel: str,
    to: str,
    kind: str,
    body: str,
    idempotency_key: str,
    subject: str = "",
    user: User | None = None,
    sensitive: bool = False,
) -> Notification:
    """Put a message in the outbox and deliver it after the surrounding transaction
    commits. Calling twice with the same key stores and sends one message."""
    if channel == Notification.Channel.SMS and len(body) > 160:
        raise ValueError("Text messages must stay within 160 characters")
    with transaction.atomic():
        notification, created = Notification.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "channel": channel,
                "to": to,
                "kind": kind,
                "subject": subject,
                "body": body,
                "sensitive": sensitive,
                "user": user,
            },
        )
    if created:
        from .tasks import notification_deliver

        # robust: a delivery that fails in eager mode must not turn the request that
        # just committed into an error; the row waits in the outbox for the sweep.
        transaction.on_commit(lambda: notification_deliver.delay(notification.pk), robust=True)
    return notification


def _claim(notification_id: int) -> bool:
    """Atomically move a notification from waiting to sending. Only one worker can win,
    so two deliveries of the same task never both send."""
    now = timezone.now()
    claimable = Notification.objects.filter(pk=notification_id, status=Notification.Status.PENDING)
    stale = Notification.objects.filter(
        pk=notification_id, status=Notification.Status.SENDING, claimed_at__lt=now - STALE_CLAIM
    )
    for candidates in (claimable, stale):
        if candidates.update(status=Notification.Status.SENDING, claimed_at=now) == 1:
            return True
    return False


def _deliver(notification: Notification) -> None:
    if notification.channel == Notification.Channel.EMAIL:
        message = EmailMessage(
            subject=notification.subject,
            body=notification.body,
            to=[notification.to],
            # A stable Message-ID lets mail systems drop a copy resent after a crash.
            headers={"Message-ID": f"<{notification.idempotency_key}@notifications.portal>"},
        )
        try:
            message.send(fail_silently=False)
        except OSError as exc:
            raise DeliveryError(f"email delivery failed: {exc.__class__.__name__}") from exc
    else:
        get_sms_backend().send(to=notification.to, body=notification.body, idempotency_key=notification.idempotency_key)


def notification_send(*, notification_id: int) -> bool:
    """Deliver one notification if it has not been delivered. Returns whether this call
    sent it. Raises ``DeliveryError`` (after recording it) so the task can retry."""
    if not _claim(notification_id):
        return False
    notification = Notification.objects.get(pk=notification_id)
    try:
        _deliver(notification)
    except DeliveryError as exc:
        Notification.objects.filter(pk=notification_id).update(
            status=Notification.Status.PENDING,
            attempts=notification.attempts + 1,
            last_error=str(exc)[:300],
        )
        logger.warning("notification %s delivery failed: %s", notification_id, exc)
        raise
    Notification.objects.filter(pk=notification_id).update(
        status=Notification.Status.SENT,
        sent_at=timezone.now(),
        attempts=notification.attempts + 1,
        last_error="",
        **_scrubbed(notification),
    )
    return True


def _scrubbed(notification: Notification) -> dict[str, str]:
    """A message that carried a one-time code keeps no copy of it once it is out of our
    hands (sent, or given up on)."""
    return {"body": SCRUBBED_BODY, "subject": ""} if notification.sensitive else {}


def notification_mark_failed(*, notification_id: int, error: str) -> None:
    """Retries are exhausted: record it where staff can see it."""
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None or notification.status == Notification.Status.SENT:
        return
    Notification.objects.filter(pk=notification_id).exclude(status=Notification.Status.SENT).update(
        status=Notification.Status.FAILED, last_error=error[:300], **_scrubbed(notification)
    )


def notifications_due() -> list[int]:
    """Ids of messages waiting for delivery (or stuck with a crashed worker)."""
    now = timezone.now()
    # Fresh rows are left to the task enqueued on commit; the sweep is the safety net.
    waiting = Q(status=Notification.Status.PENDING, created_at__lt=now - timedelta(seconds=30))
    stuck = Q(status=Notification.Status.SENDING, claimed_at__lt=now - STALE_CLAIM)
    due = Notification.objects.filter(waiting | stuck).order_by("created_at")
    return list(due.values_list("pk", flat=True)[: settings.NOTIFICATION_SWEEP_BATCH])
