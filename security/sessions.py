"""Where a person is signed in: one row per server-side session, ended on sign-out,
expiry, password change or from another session."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from portal.net import client_ip

from .models import SecurityEvent, UserSession
from .services import security_event_record

TOUCH_EVERY = timedelta(minutes=1)


def _store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def session_started(*, request: HttpRequest, user: User) -> None:
    from .devices import device_name

    if not request.session.session_key:
        request.session.save()
    UserSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            "device_name": device_name(request.META.get("HTTP_USER_AGENT", "")),
            "ip_address": client_ip(request),
            "created_at": timezone.now(),
            "last_seen_at": timezone.now(),
            "ended_at": None,
        },
    )


# The session remembers when it last touched its row (seconds since the epoch), so the
# pages in between ask the database nothing: the session is saved on every request
# anyway (the idle clock lives in it).
_TOUCHED = "security.session_touched_at"


def session_touch(*, request: HttpRequest) -> None:
    """Record activity at most once a minute per session: one UPDATE a minute, and no
    query at all for the requests in between."""
    session = request.session
    key = session.session_key
    if not key:
        return
    now = timezone.now()
    touched = session.get(_TOUCHED)
    if isinstance(touched, int) and 0 <= now.timestamp() - touched < TOUCH_EVERY.total_seconds():
        return
    UserSession.objects.filter(session_key=key, ended_at__isnull=True, last_seen_at__lt=now - TOUCH_EVERY).update(
        last_seen_at=now, ip_address=client_ip(request)
    )
    session[_TOUCHED] = int(now.timestamp())


def session_ended(*, session_key: str | None) -> None:
    if session_key:
        UserSession.objects.filter(session_key=session_key, ended_at__isnull=True).update(ended_at=timezone.now())


def sessions_active(*, user: User) -> list[UserSession]:
    cutoff = timezone.now() - timedelta(seconds=settings.SESSION_IDLE_TIMEOUT)
    return list(
        UserSession.objects.filter(user=user, ended_at__isnull=True, last_seen_at__gte=cutoff).order_by("-last_seen_at")
    )


def session_end_for_user(*, user: User, session_id: int, request: HttpRequest) -> bool:
    """Sign out one of this user's sessions (never another user's: filtered by owner)."""
    session = UserSession.objects.filter(user=user, pk=session_id, ended_at__isnull=True).first()
    if session is None:
        return False
    _store()(session_key=session.session_key).delete()
    session_ended(session_key=session.session_key)
    security_event_record(
        kind=SecurityEvent.Kind.SIGNED_OUT,
        user=user,
        request=request,
        detail={"remote": True, "device": session.device_name},
    )
    return True


def session_key_rotate(*, request: HttpRequest, rotate) -> None:
    """Run ``rotate`` (which gives the session a new key, e.g. Django's
    ``update_session_auth_hash``) and move this session's row to the new key, so the
    session stays in "Where you're signed in" and can still be signed out from there."""
    old_key = request.session.session_key
    rotate()
    new_key = request.session.session_key
    if old_key and new_key and new_key != old_key:
        UserSession.objects.filter(session_key=old_key, ended_at__isnull=True).update(session_key=new_key)


def sessions_end_others(*, user: User, request: HttpRequest) -> int:
    current = request.session.session_key
    others = UserSession.objects.filter(user=user, ended_at__isnull=True).exclude(session_key=current)
    keys = list(others.values_list("session_key", flat=True))
    store = _store()
    for key in keys:
        store(session_key=key).delete()
    others.update(ended_at=timezone.now())
    if keys:
        security_event_record(
            kind=SecurityEvent.Kind.SIGNED_OUT, user=user, request=request, detail={"others": len(keys)}
        )
    return len(keys)
