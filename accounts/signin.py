"""Sign-in: the form, the per-network limit, the lockout page, and what every outcome
records. Built on django-two-factor-auth's login wizard and django-axes."""

from __future__ import annotations

import math
import time

from axes.helpers import get_cool_off
from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.net import client_ip
from security.services import is_card_number, user_id_as_recorded

INVALID_LOGIN = "User ID or password incorrect"


class UserIdInput(forms.TextInput):
    """The User ID box. After a failed attempt it shows what was typed again, except a
    card number typed there by mistake: that is never written back into the page (PCI
    DSS: no full card number in pages)."""

    def format_value(self, value):
        if isinstance(value, str) and is_card_number(value):
            return None
        return super().format_value(value)


class SignInForm(AuthenticationForm):
    """One message for every bad pair, whether or not the User ID exists, and for an
    inactive login too: the page must not tell an attacker which User IDs are real."""

    username = forms.CharField(
        label="User ID",
        max_length=150,
        widget=UserIdInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label="Password",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    error_messages = {
        "invalid_login": INVALID_LOGIN,
        "inactive": INVALID_LOGIN,
    }

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip()


# --- The per-network limit -----------------------------------------------------------
# django-axes locks a User ID after 5 failures. A credential-stuffing run tries one
# password on many User IDs, so each network address also has its own, higher limit.


def _ip_key(ip: str) -> str:
    return f"signin:ipfail:{ip}"


def ip_failure_record(ip: str | None) -> int:
    if not ip:
        return 0
    key = _ip_key(ip)
    cache.add(key, 0, timeout=settings.SIGN_IN_IP_WINDOW)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.SIGN_IN_IP_WINDOW)
        return 1


def ip_is_blocked(ip: str | None) -> bool:
    if not ip:
        return False
    return (cache.get(_ip_key(ip)) or 0) >= settings.SIGN_IN_IP_FAILURE_LIMIT


def ip_block_reset(ip: str) -> None:
    cache.delete(_ip_key(ip))


# --- The lockout page ------------------------------------------------------------------


def _minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes calls this instead of its bare "Account locked" text."""
    cool_off = get_cool_off(request)
    minutes = _minutes(cool_off.total_seconds()) if cool_off else 30
    return render(
        request,
        "accounts/locked.html",
        {"minutes": minutes, "reason": "user_id"},
        status=429,
    )


def ip_blocked_response(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/locked.html",
        {"minutes": _minutes(settings.SIGN_IN_IP_WINDOW), "reason": "network"},
        status=429,
    )


def session_stamp(request: HttpRequest) -> None:
    now = int(time.time())
    request.session["signed_in_at"] = now
    request.session["last_activity"] = now


def request_ip(request: HttpRequest) -> str | None:
    return client_ip(request)


def axes_key(user_id: str) -> str:
    """What django-axes counts failures against for a User ID: folded to lower case,
    because User IDs are case-insensitive (otherwise "JSMITH" would dodge the lock on
    "jsmith"), and a card number typed into the box masked to "•••• 1234", because axes
    stores and shows its key (every such number ending 1234 then shares one count).
    Anything that finds or clears a User ID's attempts must use the same key."""
    return user_id_as_recorded(user_id.strip()).lower()


def axes_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """django-axes' ``AXES_USERNAME_CALLABLE``: the key (``axes_key``) of the User ID
    in the credentials given to ``authenticate`` or the wizard's ``auth-username``."""
    username = (credentials or {}).get("username")
    if username is None and request is not None:
        username = request.POST.get("auth-username")
    return axes_key(username) if isinstance(username, str) else None
