"""Passkeys: the list, rename and remove (owner-filtered, audited, emailed), the ceremony
options (user verification required, this device's authenticator preferred), and the
sign-in that counts as two factors. The WebAuthn signature itself is checked by
py_webauthn; here it is replaced where a test needs a verified passkey, and the real
ceremony runs in Chromium in tests/browser/test_passkeys.py."""

import base64
import hashlib
import json
import secrets
from unittest import mock

import cbor2
import factory
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp_webauthn import exceptions as webauthn_errors
from django_otp_webauthn.models import WebAuthnCredential, WebAuthnUserHandle

from accounts import recovery
from security.models import SecurityEvent, UserSession
from security.passkeys import PasskeyHelper, passkey_added_record, passkey_default_name
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

CHROME_ON_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"
NEW_PASSWORD = "Harbor-Willow-7731"


class PasskeyFactory(factory.django.DjangoModelFactory):
    """A stored credential as django-otp-webauthn saves it after a real registration."""

    class Meta:
        model = WebAuthnCredential

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Phone {n}")
    confirmed = True
    credential_id = factory.LazyFunction(lambda: secrets.token_bytes(32))
    public_key = factory.LazyFunction(lambda: secrets.token_bytes(77))
    aaguid = "00000000-0000-0000-0000-000000000000"
    sign_count = 0
    discoverable = True


def signed_in_client(user) -> Client:
    client = Client(HTTP_USER_AGENT=CHROME_ON_MAC)
    response = client.post(
        reverse("two_factor:login"),
        {"sign_in_view-current_step": "auth", "auth-username": user.username, "auth-password": DEFAULT_PASSWORD},
    )
    assert response.status_code == 302
    return client


@pytest.fixture
def member():
    # No verified contact: signs in with the password alone (step-up has its own tests).
    return UserFactory(email_verified_at=None, email="lee@example.com")


# --- The list ---------------------------------------------------------------------------


def test_passkeys_page_lists_name_added_and_last_used(member):
    PasskeyFactory(user=member, name="Work laptop", last_used_at=None)
    PasskeyFactory(user=member, name="Lee's iPhone", last_used_at=timezone.now())
    PasskeyFactory(name="Someone else's phone")

    html = signed_in_client(member).get(reverse("security:passkeys")).content.decode()

    assert "Work laptop" in html
    assert "Lee&#x27;s iPhone" in html
    assert "Not used yet" in html
    assert "Someone else" not in html


def test_security_overview_links_to_passkeys(member):
    html = signed_in_client(member).get(reverse("security:overview")).content.decode()
    assert "Face ID, Touch ID or Windows Hello" in html
    assert reverse("security:passkeys") in html


def test_passkey_pages_need_sign_in(client, member):
    passkey = PasskeyFactory(user=member)
    assert client.get(reverse("security:passkeys")).status_code == 302
    assert client.get(reverse("security:passkey_rename", args=[passkey.pk])).status_code == 302
    assert client.post(reverse("security:passkey_remove", args=[passkey.pk])).status_code == 302
    assert WebAuthnCredential.objects.filter(pk=passkey.pk).exists()


def test_passkeys_page_queries_do_not_grow_with_passkeys(member):
    client = signed_in_client(member)
    # The first page after signing in also looks up, once, whether this is a business admin.
    client.get(reverse("security:passkeys"))
    counts = []
    for batch in (1, 39):
        PasskeyFactory.create_batch(batch, user=member)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("security:passkeys"))
        assert response.status_code == 200
        counts.append(len(queries))
    assert response.content.decode().count("Rename<span") == 40
    assert counts[0] == counts[1]


def test_add_button_is_offered_only_where_passkeys_can_work(member, settings):
    client = signed_in_client(member)
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["http://localhost:8000"]
    html = client.get(reverse("security:passkeys")).content.decode()
    assert 'id="passkey-register-button"' not in html
    assert "http://localhost:8000/security/passkeys/" in html

    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["http://testserver"]
    html = client.get(reverse("security:passkeys")).content.decode()
    assert 'id="passkey-register-button"' in html
    assert 'id="otp_webauthn_config"' in html


# --- Rename -----------------------------------------------------------------------------


