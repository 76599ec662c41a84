"""Enrollment, three steps: prove you hold the card; choose a User ID, password and
contacts; confirm a contact with a code. State lives in the server-side session, and
the card is only put there after every check on it has passed."""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.hashers import make_password
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts import enrollment, services
from accounts.enrollment import CardState
from accounts.forms import CodeForm, ContactChoiceForm, EnrollCardForm, LoginDetailsForm
from accounts.models import User
from cards.models import Card
from cards.verification import card_check
from portal.net import client_ip
from security import codes
from security.masking import mask_email, mask_phone
from security.models import Notification, OneTimeCode

SESSION_KEY = "enroll"
# Time allowed from proving the card to confirming the code.
FLOW_LIFETIME = 30 * 60
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _state(request: HttpRequest) -> dict | None:
    state = request.session.get(SESSION_KEY)
    if not state or time.time() - state.get("verified_at", 0) > FLOW_LIFETIME:
        request.session.pop(SESSION_KEY, None)
        return None
    return state


def _save(request: HttpRequest, state: dict) -> None:
    request.session[SESSION_KEY] = state
    request.session.modified = True


def _card(state: dict) -> Card | None:
    return Card.objects.select_related("holder", "account__product").filter(pk=state["card"]).first()


def _restart(request: HttpRequest) -> HttpResponse:
    messages.warning(
        request, "For your security, enrollment starts again after 30 minutes. Please enter your card details."
    )
    return redirect("accounts:enroll")


@never_cache
@sensitive_post_parameters("card_number", "card_id")
@require_http_methods(["GET", "POST"])
def enroll_card(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("cards:list")
    form = EnrollCardForm(request.POST if request.method == "POST" else None)
    context: dict = {"form": form, "step": 1}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        result = card_check(
            pan=data["card_number"],
            card_id=data["card_id"],
            purpose="enrollment",
            ip=client_ip(request),
            request=request,
            name=data["name"],
            date_of_birth=data["date_of_birth"],
            postal_code=data["postal_code"],
        )
        if not result.ok:
            enrollment.enrollment_failure_record(request=request, reason=result.outcome.value)
            form.add_error(None, result.message)
        else:
            card_state = enrollment.card_enrollment_state(card=result.card)
            if card_state is CardState.CAN_ENROLL:
                _save(request, {"card": result.card.pk, "verified_at": int(time.time())})
                return redirect("accounts:enroll_login")
            enrollment.enrollment_failure_record(request=request, reason=card_state.value, card=result.card)
            context.update({"card_state": card_state.value, "last4": result.card.last4})
            form = EnrollCardForm()
            context["form"] = form
    return render(request, "accounts/enroll/card.html", context)


@never_cache
@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def enroll_login(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    card = _card(state) if state else None
    if card is None:
        return _restart(request)
    initial = {"email": card.holder.email, "phone": card.holder.phone}
    for key in ("username", "email", "phone"):
        if key in state:
            initial[key] = state[key]
    form = LoginDetailsForm(request.POST if request.method == "POST" else None, initial=initial, cardholder=card.holder)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        state.update(
            {
                "username": data["username"],
                # Only a hash waits in the session until the code is confirmed.
                "password_hash": make_password(data["password1"]),
                "email": data["email"],
                "phone": data["phone"],
            }
        )
        state.pop("channel", None)
        _save(request, state)
        return redirect("accounts:enroll_confirm")
    return render(
        request,
        "accounts/enroll/login.html",
        {"form": form, "step": 2, "rules": services.password_rules_check(raw_password="", user=None)},
    )


def _contact_choices(state: dict) -> list[tuple[str, str]]:
    return [
        (Notification.Channel.EMAIL, f"Email to {mask_email(state['email'])}"),
        (Notification.Channel.SMS, f"Text message to {mask_phone(state['phone'])}"),
    ]


@never_cache
@require_http_methods(["GET", "POST"])
def enroll_confirm(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    card = _card(state) if state else None
    if card is None:
        return _restart(request)
    if "password_hash" not in state:
        return redirect("accounts:enroll_login")
    if request.method == "GET" and request.GET.get("choose"):
        state.pop("channel", None)
        _save(request, state)
    choices = _contact_choices(state)
    choice_form = ContactChoiceForm(choices=choices, initial={"channel": state.get("channel", "email")})
    code_form = CodeForm()
    action = request.POST.get("action")

    if request.method == "POST" and action in ("send", "resend"):
        if action == "send":
            choice_form = ContactChoiceForm(request.POST, choices=choices)
            channel = choice_form.cleaned_data["channel"] if choice_form.is_valid() else None
        else:
            channel = state.get("channel")
        if channel:
            state.setdefault("binding", codes.new_binding())
            destination = state["email"] if channel == Notification.Channel.EMAIL else state["phone"]
            try:
                codes.code_issue(
                    purpose=OneTimeCode.Purpose.ENROLLMENT,
                    binding=state["binding"],
                    channel=channel,
                    destination=destination,
                )
            except codes.CodeCooldown as cooldown:
                messages.warning(request, str(cooldown))
            else:
                messages.success(request, "We sent you a new code." if action == "resend" else "We sent you a code.")
            state["channel"] = channel
            _save(request, state)
            return redirect("accounts:enroll_confirm")

    if request.method == "POST" and action == "verify" and state.get("channel"):
        code_form = CodeForm(request.POST)
        if code_form.is_valid():
            result = codes.code_verify(
                purpose=OneTimeCode.Purpose.ENROLLMENT, binding=state["binding"], code=code_form.cleaned_data["code"]
            )
            if result.ok:
                return _complete(request, state, card)
            code_form.add_error("code", result.message)
            if result.result in (codes.VerifyResult.TOO_MANY, codes.VerifyResult.EXPIRED):
                state.pop("channel", None)
                _save(request, state)

    if request.method == "POST" and not (choice_form.errors or code_form.errors):
        # No known action, or a code without a channel chosen: say so instead of
        # showing the page again as if nothing had been sent.
        messages.error(request, "Choose where we should send your code, then enter the code we sent.")
    channel = state.get("channel")
    return render(
        request,
        "accounts/enroll/confirm.html",
        {
            "step": 3,
            "choice_form": choice_form,
            "code_form": code_form,
            "channel": channel,
            "sent_to": (mask_email(state["email"]) if channel == "email" else mask_phone(state["phone"]))
            if channel
            else "",
        },
    )


def _complete(request: HttpRequest, state: dict, card: Card) -> HttpResponse:
    try:
        user = enrollment.enrollment_complete(
            card=card,
            username=state["username"],
            password_hash=state["password_hash"],
            email=state["email"],
            phone=state["phone"],
            confirmed_channel=state["channel"],
            request=request,
        )
    except enrollment.EnrollmentError as error:
        messages.error(request, str(error))
        state.pop("channel", None)
        _save(request, state)
        return redirect("accounts:enroll_login")
    request.session.pop(SESSION_KEY, None)
    login(request, user, backend=BACKEND)
    messages.success(request, f"You're enrolled. Your User ID is {user.username}. We've sent you a welcome email.")
    return redirect("cards:list")


@require_POST
def password_check(request: HttpRequest) -> JsonResponse:
    """The live password checklist: the same validators the server enforces."""
    password = request.POST.get("password", "")[:256]
    if request.user.is_authenticated:
        user = request.user
    else:
        state = _state(request)
        card = _card(state) if state else None
        user = User(username=request.POST.get("username", "")[:20], cardholder=card.holder if card else None)
    return JsonResponse({"rules": services.password_rules_check(raw_password=password, user=user)})
