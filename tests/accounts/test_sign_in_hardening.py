"""Sign-in (accounts/views/sign_in.py) against hand-made requests: a step the session is
not at, a "next" that is no path, a code asked for before any password, and a field the
form never showed."""

from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from security import devices
from security.models import OutOfBandDevice, SecurityEvent, TrustedDevice
from tests.factories import DEFAULT_PASSWORD, STAFF_PASSWORD, UserFactory, app_code, staff_member, two_step_app_on

pytestmark = pytest.mark.django_db

LOGIN = "two_factor:login"
COOKIE = settings.DEVICE_COOKIE_NAME


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Post to sign-in and send whatever codes the request queued."""

    def post(client, data, path=None):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path or reverse(LOGIN), data)

    return post


def password_step(deliver, client, username, password, path=None):
    data = {"sign_in_view-current_step": "auth", "auth-username": username, "auth-password": password}
    return deliver(client, data, path)


def code_step(deliver, client, code, *, remember=False):
    data = {"sign_in_view-current_step": "token", "token-otp_token": code}
    if remember:
        data["token-remember_device"] = "on"
    return deliver(client, data)


# --- The per-network limit ------------------------------------------------------------------


def test_a_blocked_network_cannot_try_a_password_from_a_session_parked_at_the_code_step(client, deliver, settings):
    settings.SIGN_IN_IP_FAILURE_LIMIT = 3
    own = UserFactory(phone="+12025550111", phone_verified_at=timezone.now())
    victim = UserFactory(email_verified_at=None)  # no code step: a right password signs in
    parked = password_step(deliver, client, own.username, DEFAULT_PASSWORD)
    assert parked.status_code == 200  # at the code step
    stuffer = Client()  # another browser on the same network
    for i in range(3):
        password_step(deliver, stuffer, f"stuffing{i:03d}", "password-123456")
    events_before = SecurityEvent.objects.count()

    # The parked session names the password step in its management form.
    with mock.patch.object(MD5PasswordHasher, "encode", autospec=True, side_effect=MD5PasswordHasher.encode) as encode:
        response = password_step(deliver, client, victim.username, DEFAULT_PASSWORD)

    assert response.status_code == 429
    assert "Too many attempts to log in" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
    assert encode.call_count == 0  # no password was checked
    assert SecurityEvent.objects.count() == events_before


# --- Where sign-in leads ----------------------------------------------------------------------


@pytest.mark.parametrize("next_value", ["abc", "$5", "evil"])
def test_a_next_that_is_no_path_is_ignored_and_sign_in_goes_home(client, deliver, next_value):
    member = UserFactory(email_verified_at=None)  # signs in with the password alone
    path = reverse(LOGIN) + f"?next={next_value}"
    response = password_step(deliver, client, member.username, DEFAULT_PASSWORD, path)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")
    assert response.wsgi_request.user == member


def test_a_next_that_is_a_path_on_this_site_is_followed_after_sign_in(client, deliver):
    member = UserFactory(email_verified_at=None)
    path = reverse(LOGIN) + "?next=/cards/"
    response = password_step(deliver, client, member.username, DEFAULT_PASSWORD, path)
    assert response.status_code == 302
    assert response["Location"] == "/cards/"
    assert response.wsgi_request.user == member


def test_a_signed_in_visitor_with_a_next_that_is_no_path_goes_home(client):
    client.force_login(UserFactory())
    response = client.get(reverse(LOGIN) + "?next=abc")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")


# --- Asking for a code --------------------------------------------------------------------------


def test_asking_for_a_code_before_any_password_shows_the_sign_in_form(client, deliver):
    member = UserFactory(phone="+12025550122", phone_verified_at=timezone.now())
    devices.code_devices_sync(user=member)
    email_device = OutOfBandDevice.objects.get(user=member, channel="email")

    response = deliver(client, {"sign_in_view-current_step": "auth", "challenge_device": email_device.persistent_id})

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="auth-username"' in page and 'name="auth-password"' in page
    assert 'name="token-otp_token"' not in page
    assert not response.wsgi_request.user.is_authenticated
    assert not [m for m in mail.outbox if "security code" in m.subject]
    assert not list(settings.SMS_FILE_PATH.glob("*"))


# --- Remembering the device -------------------------------------------------------------------


def test_staff_cannot_remember_the_device_by_posting_the_field_their_form_does_not_have(client, deliver):
    agent = staff_member("support.agent")
    key = two_step_app_on(agent)
    asked = password_step(deliver, client, agent.username, STAFF_PASSWORD)
    assert 'name="token-remember_device"' not in asked.content.decode()

    response = code_step(deliver, client, app_code(key), remember=True)

    assert response.wsgi_request.user == agent
    assert COOKIE not in response.cookies
    assert not TrustedDevice.objects.filter(user=agent).exists()
    assert not SecurityEvent.objects.filter(kind="device_trusted", user=agent).exists()


def test_a_cardholder_with_the_app_can_still_remember_the_device(client, deliver):
    member = UserFactory()
    key = two_step_app_on(member)
    asked = password_step(deliver, client, member.username, DEFAULT_PASSWORD)
    assert 'name="token-remember_device"' in asked.content.decode()

    response = code_step(deliver, client, app_code(key), remember=True)

    assert response.wsgi_request.user == member
    assert COOKIE in response.cookies
    assert TrustedDevice.objects.filter(user=member).count() == 1