def test_rename_changes_the_name_and_is_recorded(member):
    passkey = PasskeyFactory(user=member, name="Chrome on macOS")
    client = signed_in_client(member)

    response = client.post(reverse("security:passkey_rename", args=[passkey.pk]), {"name": "Work laptop"})

    assert response.status_code == 302
    passkey.refresh_from_db()
    assert passkey.name == "Work laptop"
    event = SecurityEvent.objects.get(user=member, kind=SecurityEvent.Kind.TWO_FACTOR_CHANGED)
    assert event.detail["change"] == "passkey_renamed"
    assert event.detail["old_name"] == "Chrome on macOS"


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Enter a name for this passkey"), ("default", "Choose a different name"), ("x" * 65, "64 characters")],
)
def test_rename_refuses_empty_reserved_or_long_names(member, name, message):
    passkey = PasskeyFactory(user=member, name="Chrome on macOS")
    response = signed_in_client(member).post(reverse("security:passkey_rename", args=[passkey.pk]), {"name": name})
    assert response.status_code == 200
    assert message in response.content.decode()
    passkey.refresh_from_db()
    assert passkey.name == "Chrome on macOS"


def test_another_users_passkey_cannot_be_renamed(member):
    stranger_passkey = PasskeyFactory(name="Their phone")
    client = signed_in_client(member)
    url = reverse("security:passkey_rename", args=[stranger_passkey.pk])

    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "Mine now"}).status_code == 404

    stranger_passkey.refresh_from_db()
    assert stranger_passkey.name == "Their phone"
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.TWO_FACTOR_CHANGED).exists()


# --- Remove -----------------------------------------------------------------------------


def test_remove_deletes_records_and_emails_the_user(member, django_capture_on_commit_callbacks):
    passkey = PasskeyFactory(user=member, name="Lee's iPhone")
    client = signed_in_client(member)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("security:passkey_remove", args=[passkey.pk]), follow=True)

    assert not WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    assert "Passkey \u201cLee&#x27;s iPhone\u201d removed" in response.content.decode()
    event = SecurityEvent.objects.get(user=member, kind=SecurityEvent.Kind.TWO_FACTOR_CHANGED)
    assert event.outcome == SecurityEvent.Outcome.SUCCESS
    assert event.detail == {"change": "passkey_removed", "passkey_id": passkey.pk, "passkey_name": "Lee's iPhone"}
    [email] = mail.outbox
    assert email.to == ["lee@example.com"]
    assert email.subject == "A passkey was removed from your account"
    assert "Lee's iPhone" in email.body


def test_another_users_passkey_cannot_be_removed(member, django_capture_on_commit_callbacks):
    stranger = UserFactory(email="sam@example.com")
    stranger_passkey = PasskeyFactory(user=stranger)
    client = signed_in_client(member)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("security:passkey_remove", args=[stranger_passkey.pk]))

    assert response.status_code == 404
    assert WebAuthnCredential.objects.filter(pk=stranger_passkey.pk).exists()
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.TWO_FACTOR_CHANGED).exists()
    assert mail.outbox == []


def test_remove_needs_post(member):
    passkey = PasskeyFactory(user=member)
    response = signed_in_client(member).get(reverse("security:passkey_remove", args=[passkey.pk]))
    assert response.status_code == 405
    assert WebAuthnCredential.objects.filter(pk=passkey.pk).exists()


def test_removing_the_last_passkey_leaves_password_and_code_sign_in():
    user = UserFactory(email="kim@example.com")  # a verified email: sign-in asks for a code
    passkey = PasskeyFactory(user=user)
    client = Client()
    client.force_login(user)
    client.post(reverse("security:passkey_remove", args=[passkey.pk]))
    assert not WebAuthnCredential.objects.filter(user=user).exists()

    fresh = Client()
    response = fresh.post(
        reverse("two_factor:login"),
        {"sign_in_view-current_step": "auth", "auth-username": user.username, "auth-password": DEFAULT_PASSWORD},
    )
    assert response.status_code == 200
    assert "We sent a 6-digit code to" in response.content.decode()


# --- Registration -----------------------------------------------------------------------


def test_registration_asks_for_user_verification_and_prefers_this_device():
    # Signed in on a remembered browser: no code this time, so django-otp does not mark
    # the session verified; being signed in is what counts here.
    user = UserFactory()
    client = Client()
    client.force_login(user)

    response = client.post(reverse("otp_webauthn:credential-registration-begin"))

    assert response.status_code == 200
    options = response.json()
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["hints"] == ["client-device"]
    assert options["rp"] == {"id": "localhost", "name": "Meridian Card Services"}
    assert client.session["otp_webauthn_register_state"]["require_user_verification"] is True


def test_registration_needs_a_signed_in_session(client):
    response = client.post(reverse("otp_webauthn:credential-registration-begin"))
    assert response.status_code == 403
    assert response.json()["detail"] == "Your session has ended. Log in again to add a passkey."


