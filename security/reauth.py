"""Confirming it's you again before a sensitive change ("step-up").

A signed-in person re-enters their password, or a code we send to a contact already
on file, before changing contact details or two-step verification. The confirmation is
kept in their session for 10 minutes and is for that login only. Wrong passwords are
counted: after 5 in 30 minutes the session is ended, so a borrowed, signed-in browser
cannot be used to guess the password. The count covers every signed-in form that asks
for the current password (this confirmation, changing the password or the User ID,
turning two-step verification off): each view passes its bound form to
``current_password_checked``."""

from __future__ import annotations

import time
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout
from django.core.cache import cache
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.models import User
from portal.net import local_path

from .models import SecurityEvent
from .services import security_event_record

SESSION_KEY = "security_reauth"
VALIDITY_SECONDS = 10 * 60
MAX_WRONG_PASSWORDS = 5
WRONG_PASSWORD_WINDOW = 30 * 60
# The ValidationError code a form gives a wrong current password.
WRONG_PASSWORD = "wrong_password"
TOO_MANY_WRONG_PASSWORDS_MESSAGE = "Too many wrong passwords. For your security, we've logged you out."


def reauth_mark(request: HttpRequest, *, method: str) -> None:
    request.session[SESSION_KEY] = {"user": request.user.pk, "at": int(time.time()), "method": method}


def reauth_age(request: HttpRequest) -> int | None:
    """Seconds since this session last confirmed it's the user, or None."""
    state = request.session.get(SESSION_KEY)
    if not isinstance(state, dict) or state.get("user") != request.user.pk:
        return None
    return int(time.time()) - int(state.get("at", 0))


def reauth_is_fresh(request: HttpRequest) -> bool:
    age = reauth_age(request)
    return age is not None and 0 <= age <= VALIDITY_SECONDS


def reauth_clear(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)


def safe_next(request: HttpRequest, candidate: str | None, default: str) -> str:
    return local_path(request, candidate, default)


def reauth_url(next_path: str) -> str:
    return f"{reverse('security:confirm')}?{urlencode({'next': next_path})}"


def reauth_required(view=None, *, return_to: str | None = None):
    """The view needs a confirmation less than 10 minutes old; otherwise the person
    confirms first and comes back (to ``return_to``, a URL name, for POST-only views)."""

    def decorator(func):
        @wraps(func)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if not reauth_is_fresh(request):
                back = reverse(return_to) if return_to else request.get_full_path()
                return redirect(reauth_url(back))
            return func(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator


def _wrong_password_key(user: User) -> str:
    return f"reauth:wrong:{user.pk}"


def wrong_password_count(user: User) -> int:
    """Record one wrong password; the count in the current window."""
    key = _wrong_password_key(user)
    cache.add(key, 0, timeout=WRONG_PASSWORD_WINDOW)
    try:
        # None while Redis is down (the cache ignores errors): count nothing, like the
        # other cache counters, rather than fail the page.
        return cache.incr(key) or 0
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=WRONG_PASSWORD_WINDOW)
        return 1


def wrong_passwords_clear(user: User) -> None:
    cache.delete(_wrong_password_key(user))


def current_password_checked(
    request: HttpRequest, *, form: Form, step: str, field: str = "password"
) -> HttpResponse | None:
    """Call after ``form.is_valid()`` on any form that asks the signed-in user for their
    current password in ``field`` (a wrong one being an error with code
    ``WRONG_PASSWORD``), so every such form shares one count. A wrong password is logged
    and counted; at the limit the session is ended and the redirect to the log-in page
    is returned, for the view to send. A right password clears the count. None (and
    nothing done for a form that was not posted) when the view carries on as usual."""
    user = request.user
    wrong = any(error.code == WRONG_PASSWORD for error in form.errors.as_data().get(field, ()))
    if not wrong:
        if getattr(form, "cleaned_data", {}).get(field):  # typed, and it was right
            wrong_passwords_clear(user)
        return None
    security_event_record(
        kind=SecurityEvent.Kind.SIGN_IN_FAILED,
        outcome=SecurityEvent.Outcome.FAILURE,
        user=user,
        request=request,
        detail={"reason": "bad_password", "step": step},
    )
    if wrong_password_count(user) < MAX_WRONG_PASSWORDS:
        return None
    logout(request)
    messages.error(request, TOO_MANY_WRONG_PASSWORDS_MESSAGE)
    return redirect("two_factor:login")
