"""Account recovery pages: forgot password (details, code, new password) and forgot
User ID (by card or by personal details). The rules are in accounts.recovery.

The password flow keeps its state in the session under one key. Every page reads the
same whether or not the User ID exists and the details matched; only the limits
(per network, per card) are spoken about."""

from __future__ import annotations

import time
from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from cards.verification import Outcome
from portal.net import client_ip
from security import codes, staff
from security.models import Notification

from .. import recovery
from ..forms import CodeForm
from ..passwords import help_texts_for
from ..recovery_forms import (
    NewPasswordForm,
    PasswordResetStartForm,
    RecoveryChoiceForm,
    UserIdByCardForm,
    UserIdByDetailsForm,
    UserIdMethodForm,
)

SESSION_KEY = "recovery_password"
# The whole reset must be finished within this time of giving the details, and the new
# password chosen within this time of entering the code.
FLOW_MAX_AGE = 30 * 60
NEW_PASSWORD_WINDOW = 10 * 60

CARD_LOCKED_MESSAGE = (
    "For your security, we have paused online services that ask for this card's details for 24 hours "
    "after too many attempts. Call the number on the back of your card if you need help now."
)
ATTEMPT_ENDED_MESSAGE = "For your security, that reset attempt has ended. Start again to get a new code."
TOO_MANY_CODES_MESSAGE = "Too many wrong codes. For your security, that reset attempt has ended. Start again."