def test_a_new_passkey_is_named_after_the_device_recorded_and_emailed(rf, member, django_capture_on_commit_callbacks):
    request = rf.post("/", HTTP_USER_AGENT=CHROME_ON_MAC)
    # A usable public key: one that could not check a signature is refused.
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    key = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
    passkey = PasskeyHelper(request=request).create_credential(
        member,
        mock.Mock(aaguid="", credential_id=b"id", credential_public_key=key, sign_count=0, credential_backed_up=False),
        mock.Mock(response=mock.Mock(transports=[])),
        {},
    )
    passkey.save()
    assert passkey.name == "Chrome on macOS"

    with django_capture_on_commit_callbacks(execute=True):
        passkey_added_record(user=member, passkey=passkey, request=request)

    event = SecurityEvent.objects.get(user=member, kind=SecurityEvent.Kind.TWO_FACTOR_CHANGED)
    assert event.detail["change"] == "passkey_added"
    assert mail.outbox[-1].subject == "A passkey was added to your account"


def test_default_name_never_collides_with_two_factor_default_device():
    assert passkey_default_name(user_agent="") != "default"


# --- Sign-in ----------------------------------------------------------------------------


def begin_passkey_sign_in(client) -> dict:
    response = client.post(reverse("otp_webauthn:credential-authentication-begin"))
    assert response.status_code == 200
    return response.json()


def complete_passkey_sign_in(client, *, returns=None, raises=None):
    """Post an assertion; py_webauthn's verification is replaced by its outcome."""
    with mock.patch.object(PasskeyHelper, "authenticate_complete", return_value=returns, side_effect=raises):
        return client.post(
            reverse("otp_webauthn:credential-authentication-complete"),
            data=json.dumps({"id": "x"}),
            content_type="application/json",
            HTTP_USER_AGENT=CHROME_ON_MAC,
        )


def test_sign_in_options_require_user_verification(client):
    options = begin_passkey_sign_in(client)
    assert options["userVerification"] == "required"
    assert options["rpId"] == "localhost"
    assert client.session["otp_webauthn_authentication_state"]["require_user_verification"] is True


def test_passkey_sign_in_counts_as_two_factors(settings, django_capture_on_commit_callbacks):
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["http://testserver"]
    user = UserFactory(email="ana@example.com")  # a verified email: a password alone would need a code
    authenticator = SoftwareAuthenticator(user)
    client = Client(HTTP_USER_AGENT=CHROME_ON_MAC)
    options = begin_passkey_sign_in(client)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("otp_webauthn:credential-authentication-complete"),
            data=json.dumps(authenticator.assertion(options, origin="http://testserver", verified=True)),
            content_type="application/json",
        )

    assert response.status_code == 200
    assert response.json()["redirect_url"] == reverse("portal:home")
    assert client.session[SESSION_KEY] == str(user.pk)
    assert "signed_in_at" in client.session
    event = SecurityEvent.objects.get(user=user, kind=SecurityEvent.Kind.SIGN_IN_SUCCEEDED)
    assert event.detail["method"] == "passkey"
    assert event.detail["code_confirmed"] is False
    assert event.risk_score is not None
    assert UserSession.objects.filter(user=user, session_key=client.session.session_key, ended_at=None).exists()
    authenticator.passkey.refresh_from_db()
    assert authenticator.passkey.last_used_at is not None
    # Straight in: a signed-in page answers, with no code step in between.
    assert client.get(reverse("security:overview")).status_code == 200
    # Not a remembered browser: the user hears about it, as after a password.
    assert mail.outbox[-1].subject == "New sign-in to your account"
    assert "They logged in with a passkey" in mail.outbox[-1].body


def test_passkey_that_does_not_verify_is_refused_in_plain_words(client):
    begin_passkey_sign_in(client)

    response = complete_passkey_sign_in(
        client, raises=webauthn_errors.UnprocessableEntity(code="invalid_authentication_response")
    )

    assert response.status_code == 422
    assert response.json()["detail"].startswith("We couldn't confirm it's you with that passkey.")
    assert SESSION_KEY not in client.session
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.SIGN_IN_FAILED)
    assert event.detail == {"method": "passkey", "reason": "invalid_authentication_response"}


def test_removed_passkey_is_refused_with_what_to_do(client):
    begin_passkey_sign_in(client)
    response = complete_passkey_sign_in(client, raises=webauthn_errors.CredentialNotFound())
    assert response.status_code == 404
    assert "no longer on your account" in response.json()["detail"]
    assert SESSION_KEY not in client.session


