"""The security settings pages: a checklist of what protects the account."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services as account_services

from . import devices, passkeys, reauth, selectors, sessions
from .forms import PasskeyRenameForm, PasswordChangeForm
from .models import Notification, SecurityEvent
from .risk import risk_reasons_sentence
from .services import notify, security_event_record


@never_cache
@login_required
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "security/overview.html", {"overview": selectors.security_overview(user=request.user)})


@never_cache
@login_required
def device_list(request: HttpRequest) -> HttpResponse:
    current = devices.trusted_device_for(user=request.user, request=request)
    return render(
        request,
        "security/devices.html",
        {
            "devices": selectors.trusted_devices_for_user(user=request.user),
            "current_id": current.pk if current else None,
        },
    )


@login_required
@require_POST
def device_remove(request: HttpRequest, device_id: int) -> HttpResponse:
    # Filtered by owner: another user's device id changes nothing and looks the same.
    if devices.device_revoke(user=request.user, device_id=device_id, request=request):
        messages.success(request, "Device removed. It will need a code the next time it is used to log in.")
    else:
        messages.error(request, "That device is not on your list.")
    return redirect("security:devices")


@login_required
@require_POST
def device_remove_all(request: HttpRequest) -> HttpResponse:
    count = devices.devices_revoke_all(user=request.user, request=request)
    messages.success(request, f"Removed {count} device{'s' if count != 1 else ''}. Each will need a code next time.")
    return redirect("security:devices")


@never_cache
@login_required
def passkey_list(request: HttpRequest) -> HttpResponse:
    usable = passkeys.passkeys_usable_here(request)
    return render(
        request,
        "security/passkeys.html",
        {
            "passkeys": passkeys.passkeys_for_user(user=request.user),
            "usable_here": usable,
            "passkey_address": "" if usable else passkeys.passkey_address(request),
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def passkey_rename(request: HttpRequest, passkey_id: int) -> HttpResponse:
    passkey = passkeys.passkey_get_for_user(user=request.user, passkey_id=passkey_id)
    form = PasskeyRenameForm(request.POST if request.method == "POST" else None, initial={"name": passkey.name})
    if request.method == "POST" and form.is_valid():
        passkeys.passkey_rename(
            user=request.user, passkey_id=passkey.pk, name=form.cleaned_data["name"], request=request
        )
        messages.success(request, "Passkey renamed.")
        return redirect("security:passkeys")
    return render(request, "security/passkey_rename.html", {"form": form, "passkey": passkey})


@login_required
@require_POST
def passkey_remove(request: HttpRequest, passkey_id: int) -> HttpResponse:
    name = passkeys.passkey_remove(user=request.user, passkey_id=passkey_id, request=request)
    messages.success(
        request,
        f"Passkey \u201c{name}\u201d removed. You can still log in with your User ID, password and a security code.",
    )
    return redirect("security:passkeys")


@never_cache
@login_required
def activity(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.security_events_for_user(user=request.user), 50).get_page(request.GET.get("page"))
    rows = [
        {
            "event": event,
            "device": devices.device_name(event.user_agent) if event.user_agent else "",
            "network": event.detail.get("network", ""),
            "reasons": risk_reasons_sentence(event.risk_reasons) if event.risk_reasons else "",
        }
        for event in page.object_list
    ]
    return render(
        request,
        "security/activity.html",
        {
            "page": page,
            "rows": rows,
            "sessions": sessions.sessions_active(user=request.user),
            "current_key": request.session.session_key,
            "days": selectors.HISTORY_DAYS,
        },
    )


@login_required
@require_POST
def session_end(request: HttpRequest, session_id: int) -> HttpResponse:
    if sessions.session_end_for_user(user=request.user, session_id=session_id, request=request):
        messages.success(request, "That session has been signed out.")
    else:
        messages.error(request, "That session had already ended.")
    return redirect("security:activity")


@login_required
@require_POST
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    count = sessions.sessions_end_others(user=request.user, request=request)
    messages.success(request, f"Signed out {count} other session{'s' if count != 1 else ''}.")
    return redirect("security:activity")


@never_cache
@login_required
@sensitive_post_parameters("current_password", "new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST if request.method == "POST" else None, user=request.user)
    valid = form.is_valid()  # False when not posted
    if signed_out := reauth.current_password_checked(
        request, form=form, field="current_password", step="password_change"
    ):
        return signed_out
    if valid:
        user = request.user
        account_services.password_set(user=user, raw_password=form.cleaned_data["new_password1"])
        # This session stays; every other one ends (the auth hash changed, and the rows go).
        sessions.session_key_rotate(request=request, rotate=lambda: update_session_auth_hash(request, user))
        sessions.sessions_end_others(user=user, request=request)
        security_event_record(
            kind=SecurityEvent.Kind.PASSWORD_CHANGED, outcome=SecurityEvent.Outcome.SUCCESS, user=user, request=request
        )
        if user.email:
            notify(
                channel=Notification.Channel.EMAIL,
                to=user.email,
                kind="password_changed",
                subject="Your password was changed",
                body=(
                    f"The password for your {settings.ISSUER_NAME} account was changed, and every other "
                    "session was signed out.\n\nIf you did not do this, reset your password now and call us on "
                    f"{settings.SUPPORT_PHONE}."
                ),
                idempotency_key=f"password-changed-{user.pk}-{user.password[-16:]}",
                user=user,
            )
        messages.success(request, "Your password has been changed. Other devices have been signed out.")
        return redirect("security:overview")
    return render(
        request,
        "security/password.html",
        {"form": form, "rules": account_services.password_rules_for(user=request.user)},
    )