def anonymous_only(view):
    """Recovery is for people who cannot log in; a signed-in person goes to their
    account (and must never have their own session ended by it)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated:
            messages.info(request, "You're already logged in.")
            return redirect("portal:home")
        return view(request, *args, **kwargs)

    return never_cache(wrapper)


def _limited(request: HttpRequest, *, template: str, form, message: str | None = None) -> HttpResponse:
    """The per-network limit (or ``message``), said on the page the person was on (with
    an empty form: nothing they typed is looked at)."""
    return render(
        request, template, {"form": form, "limited_message": message or recovery_network_message()}, status=429
    )


def _reset_paused(request: HttpRequest, paused: recovery.ResetPaused) -> HttpResponse:
    """Too many wrong codes for the User ID: this attempt ends, back to step 1."""
    _flow_end(request)
    messages.error(request, str(paused))
    return redirect("recovery:password")


def recovery_network_message() -> str:
    minutes = recovery.ip_window_minutes()
    when = "an hour" if minutes == 60 else f"{minutes} minutes"
    return (
        f"There have been too many attempts from your network. Try again in {when}, "
        "or call the number on the back of your card."
    )


def _posted(request: HttpRequest):
    # Not ``request.POST or None``: an empty POST must still be a bound (invalid) form.
    return request.POST if request.method == "POST" else None


# --- Start -----------------------------------------------------------------------------


@anonymous_only
def start(request: HttpRequest) -> HttpResponse:
    form = RecoveryChoiceForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        return redirect("recovery:password" if form.cleaned_data["need"] == "password" else "recovery:user_id")
    return render(request, "accounts/recovery/start.html", {"form": form})


# --- Forgot password -------------------------------------------------------------------


def _flow(request: HttpRequest) -> dict | None:
    state = request.session.get(SESSION_KEY)
    if not isinstance(state, dict):
        return None
    if time.time() - state.get("started_at", 0) > FLOW_MAX_AGE:
        del request.session[SESSION_KEY]
        messages.info(request, ATTEMPT_ENDED_MESSAGE)
        return None
    return state


def _flow_start(state: dict) -> recovery.ResetStart:
    return recovery.ResetStart(
        binding=state["binding"], user_id=state["user"], channel=state["channel"], username=state.get("username", "")
    )


def _flow_end(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)


@anonymous_only
def password(request: HttpRequest) -> HttpResponse:
    """Step 1: User ID, one identity fact, where to send the code."""
    previous = request.session.get(SESSION_KEY) or {}
    initial = {"user_id": previous.get("username", ""), "channel": previous.get("channel", "")}
    form = PasswordResetStartForm(_posted(request), initial=initial)
    if request.method == "POST":
        ip = client_ip(request)
        if recovery.ip_is_limited(ip):
            return _limited(request, template="accounts/recovery/password.html", form=PasswordResetStartForm())
        if form.is_valid():
            recovery.ip_attempt_record(ip)
            data = form.cleaned_data
            try:
                started = recovery.password_reset_start(
                    username=data["user_id"],
                    date_of_birth=data["date_of_birth"],
                    postal_code=data["postal_code"],
                    channel=data["channel"],
                    request=request,
                )
            except recovery.ResetPaused as paused:
                _flow_end(request)
                return _limited(
                    request,
                    template="accounts/recovery/password.html",
                    form=PasswordResetStartForm(),
                    message=str(paused),
                )
            request.session[SESSION_KEY] = {
                "binding": started.binding,
                "user": started.user_id,
                "channel": started.channel,
                "username": data["user_id"],
                "stage": "code",
                "started_at": int(time.time()),
            }
            return redirect("recovery:password_code")
    return render(request, "accounts/recovery/password.html", {"form": form})


def _code_page(request: HttpRequest, state: dict, form: CodeForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "accounts/recovery/password_code.html",
        {"form": form, "by_text": state["channel"] == Notification.Channel.SMS},
        status=status,
    )


@anonymous_only
@sensitive_post_parameters("code")
def password_code(request: HttpRequest) -> HttpResponse:
    """Step 2: the code, with resend after the cooldown and a way back to step 1."""
    state = _flow(request)
    if state is None:
        return redirect("recovery:password")
    if state["stage"] == "new":
        return redirect("recovery:password_new")
    if request.method == "POST" and request.POST.get("action") == "resend":
        ip = client_ip(request)
        if recovery.ip_is_limited(ip):
            return _code_page(request, state, CodeForm(), status=429)
        recovery.ip_attempt_record(ip)
        try:
            recovery.password_reset_resend(start=_flow_start(state), request=request)
        except recovery.ResetPaused as paused:
            return _reset_paused(request, paused)
        except codes.CodeCooldown as wait:
            messages.error(request, str(wait))
        else:
            where = "mobile number" if state["channel"] == Notification.Channel.SMS else "email address"
            messages.success(
                request, f"If the details you gave match our records, we've sent a new code to the {where} on file."
            )
        return redirect("recovery:password_code")
    form = CodeForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            verification = recovery.password_reset_verify(
                start=_flow_start(state), code=form.cleaned_data["code"], request=request
            )
        except recovery.ResetPaused as paused:
            return _reset_paused(request, paused)
        if verification.ok:
            state.update(stage="new", verified_at=int(time.time()))
            request.session[SESSION_KEY] = state
            return redirect("recovery:password_new")
        if verification.result is codes.VerifyResult.TOO_MANY:
            _flow_end(request)
            messages.error(request, TOO_MANY_CODES_MESSAGE)
            return redirect("recovery:password")
        form.add_error("code", verification.message)
    return _code_page(request, state, form)


@anonymous_only
@sensitive_post_parameters("password1", "password2")
def password_new(request: HttpRequest) -> HttpResponse:
    """Step 3: the new password. The person is then sent to log in with it."""
    state = _flow(request)
    if state is None or state.get("stage") != "new":
        return redirect("recovery:password")
    user = recovery.reset_user_get(user_id=state["user"])
    if user is None or time.time() - state.get("verified_at", 0) > NEW_PASSWORD_WINDOW:
        _flow_end(request)
        messages.info(request, ATTEMPT_ENDED_MESSAGE)
        return redirect("recovery:password")
    form = NewPasswordForm(_posted(request), user=user)
    if request.method == "POST" and form.is_valid():
        try:
            recovery.password_reset_complete(
                user=user, raw_password=form.cleaned_data["password1"], channel=state["channel"], request=request
            )
        except ValidationError as error:
            form.add_error("password1", error)
        else:
            _flow_end(request)
            messages.success(request, "Your password has been changed. Log in with your new password.")
            return redirect("two_factor:login")
    return render(request, "accounts/recovery/password_new.html", {"form": form, "rules": help_texts_for(user)})


# --- Forgot User ID --------------------------------------------------------------------


@anonymous_only
def user_id(request: HttpRequest) -> HttpResponse:
    form = UserIdMethodForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        by_card = form.cleaned_data["method"] == "card"
        return redirect("recovery:user_id_card" if by_card else "recovery:user_id_details")
    return render(request, "accounts/recovery/user_id.html", {"form": form})


@anonymous_only
@sensitive_post_parameters("card_number", "card_id")
def user_id_card(request: HttpRequest) -> HttpResponse:
    form = UserIdByCardForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        check = recovery.user_id_reminder_by_card(
            pan=form.cleaned_data["card_number"], card_id=form.cleaned_data["card_id"], request=request
        )
        if check.outcome is Outcome.NETWORK_LIMITED:
            return render(
                request,
                "accounts/recovery/user_id_card.html",
                {"form": UserIdByCardForm(), "limited_message": check.message},
                status=429,
            )
        if check.outcome is Outcome.LOCKED:
            return render(
                request,
                "accounts/recovery/user_id_card.html",
                {"form": UserIdByCardForm(), "limited_message": CARD_LOCKED_MESSAGE},
            )
        return redirect("recovery:user_id_sent")
    return render(request, "accounts/recovery/user_id_card.html", {"form": form})


@anonymous_only
def user_id_details(request: HttpRequest) -> HttpResponse:
    form = UserIdByDetailsForm(_posted(request))
    if request.method == "POST":
        ip = client_ip(request)
        if recovery.ip_is_limited(ip):
            return _limited(request, template="accounts/recovery/user_id_details.html", form=UserIdByDetailsForm())
        if form.is_valid():
            recovery.ip_attempt_record(ip)
            recovery.user_id_reminder_by_details(
                name=form.cleaned_data["name"],
                date_of_birth=form.cleaned_data["date_of_birth"],
                postal_code=form.cleaned_data["postal_code"],
                request=request,
            )
            return redirect("recovery:user_id_sent")
    return render(request, "accounts/recovery/user_id_details.html", {"form": form})


@anonymous_only
def user_id_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/recovery/user_id_sent.html")


# --- A recovery link sent by staff ----------------------------------------------------

LINK_SESSION_KEY = "recovery_link"


def _link_unusable(request: HttpRequest) -> HttpResponse:
    request.session.pop(LINK_SESSION_KEY, None)
    return render(request, "accounts/recovery/link_invalid.html", status=410)


@anonymous_only
def link_open(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the message. The token leaves the address bar at once: the session
    remembers which link it was, and the page that asks for the password has a plain URL."""
    link = staff.recovery_link_valid(token=token)
    if link is None:
        return _link_unusable(request)
    request.session[LINK_SESSION_KEY] = link.pk
    return redirect("recovery:link_password")


@anonymous_only
@sensitive_post_parameters("password1", "password2")
def link_password(request: HttpRequest) -> HttpResponse:
    link = staff.recovery_link_by_id(link_id=request.session.get(LINK_SESSION_KEY))
    if link is None or not link.user.is_active:
        return _link_unusable(request)
    form = NewPasswordForm(_posted(request), user=link.user)
    if request.method == "POST" and form.is_valid():
        try:
            redeemed = staff.recovery_link_redeem(
                link_id=link.pk, raw_password=form.cleaned_data["password1"], request=request
            )
        except ValidationError as error:
            form.add_error("password1", error)
        else:
            if not redeemed:
                return _link_unusable(request)
            request.session.pop(LINK_SESSION_KEY, None)
            messages.success(request, "Your password has been changed. Log in with your new password.")
            return redirect("two_factor:login")
    return render(request, "accounts/recovery/password_new.html", {"form": form, "rules": help_texts_for(link.user)})