def test_sign_in_state_is_used_once(client):
    passkey = PasskeyFactory()
    begin_passkey_sign_in(client)
    assert complete_passkey_sign_in(client, returns=passkey).status_code == 200
    client.logout()

    replay = complete_passkey_sign_in(client, returns=passkey)

    assert replay.status_code == 400
    assert SESSION_KEY not in client.session


def test_inactive_login_cannot_use_a_passkey(client):
    passkey = PasskeyFactory(user=UserFactory(is_active=False))
    begin_passkey_sign_in(client)
    response = complete_passkey_sign_in(client, returns=passkey)
    assert response.status_code == 403
    assert SESSION_KEY not in client.session


def test_a_password_reset_keeps_passkeys_working():
    user = UserFactory()
    passkey = PasskeyFactory(user=user)

    recovery.password_reset_complete(user=user, raw_password=NEW_PASSWORD, channel="email")

    assert WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    client = Client()
    begin_passkey_sign_in(client)
    assert complete_passkey_sign_in(client, returns=passkey).status_code == 200
    assert client.session[SESSION_KEY] == str(user.pk)


def test_a_user_id_locked_by_wrong_passwords_can_still_use_its_passkey():
    # The lock stops password guessing; a passkey cannot be guessed, and letting its
    # owner in keeps a stranger's wrong guesses from locking them out.
    user = UserFactory()
    passkey = PasskeyFactory(user=user)
    guesser = Client()
    for _ in range(5):
        guesser.post(
            reverse("two_factor:login"),
            {"sign_in_view-current_step": "auth", "auth-username": user.username, "auth-password": "wrong-guess-1"},
        )
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.LOCKED_OUT, user=user).exists()

    client = Client()
    begin_passkey_sign_in(client)
    response = complete_passkey_sign_in(client, returns=passkey)

    assert response.status_code == 200
    assert client.session[SESSION_KEY] == str(user.pk)


# --- The server checks the signature and user verification itself ------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SoftwareAuthenticator:
    """Just enough of a platform authenticator to sign assertions (ES256), so the real
    py_webauthn verification runs: whether the person was verified is the UV flag in the
    signed authenticator data, which a browser cannot fake without the private key."""

    UP, UV = 0x01, 0x04

    def __init__(self, user) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.key.public_key().public_numbers()
        cose = {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        self.passkey = PasskeyFactory(user=user, public_key=cbor2.dumps(cose))
        self.user_handle = WebAuthnUserHandle.get_handle_for_user(user)

    def assertion(self, options: dict, *, origin: str, verified: bool) -> dict:
        client_data = json.dumps(
            {"type": "webauthn.get", "challenge": options["challenge"], "origin": origin, "crossOrigin": False}
        ).encode()
        flags = self.UP | (self.UV if verified else 0)
        auth_data = hashlib.sha256(options["rpId"].encode()).digest() + bytes([flags]) + (1).to_bytes(4, "big")
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        credential_id = b64url(bytes(self.passkey.credential_id))
        return {
            "id": credential_id,
            "rawId": credential_id,
            "type": "public-key",
            "response": {
                "authenticatorData": b64url(auth_data),
                "clientDataJSON": b64url(client_data),
                "signature": b64url(signature),
                "userHandle": b64url(self.user_handle),
            },
            "clientExtensionResults": {},
        }


@pytest.mark.parametrize(("verified", "status", "signed_in"), [(True, 200, True), (False, 422, False)])
def test_server_requires_the_person_to_be_verified(settings, verified, status, signed_in):
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["http://testserver"]
    user = UserFactory()
    authenticator = SoftwareAuthenticator(user)
    client = Client()

    options = begin_passkey_sign_in(client)
    response = client.post(
        reverse("otp_webauthn:credential-authentication-complete"),
        data=json.dumps(authenticator.assertion(options, origin="http://testserver", verified=verified)),
        content_type="application/json",
    )

    assert response.status_code == status
    assert (client.session.get(SESSION_KEY) == str(user.pk)) is signed_in


def test_an_assertion_from_another_site_is_refused(settings):
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["http://testserver"]
    authenticator = SoftwareAuthenticator(UserFactory())
    client = Client()

    options = begin_passkey_sign_in(client)
    response = client.post(
        reverse("otp_webauthn:credential-authentication-complete"),
        data=json.dumps(authenticator.assertion(options, origin="https://phish.example", verified=True)),
        content_type="application/json",
    )

    assert response.status_code == 422
    assert SESSION_KEY not in client.session
