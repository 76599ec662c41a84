"""django-otp-webauthn's JSON endpoints for the passkey ceremonies, with our rules:

- Registration: any signed-in session may add a passkey. The library would also demand
  django-otp's per-session "verified" flag from users who have a code device, but that
  flag is set only when a code was typed, not when a remembered browser went straight
  in. Every sign-in here is already two factors (see security/passkeys.py).
- Sign-in: a verified passkey (user verification required) signs the person in through
  ``django.contrib.auth.login``, so the user_logged_in receivers stamp the session, open
  the ``UserSession`` row and record ``SIGN_IN_SUCCEEDED`` with ``method: passkey`` and
  the risk score. No code step: the passkey is both factors. An unrecognized browser or a
  high score still alerts the user, as after a password.
- Failures answer in plain words and are recorded as ``SIGN_IN_FAILED``."""

from __future__ import annotations

import logging
import traceback

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.http import JsonResponse
from django_otp import login as otp_login
from django_otp_webauthn import exceptions
from django_otp_webauthn.views import (
    BeginCredentialAuthenticationView,
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
)
from webauthn.helpers.exceptions import WebAuthnException

from accounts.services import new_device_alert
from portal.net import client_ip, ip_network

from . import devices, risk
from .models import SecurityEvent
from .services import security_event_record

logger = logging.getLogger(__name__)

TRY_PASSWORD = "Try again, or log in with your User ID and password."

SIGN_IN_MESSAGES = {
    "credential_not_found": (
        "That passkey is no longer on your account (it may have been removed). Log in with your "
        "User ID and password instead."
    ),
    "credential_user_mismatch": "That passkey belongs to a different account. Sign out first to use it.",
    "credential_disabled": f"That passkey can't be used to log in. {TRY_PASSWORD}",
    "user_disabled": f"This account can't be used online. Call us on {settings.SUPPORT_PHONE}.",
    "invalid_state": f"That took too long. {TRY_PASSWORD}",
    "sign_in_refused": f"We couldn't log you in with that passkey. {TRY_PASSWORD}",
}
# Anything else (an assertion that does not verify, malformed data): we could not confirm it.
SIGN_IN_DEFAULT = f"We couldn't confirm it's you with that passkey. {TRY_PASSWORD}"

REGISTER_MESSAGES = {
    "not_authenticated": "Your session has ended. Log in again to add a passkey.",
    "credential_exists": "That passkey is already set up. Log in with it, or add one from a different device.",
    "invalid_state": "That took too long. Try adding the passkey again.",
}
REGISTER_DEFAULT = "We couldn't add that passkey. Try again, or use a different device."


class SignInRefused(exceptions.OTPWebAuthnApiError):
    status_code = 403
    default_code = "sign_in_refused"
    default_detail = SIGN_IN_MESSAGES["sign_in_refused"]


def _plain(exc: exceptions.OTPWebAuthnApiError, table: dict[str, str], default: str) -> JsonResponse:
    return JsonResponse({"detail": table.get(exc.code, default), "code": exc.code}, status=exc.status_code)


# What py_webauthn raises on a response it cannot read, besides the exceptions the library
# turns into answers (it matches those by exact class, so not their subclasses or siblings
# such as UnsupportedPublicKeyType): it assumes well-formed input, so a public key
# without an algorithm is a KeyError, and so on.
PY_WEBAUTHN_FAILURES = (WebAuthnException, KeyError, IndexError, TypeError, ValueError)


def _refusal_for_unreadable(exc: Exception) -> Exception:
    """A failure inside py_webauthn while it reads the browser's response is that
    response refused (422), not a 500. Only failures raised in py_webauthn's own code:
    the same error in ours is still a bug and still a 500."""
    if not isinstance(exc, PY_WEBAUTHN_FAILURES):
        return exc
    if not any(
        frame.f_globals.get("__name__", "").startswith("webauthn.") for frame, _ in traceback.walk_tb(exc.__traceback__)
    ):
        return exc
    logger.warning("py_webauthn could not read a passkey response", exc_info=exc)
    return exceptions.UnprocessableEntity(code="unreadable_response", detail="The passkey response could not be read.")


