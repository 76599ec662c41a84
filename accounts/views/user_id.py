"""Changing your own User ID: once in 12 months, after your password and a code."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.forms import CodeForm, UserIdChangeForm
from security import codes, reauth
from security.masking import mask_contact
from security.models import Notification, OneTimeCode

SESSION_KEY = "user_id_change"


@never_cache
@login_required
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def user_id_change(request: HttpRequest) -> HttpResponse:
    user = request.user
    available_from = services.user_id_change_available_from(user=user)
    if available_from is not None:
        return render(request, "accounts/user_id_change.html", {"available_from": available_from})
    form = UserIdChangeForm(request.POST if request.method == "POST" else None, user=user)
    valid = form.is_valid()  # False when not posted
    if signed_out := reauth.current_password_checked(request, form=form, step="user_id_change"):
        return signed_out
    if valid:
        channel, destination = (
            (Notification.Channel.EMAIL, user.email) if user.email else (Notification.Channel.SMS, user.phone)
        )
        binding = codes.new_binding()
        try:
            codes.code_issue(
                purpose=OneTimeCode.Purpose.USER_ID_CHANGE,
                binding=binding,
                channel=channel,
                destination=destination,
                user=user,
            )
        except codes.CodeCooldown as cooldown:
            form.add_error(None, str(cooldown))
        else:
            request.session[SESSION_KEY] = {
                "new_username": form.cleaned_data["new_username"],
                "binding": binding,
                "sent_to": mask_contact(destination),
            }
            return redirect("accounts:user_id_confirm")
    return render(request, "accounts/user_id_change.html", {"form": form, "current": user.username})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def user_id_confirm(request: HttpRequest) -> HttpResponse:
    state = request.session.get(SESSION_KEY)
    if not state:
        return redirect("accounts:user_id_change")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        result = codes.code_verify(
            purpose=OneTimeCode.Purpose.USER_ID_CHANGE, binding=state["binding"], code=form.cleaned_data["code"]
        )
        if result.ok:
            try:
                user = services.user_id_change(user=request.user, new_username=state["new_username"], request=request)
            except (services.UserIdChangeError, ValueError) as error:
                request.session.pop(SESSION_KEY, None)
                messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
                return redirect("accounts:user_id_change")
            request.session.pop(SESSION_KEY, None)
            messages.success(request, f"Your User ID is now {user.username}. Use it the next time you log in.")
            return redirect("cards:list")
        form.add_error("code", result.message)
        if result.result in (codes.VerifyResult.TOO_MANY, codes.VerifyResult.EXPIRED, codes.VerifyResult.NO_CODE):
            request.session.pop(SESSION_KEY, None)
    return render(
        request,
        "accounts/user_id_confirm.html",
        {"form": form, "sent_to": state["sent_to"], "new_username": state["new_username"]},
    )
