"""Contact details on the security pages: change the email address or mobile number,
after confirming it's you, with a code to the new contact. Rules in security.contact."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.forms import CodeForm

from . import codes, contact, reauth
from .account_forms import EmailChangeForm, PhoneChangeForm

SESSION_KEY = "contact_change"
FORMS = {contact.EMAIL: (EmailChangeForm, "email"), contact.PHONE: (PhoneChangeForm, "phone")}
STEP_UP_EXPIRED = (
    "For your security, a change must be finished within 10 minutes of confirming it's you. "
    "Nothing was changed: confirm it's you again and start over."
)


@never_cache
@login_required
def contact_details(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "security/contact.html",
        {
            "email": user.email,
            "email_verified": bool(user.email_verified_at),
            "phone": user.phone,
            "phone_verified": bool(user.phone_verified_at),
        },
    )


@never_cache
@login_required
@reauth.reauth_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in FORMS:
        raise Http404
    form_class, field = FORMS[kind]
    form = form_class(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        value = form.cleaned_data[field]
        try:
            started = contact.contact_change_start(user=request.user, kind=kind, value=value, request=request)
        except contact.ContactChangeError as error:
            form.add_error(field, str(error))
        except codes.CodeCooldown as wait:
            form.add_error(field, str(wait))
        else:
            request.session[SESSION_KEY] = {
                "user": request.user.pk,
                "kind": kind,
                "value": value,
                "binding": started.binding,
                "sent_to": started.sent_to,
            }
            return redirect("security:contact_confirm")
    return render(
        request,
        "security/contact_edit.html",
        {"form": form, "field": form[field], "kind": kind, "label": contact.kind_label(kind)},
    )


@never_cache
@login_required
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def contact_confirm(request: HttpRequest) -> HttpResponse:
    user = request.user
    state = request.session.get(SESSION_KEY)
    if not isinstance(state, dict) or state.get("user") != user.pk:
        return redirect("security:contact")
    kind, label = state["kind"], contact.kind_label(state["kind"])
    if not reauth.reauth_is_fresh(request):
        request.session.pop(SESSION_KEY, None)
        messages.error(request, STEP_UP_EXPIRED)
        return redirect(reauth.reauth_url(reverse("security:contact_edit", args=[kind])))
    if request.method == "POST" and request.POST.get("action") == "resend":
        try:
            contact.contact_change_start(
                user=user, kind=kind, value=state["value"], request=request, binding=state["binding"]
            )
        except (contact.ContactChangeError, codes.CodeCooldown) as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"We sent a new code to {state['sent_to']}.")
        return redirect("security:contact_confirm")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        had_old = bool(contact.current_value(user, kind))
        try:
            result = contact.contact_change_confirm(
                user=user,
                kind=kind,
                value=state["value"],
                binding=state["binding"],
                code=form.cleaned_data["code"],
                request=request,
            )
        except contact.ContactChangeError as error:
            request.session.pop(SESSION_KEY, None)
            messages.error(request, str(error))
            return redirect("security:contact")
        if result.ok:
            request.session.pop(SESSION_KEY, None)
            told = f" We've told your old {'address' if kind == contact.EMAIL else 'number'}." if had_old else ""
            messages.success(request, f"Your {label} is now {state['sent_to']}.{told}")
            return redirect("security:contact")
        if result.result in (codes.VerifyResult.TOO_MANY, codes.VerifyResult.EXPIRED, codes.VerifyResult.NO_CODE):
            request.session.pop(SESSION_KEY, None)
            messages.error(request, f"{result.message} Nothing was changed.")
            return redirect("security:contact_edit", kind)
        form.add_error("code", result.message)
    return render(
        request,
        "security/contact_confirm.html",
        {"form": form, "sent_to": state["sent_to"], "label": label, "kind": kind},
    )
