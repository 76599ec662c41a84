""" "Confirm it's you": the password again, or a code to a contact already on file,
before changing contact details or two-step verification. Valid 10 minutes."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.forms import CodeForm

from . import codes, reauth
from .account_forms import ConfirmPasswordForm
from .masking import mask_contact
from .models import Notification, OneTimeCode, SecurityEvent
from .services import security_event_record

CODE_SESSION_KEY = "security_reauth_code"
PURPOSE = OneTimeCode.Purpose.STEP_UP


def _verified_contacts(user) -> list[tuple[str, str]]:
    """(channel, address) of the contacts a code may go to: verified ones only."""
    found = []
    if user.phone and user.phone_verified_at:
        found.append((Notification.Channel.SMS, user.phone))
    if user.email and user.email_verified_at:
        found.append((Notification.Channel.EMAIL, user.email))
    return found


def _next(request: HttpRequest) -> str:
    return reauth.safe_next(request, request.POST.get("next") or request.GET.get("next"), reverse("security:overview"))


@never_cache
@login_required
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = _next(request)
    contacts = _verified_contacts(user)
    action = request.POST.get("action")
    if request.method == "POST" and action == "send":
        destination = dict(contacts).get(request.POST.get("channel", ""))
        if destination:
            binding = codes.new_binding()
            channel = request.POST["channel"]
            try:
                codes.code_issue(purpose=PURPOSE, binding=binding, channel=channel, destination=destination, user=user)
            except codes.CodeCooldown as wait:
                messages.error(request, str(wait))
            else:
                request.session[CODE_SESSION_KEY] = {
                    "binding": binding,
                    "channel": channel,
                    "sent_to": mask_contact(destination),
                    "next": next_url,
                }
                return redirect("security:confirm_code")
        else:
            messages.error(request, "Choose where we should send your code.")
    form = ConfirmPasswordForm(request.POST if action == "password" else None, user=user)
    if action == "password":
        valid = form.is_valid()
        if signed_out := reauth.current_password_checked(request, form=form, step="confirm_identity"):
            return signed_out
        if valid:
            reauth.reauth_mark(request, method="password")
            return redirect(next_url)
    return render(
        request,
        "security/confirm.html",
        {
            "form": form,
            "next": next_url,
            "contacts": [(channel, mask_contact(value)) for channel, value in contacts],
        },
    )


@never_cache
@login_required
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def confirm_code(request: HttpRequest) -> HttpResponse:
    state = request.session.get(CODE_SESSION_KEY)
    if not isinstance(state, dict):
        return redirect("security:confirm")
    user = request.user
    if request.method == "POST" and request.POST.get("action") == "resend":
        destination = dict(_verified_contacts(user)).get(state["channel"])
        if destination:
            try:
                codes.code_issue(
                    purpose=PURPOSE,
                    binding=state["binding"],
                    channel=state["channel"],
                    destination=destination,
                    user=user,
                )
            except codes.CodeCooldown as wait:
                messages.error(request, str(wait))
            else:
                messages.success(request, f"We sent a new code to {state['sent_to']}.")
        return redirect("security:confirm_code")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        result = codes.code_verify(purpose=PURPOSE, binding=state["binding"], code=form.cleaned_data["code"])
        if result.ok:
            request.session.pop(CODE_SESSION_KEY, None)
            reauth.reauth_mark(request, method=f"code_{state['channel']}")
            return redirect(reauth.safe_next(request, state.get("next"), reverse("security:overview")))
        security_event_record(
            kind=SecurityEvent.Kind.CODE_FAILED,
            outcome=SecurityEvent.Outcome.FAILURE,
            user=user,
            request=request,
            detail={"purpose": PURPOSE, "result": result.result.value},
        )
        if result.result in (codes.VerifyResult.TOO_MANY, codes.VerifyResult.EXPIRED, codes.VerifyResult.NO_CODE):
            request.session.pop(CODE_SESSION_KEY, None)
            messages.error(request, result.message)
            return redirect(reauth.reauth_url(state.get("next") or reverse("security:overview")))
        form.add_error("code", result.message)
    return render(request, "security/confirm_code.html", {"form": form, "sent_to": state["sent_to"]})
