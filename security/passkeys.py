"""Passkeys ("Face ID, Touch ID or Windows Hello"): WebAuthn credentials kept by
django-otp-webauthn, with our policy on top.

- A passkey is registered only from a signed-in session, and every way into one here
  already took two factors (password and code, password on a remembered low-risk
  browser, enrollment with the card and a code, or another passkey).
- User verification (the fingerprint, face or device PIN) is required when a passkey is
  made and whenever it is used, so a passkey sign-in counts as two factors: possession
  of the device and the person's biometric or PIN.
- Platform authenticators (the one built into this phone or computer) are preferred.
- Passkeys are an extra way in, never the only one: removing the last one, or resetting
  the password, leaves the User ID, password and code working.

Reads and writes are filtered by owner: another user's passkey id is a 404, changes
nothing, and looks the same as one that does not exist."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_otp_webauthn import exceptions as webauthn_errors
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential
from webauthn.helpers import decode_credential_public_key, decoded_public_key_to_cryptography
from webauthn.helpers.cose import COSECRV
from webauthn.helpers.decode_credential_public_key import (
    DecodedEC2PublicKey,
    DecodedOKPPublicKey,
    DecodedRSAPublicKey,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialHint,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from webauthn.registration.verify_registration_response import VerifiedRegistration

from accounts.models import User

from .devices import device_name
from .models import Notification, SecurityEvent
from .services import notify, security_event_record

NAME_MAX_LENGTH = 64
# django-two-factor-auth treats a device named "default" as the user's chosen second
# factor (its issue #652) and would ask for a code from it at sign-in.
RESERVED_NAMES = {"default"}
# WebAuthn: a relying party refuses credential IDs longer than this (py_webauthn does not check).
CREDENTIAL_ID_MAX_BYTES = 1023


class PasskeyAlreadyRegistered(webauthn_errors.OTPWebAuthnApiError):
    """Its credential ID is stored already (the ID is unique): refused before the insert
    would fail."""

    status_code = 409
    default_code = "credential_exists"
    default_detail = "That passkey is already registered."


class PasskeyHelper(WebAuthnHelper):
    """django-otp-webauthn's ceremonies with user verification required throughout and
    the device's own authenticator preferred (``OTP_WEBAUTHN_HELPER_CLASS``)."""

    def get_generate_registration_options_kwargs(self, *, user) -> dict:
        options = super().get_generate_registration_options_kwargs(user=user)
        options["authenticator_selection"] = AuthenticatorSelectionCriteria(
            # Discoverable, so it can sign in without the User ID being typed first.
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        # A preference, not a requirement: the browser offers this device's own
        # authenticator first, and a phone or security key remains possible.
        options["hints"] = [PublicKeyCredentialHint.CLIENT_DEVICE]
        return options

    def authenticate_begin(self, user=None, require_user_verification: bool = True):
        # The library asks for user verification only when nobody is signed in yet;
        # we always do.
        return super().authenticate_begin(user=user, require_user_verification=True)

    def create_credential(self, user, response, parsed_credential, original_data):
        passkey_storable_check(response)
        passkey = super().create_credential(user, response, parsed_credential, original_data)
        passkey.name = passkey_default_name(user_agent=self.request.META.get("HTTP_USER_AGENT", ""))
        return passkey

    def _check_discoverable(self, original_data) -> bool | None:
        # The browser's clientExtensionResults are unsigned and may have any shape (the
        # library indexed into them as given: a TypeError, so a 500, for a number).
        results = original_data.get("clientExtensionResults") if isinstance(original_data, dict) else None
        props = results.get("credProps") if isinstance(results, dict) else None
        found = props.get("rk") if isinstance(props, dict) else None
        return found if isinstance(found, bool) else None

    @transaction.atomic  # the passkey, its attestation and the record of it, or none of them
    def register_complete(self, user, state, data):
        passkey = super().register_complete(user=user, state=state, data=data)
        passkey_added_record(user=user, passkey=passkey, request=self.request)
        return passkey


# Which signature algorithms each kind of key can sign with (COSE, RFC 9053). py_webauthn
# checks that a new key's algorithm is one we offer, not that it fits the key: a P-256 key
# labelled RS256 was stored and then failed every sign-in.
_EC2_ALGORITHMS = {COSECRV.P256: {-7}, COSECRV.P384: {-35}, COSECRV.P521: {-36}}
_OKP_ALGORITHMS = {COSECRV.ED25519: {-8}}
_RSA_ALGORITHMS = {-37, -38, -39, -257, -258, -259, -65535}


def _algorithm_fits_key(decoded) -> bool:
    alg = int(decoded.alg)
    if isinstance(decoded, DecodedEC2PublicKey):
        return alg in _EC2_ALGORITHMS.get(decoded.crv, set())
    if isinstance(decoded, DecodedOKPPublicKey):
        return alg in _OKP_ALGORITHMS.get(decoded.crv, set())
    if isinstance(decoded, DecodedRSAPublicKey):
        return alg in _RSA_ALGORITHMS
    return False  # key types we do not offer (ML-DSA): never stored


def _unsupported_public_key() -> webauthn_errors.UnprocessableEntity:
    return webauthn_errors.UnprocessableEntity(
        code="unsupported_public_key", detail="The public key is malformed or not supported."
    )


def passkey_storable_check(response: VerifiedRegistration) -> None:
    """What py_webauthn verified but must not be stored, refused with an answer."""
    if len(response.credential_id) > CREDENTIAL_ID_MAX_BYTES:
        raise webauthn_errors.UnprocessableEntity(
            code="credential_id_too_long", detail="The credential ID is longer than 1023 bytes."
        )
    try:
        # A "none" attestation's key is checked only for having its parts: one that no
        # signature could be checked with would be listed and fail every sign-in.
        decoded = decode_credential_public_key(response.credential_public_key)
        decoded_public_key_to_cryptography(decoded)
    except (WebAuthnException, TypeError, ValueError) as exc:
        raise _unsupported_public_key() from exc
    if not _algorithm_fits_key(decoded):
        raise _unsupported_public_key()
    digest = WebAuthnCredential.get_credential_id_sha256(response.credential_id)
    if WebAuthnCredential.objects.filter(credential_id_sha256=digest).exists():
        raise PasskeyAlreadyRegistered()


def passkey_default_name(*, user_agent: str) -> str:
    """ "Chrome on macOS": what a person recognises in their list, renamable later."""
    name = device_name(user_agent)[:NAME_MAX_LENGTH]
    return "Passkey" if name.lower() in RESERVED_NAMES else name


def passkeys_usable_here(request: HttpRequest) -> bool:
    """Whether a passkey ceremony can succeed at the address this page was opened at:
    the browser binds passkeys to the relying party's domain, and the server accepts
    only the configured origins (so not, for example, http://127.0.0.1:8000)."""
    origin = f"{request.scheme}://{request.get_host()}"
    return origin in settings.OTP_WEBAUTHN_ALLOWED_ORIGINS


def passkey_address(request: HttpRequest) -> str:
    """Where to open this page so passkeys work: the first configured origin."""
    origins = settings.OTP_WEBAUTHN_ALLOWED_ORIGINS
    return f"{origins[0]}{request.get_full_path()}" if origins else ""


# --- Reads -----------------------------------------------------------------------------


def passkeys_for_user(*, user: User) -> QuerySet[WebAuthnCredential]:
    return WebAuthnCredential.objects.filter(user=user).order_by(
        F("last_used_at").desc(nulls_last=True), "-created_at", "-pk"
    )


def passkey_get_for_user(*, user: User, passkey_id: int) -> WebAuthnCredential:
    # Same 404 whether the passkey does not exist or belongs to someone else.
    return get_object_or_404(WebAuthnCredential.objects.filter(user=user), pk=passkey_id)


# --- Writes ----------------------------------------------------------------------------


def _alert(*, user: User, kind: str, subject: str, body: str, key: str) -> None:
    if not user.email:
        return
    notify(
        channel=Notification.Channel.EMAIL,
        to=user.email,
        kind=kind,
        subject=subject,
        body=body,
        idempotency_key=key,
        user=user,
    )


def passkey_added_record(*, user: User, passkey: WebAuthnCredential, request: HttpRequest | None = None) -> None:
    security_event_record(
        kind=SecurityEvent.Kind.TWO_FACTOR_CHANGED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=user,
        request=request,
        detail={"change": "passkey_added", "passkey_id": passkey.pk, "passkey_name": passkey.name},
    )
    _alert(
        user=user,
        kind="passkey_added",
        subject="A passkey was added to your account",
        body=(
            f'A passkey named "{passkey.name}" was added to your {settings.ISSUER_NAME} account. '
            "It can now be used to log in with Face ID, Touch ID, Windows Hello or the device's PIN.\n\n"
            "If this wasn't you, remove it on the Security page, change your password now "
            f"and call us on {settings.SUPPORT_PHONE}."
        ),
        key=f"passkey-added-{user.pk}-{passkey.pk}",
    )


@transaction.atomic
def passkey_rename(*, user: User, passkey_id: int, name: str, request: HttpRequest | None = None) -> WebAuthnCredential:
    passkey = passkey_get_for_user(user=user, passkey_id=passkey_id)
    old_name, passkey.name = passkey.name, name
    passkey.save(update_fields=["name"])
    security_event_record(
        kind=SecurityEvent.Kind.TWO_FACTOR_CHANGED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=user,
        request=request,
        detail={"change": "passkey_renamed", "passkey_id": passkey.pk, "passkey_name": name, "old_name": old_name},
    )
    return passkey


@transaction.atomic
def passkey_remove(*, user: User, passkey_id: int, request: HttpRequest | None = None) -> str:
    """Delete one of the user's passkeys; returns its name. The password and the codes
    are untouched, so removing the last passkey never locks anyone out."""
    passkey = passkey_get_for_user(user=user, passkey_id=passkey_id)
    name, pk = passkey.name, passkey.pk
    passkey.delete()
    security_event_record(
        kind=SecurityEvent.Kind.TWO_FACTOR_CHANGED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=user,
        request=request,
        detail={"change": "passkey_removed", "passkey_id": pk, "passkey_name": name},
    )
    _alert(
        user=user,
        kind="passkey_removed",
        subject="A passkey was removed from your account",
        body=(
            f'The passkey "{name}" was removed from your {settings.ISSUER_NAME} account on '
            f"{timezone.localtime():%d %B %Y at %H:%M} and can no longer be used to log in. "
            "You can still log in with your User ID, password and a security code.\n\n"
            f"If you didn't do this, change your password now and call us on {settings.SUPPORT_PHONE}."
        ),
        key=f"passkey-removed-{user.pk}-{pk}",
    )
    return name