def _explain(assessment: risk.RiskAssessment) -> str:
    text = "They logged in with a passkey (Face ID, Touch ID, Windows Hello or a device PIN)."
    why = risk.risk_reasons_sentence(assessment.reasons)
    if why:
        text += f" It stood out because {why}."
    return text


class ReadsBodyPlainly:
    """The library refuses a body that ``json.loads`` cannot parse only when it raises
    ``JSONDecodeError``; broken UTF-8 (``UnicodeDecodeError``), an integer of more than
    Python's 4,300 digits (``ValueError``) and arrays nested past the recursion limit
    (``RecursionError``) escaped as 500s. They are a malformed request like the rest."""

    def _parse_request_data(self, request):
        try:
            return super()._parse_request_data(request)
        except (ValueError, RecursionError) as exc:
            raise exceptions.MalformedRequest() from exc


class PasskeyRegistrationMixin(ReadsBodyPlainly):
    def user_is_mfa_enrolled(self, user) -> bool:
        # See the module docstring: being signed in here already means two factors.
        return False

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.OTPWebAuthnApiError):
            return _plain(exc, REGISTER_MESSAGES, REGISTER_DEFAULT)
        return super().handle_exception(exc)


class PasskeyRegistrationBeginView(PasskeyRegistrationMixin, BeginCredentialRegistrationView):
    pass


class PasskeyRegistrationCompleteView(PasskeyRegistrationMixin, CompleteCredentialRegistrationView):
    def handle_exception(self, exc):
        return super().handle_exception(_refusal_for_unreadable(exc))

    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        # The page reloads after the ceremony and shows this with the new passkey listed.
        messages.success(
            self.request, "Passkey added. Next time, choose \u201cSign in with a passkey\u201d on the log-in page."
        )
        return response


class PasskeySignInBeginView(ReadsBodyPlainly, BeginCredentialAuthenticationView):
    def handle_exception(self, exc):
        if isinstance(exc, exceptions.OTPWebAuthnApiError):
            return _plain(exc, SIGN_IN_MESSAGES, SIGN_IN_DEFAULT)
        return super().handle_exception(exc)


class PasskeySignInCompleteView(ReadsBodyPlainly, CompleteCredentialAuthenticationView):
    def complete_auth(self, device) -> None:
        request = self.request
        if request.user.is_authenticated:
            # Already signed in (the library checked the passkey is this user's).
            otp_login(request, device)
            return
        user = device.user
        trusted = devices.trusted_device_for(user=user, request=request)
        assessment = risk.risk_assess_request(request=request, user=user)
        request.sign_in_context = {
            "method": "passkey",
            "risk": {"score": assessment.score, "level": assessment.level, "reasons": assessment.reasons},
            "device": devices.request_device_hash(request),
            "network": ip_network(client_ip(request)),
            "code_confirmed": False,
        }
        signed_in = authenticate(request, webauthn_credential=device)
        if signed_in is None:
            raise SignInRefused()
        login(request, signed_in)
        otp_login(request, device)
        if trusted is not None:
            devices.trusted_device_touch(device=trusted, request=request)
        if trusted is None or assessment.level == risk.HIGH:
            new_device_alert(user=signed_in, request=request, explanation=_explain(assessment))

    def handle_exception(self, exc):
        exc = _refusal_for_unreadable(exc)
        if isinstance(exc, exceptions.OTPWebAuthnApiError):
            security_event_record(
                kind=SecurityEvent.Kind.SIGN_IN_FAILED,
                outcome=SecurityEvent.Outcome.FAILURE,
                request=self.request,
                detail={"method": "passkey", "reason": exc.code},
            )
            return _plain(exc, SIGN_IN_MESSAGES, SIGN_IN_DEFAULT)
        return super().handle_exception(exc)
