"""Step-up for money settings: before a person adds a bank account or changes autopay, a
one-time code goes to a contact we have already verified (security.codes, purpose
STEP_UP), and the right answer is remembered in their session for 10 minutes.

A password is not enough here: whoever has a signed-in browser (or a stolen password)
could otherwise point payments at their own bank account. The code proves the person
also holds the verified phone or mailbox. The code is bound to this flow (a random
binding kept in the session), so a code sent for another purpose does not work here.
"""

from __future__ import annotations

import time
from functools import wraps
from urllib.parse import urlencode

from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse

from accounts.models import User
from portal.net import local_path
from security import codes
from security.masking import mask_contact
from security.models import Notification, OneTimeCode, SecurityEvent
from security.services import security_event_record

SESSION_KEY = "cards_step_up"
FLOW_KEY = "cards_step_up_flow"
VALIDITY_SECONDS = 10 * 60
PURPOSE = OneTimeCode.Purpose.STEP_UP


def verified_contacts(user: User) -> list[tuple[str, str]]:
    """(channel, address) pairs a step-up code may go to: verified ones only."""
    found = []
    if user.phone and user.phone_verified_at:
        found.append((Notification.Channel.SMS, user.phone))
    if user.email and user.email_verified_at:
        found.append((Notification.Channel.EMAIL, user.email))
    return found


def is_fresh(request: HttpRequest) -> bool:
    state = request.session.get(SESSION_KEY)
    if not isinstance(state, dict) or state.get("user") != request.user.pk:
        return False
    age = int(time.time()) - int(state.get("at", 0))
    return 0 <= age <= VALIDITY_SECONDS


def mark(request: HttpRequest, *, channel: str) -> None:
    request.session[SESSION_KEY] = {"user": request.user.pk, "at": int(time.time()), "channel": channel}


def clear(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.pop(FLOW_KEY, None)


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    return local_path(request, candidate, reverse("payments:overview"))


def start_url(next_path: str) -> str:
    return f"{reverse('payments:step_up')}?{urlencode({'next': next_path})}"


def required(view):
    """The view needs a step-up less than 10 minutes old; otherwise the person confirms
    first and comes back to the page they asked for (a GET: the form starts again, so
    nothing typed before the code is kept)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not is_fresh(request):
            return redirect(start_url(request.get_full_path()))
        return view(request, *args, **kwargs)

    return wrapper


def code_send(request: HttpRequest, *, channel: str, next_url: str) -> str:
    """Send a code to the verified contact of this channel; returns where it went
    (masked). Raises ``codes.CodeCooldown`` when asked again too soon, and KeyError for
    a channel with no verified contact."""
    user = request.user
    destination = dict(verified_contacts(user))[channel]
    flow = request.session.get(FLOW_KEY)
    binding = flow["binding"] if isinstance(flow, dict) and flow.get("channel") == channel else codes.new_binding()
    codes.code_issue(purpose=PURPOSE, binding=binding, channel=channel, destination=destination, user=user)
    masked = mask_contact(destination)
    request.session[FLOW_KEY] = {"binding": binding, "channel": channel, "sent_to": masked, "next": next_url}
    security_event_record(
        kind=SecurityEvent.Kind.CODE_SENT,
        user=user,
        request=request,
        detail={"purpose": PURPOSE, "channel": channel, "for": "payment_settings"},
    )
    return masked


def flow(request: HttpRequest) -> dict | None:
    state = request.session.get(FLOW_KEY)
    return state if isinstance(state, dict) and "binding" in state else None


def code_check(request: HttpRequest, *, code: str) -> codes.Verification:
    state = flow(request)
    if state is None:
        return codes.Verification(codes.VerifyResult.NO_CODE)
    result = codes.code_verify(purpose=PURPOSE, binding=state["binding"], code=code)
    if result.ok:
        request.session.pop(FLOW_KEY, None)
        mark(request, channel=state["channel"])
        security_event_record(
            kind=SecurityEvent.Kind.CODE_VERIFIED,
            outcome=SecurityEvent.Outcome.SUCCESS,
            user=request.user,
            request=request,
            detail={"purpose": PURPOSE, "for": "payment_settings"},
        )
    else:
        security_event_record(
            kind=SecurityEvent.Kind.CODE_FAILED,
            outcome=SecurityEvent.Outcome.FAILURE,
            user=request.user,
            request=request,
            detail={"purpose": PURPOSE, "result": result.result.value, "for": "payment_settings"},
        )
        if result.result in (codes.VerifyResult.TOO_MANY, codes.VerifyResult.EXPIRED, codes.VerifyResult.NO_CODE):
            request.session.pop(FLOW_KEY, None)
    return result
