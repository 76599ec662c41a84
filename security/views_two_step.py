"""Two-step verification on the security pages: an authenticator app (TOTP with a QR
code) and backup codes. The rules are in security.two_step and security.backup_codes.

Our own small views rather than django-two-factor-auth's SetupView: that wizard offers
phone methods we don't use, finishes on its BackupTokensView (plain-text StaticTokens),
and its DisableView deletes every device (the email and text code devices, passkeys)
on a checkbox alone."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from . import backup_codes, reauth, two_step
from .account_forms import AppCodeForm, TwoStepOffForm

SETUP_SESSION_KEY = "two_step_setup"
MAX_WRONG_SETUP_CODES = 5


@never_cache
@login_required
def overview(request: HttpRequest) -> HttpResponse:
    user = request.user
    device = two_step.two_step_device(user=user)
    backup = backup_codes.backup_device_for(user=user)
    return render(
        request,
        "security/two_step.html",
        {
            "device": device,
            "backup_device": backup,
            "backup_codes_left": backup_codes.unused_codes(user=user).count() if backup else 0,
        },
    )


def _codes_page(request: HttpRequest, codes: list[str], *, turned_on: bool) -> HttpResponse:
    # Rendered straight from the POST and kept nowhere: the only time they are shown.
    return render(request, "security/backup_codes.html", {"codes": codes, "turned_on": turned_on})


@never_cache
@login_required
@reauth.reauth_required
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def app_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    if two_step.two_step_device(user=user) is not None:
        messages.info(request, "Two-step verification with an authenticator app is already on.")
        return redirect("security:two_step")
    state = request.session.get(SETUP_SESSION_KEY)
    if not isinstance(state, dict) or state.get("user") != user.pk:
        state = {"user": user.pk, "key": two_step.secret_new(), "wrong": 0}
        request.session[SETUP_SESSION_KEY] = state
    form = AppCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        device = two_step.app_confirm(user=user, key_hex=state["key"], token=form.cleaned_data["code"], request=request)
        if device is not None:
            request.session.pop(SETUP_SESSION_KEY, None)
            codes = backup_codes.codes_generate(user=user, request=request, tell=False)
            return _codes_page(request, codes, turned_on=True)
        state["wrong"] += 1
        if state["wrong"] >= MAX_WRONG_SETUP_CODES:
            state = {"user": user.pk, "key": two_step.secret_new(), "wrong": 0}
            form = AppCodeForm()
            messages.error(
                request,
                "That code still doesn't match, so we've made a new QR code. Remove the old entry from your app, "
                "scan this one, and enter the code it shows.",
            )
        else:
            form.add_error(
                "code",
                "That code doesn't match. Enter the code the app shows now; if it still fails, check your "
                "phone sets its time automatically",
            )
        request.session[SETUP_SESSION_KEY] = state
    url = two_step.otpauth_url(user=user, key_hex=state["key"])
    return render(
        request,
        "security/two_step_app.html",
        {
            "form": form,
            "qr_code": two_step.qr_svg_data_uri(url),
            "secret": two_step.secret_for_people(state["key"]),
            "account_name": user.username,
        },
    )


@never_cache
@login_required
@sensitive_post_parameters("password", "code")
@require_http_methods(["GET", "POST"])
def app_remove(request: HttpRequest) -> HttpResponse:
    user = request.user
    if two_step.two_step_device(user=user) is None:
        messages.info(request, "Two-step verification with an authenticator app is already off.")
        return redirect("security:two_step")
    form = TwoStepOffForm(request.POST if request.method == "POST" else None, user=user)
    valid = form.is_valid()  # False when not posted
    if signed_out := reauth.current_password_checked(request, form=form, step="two_step_off"):
        return signed_out
    if valid:
        two_step.app_remove(user=user, request=request)
        messages.success(
            request,
            "Two-step verification is off. We'll still send a code by text or email when we don't recognize a device.",
        )
        return redirect("security:two_step")
    return render(request, "security/two_step_off.html", {"form": form})


@never_cache
@login_required
@require_POST
@reauth.reauth_required(return_to="security:two_step")
def backup_codes_new(request: HttpRequest) -> HttpResponse:
    codes = backup_codes.codes_generate(user=request.user, request=request)
    return _codes_page(request, codes, turned_on=False)
