"""Two-step verification with an authenticator app, from the security pages."""

import base64
import html
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from security import backup_codes, two_step
from security.models import SecurityEvent
from tests.factories import DEFAULT_PASSWORD, UserFactory, app_code, two_step_app_on
from tests.security.dbscan import rows_containing

pytestmark = pytest.mark.django_db

SETUP = reverse("security:two_step_app")
REMOVE = reverse("security:two_step_app_remove")


@pytest.fixture
def member():
    return UserFactory(email="ana@example.com")


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    def post(client, url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    return post


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def confirmed(user) -> Client:
    """Signed in, and confirmed it's them with the password a moment ago."""
    client = signed_in(user)
    response = client.post(reverse("security:confirm"), {"action": "password", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return client


def secret_on_page(page: str) -> bytes:
    key = re.search(r'class="setup-key".*?<code>([A-Z2-7 ]+)</code>', page, re.S).group(1).replace(" ", "")
    return base64.b32decode(key + "=" * (-len(key) % 8))


def code_for(secret: bytes, drift: int = 0) -> str:
    return f"{totp(secret, step=30, digits=6, drift=drift):06d}"


def test_the_two_step_page_says_off_and_offers_to_turn_on(member):
    page = signed_in(member).get(reverse("security:two_step")).content.decode()
    assert "Off" in page
    assert SETUP in page


def test_setting_up_needs_a_fresh_confirmation(member):
    response = signed_in(member).get(SETUP)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("security:confirm"))
    assert not TOTPDevice.objects.filter(user=member).exists()


def test_setup_page_shows_a_server_drawn_qr_code_and_the_key(member):
    page = confirmed(member).get(SETUP).content.decode()
    assert re.search(r'<img class="qr-code" src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', page)
    qr_svg = base64.b64decode(re.search(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", page).group(1)).decode()
    assert "<svg" in qr_svg and "<script" not in qr_svg
    assert len(secret_on_page(page)) == 20
    assert "QR code to add" in html.unescape(page)


def test_the_right_code_turns_it_on_and_shows_backup_codes_once(member, deliver):
    client = confirmed(member)
    secret = secret_on_page(client.get(SETUP).content.decode())
    response = deliver(client, SETUP, {"code": code_for(secret)})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Save your backup codes" in page
    shown = re.findall(r"<code>([a-z2-9]{4}-[a-z2-9]{4})</code>", page)
    assert len(shown) == 10
    device = TOTPDevice.objects.get(user=member)
    assert (device.name, device.confirmed, device.bin_key) == ("default", True, secret)
    assert two_step.two_step_device(user=member) == device
    assert backup_codes.unused_codes(user=member).count() == 10
    # Shown once: not kept in the session or anywhere else, not on the page again.
    assert all(rows_containing(code) == [] for code in shown)
    assert shown[0] not in client.get(reverse("security:two_step")).content.decode()
    event = SecurityEvent.objects.get(user=member, kind="two_factor_changed", detail__change="app_added")
    assert event.outcome == "success"
    assert [m.subject for m in mail.outbox] == ["Two-step verification is on"]
    assert mail.outbox[0].to == ["ana@example.com"]


def test_a_wrong_code_changes_nothing(member):
    client = confirmed(member)
    secret = secret_on_page(client.get(SETUP).content.decode())
    wrong = f"{(int(code_for(secret)) + 1) % 1_000_000:06d}"
    page = client.post(SETUP, {"code": wrong}).content.decode()
    assert "That code doesn" in html.unescape(page)
    assert not TOTPDevice.objects.filter(user=member).exists()
    assert not SecurityEvent.objects.filter(user=member, kind="two_factor_changed").exists()


def test_a_code_that_is_not_six_digits_is_explained(member):
    client = confirmed(member)
    client.get(SETUP)
    page = client.post(SETUP, {"code": "12ab"}).content.decode()
    assert "The code is 6 digits" in page
    assert not TOTPDevice.objects.filter(user=member).exists()


def test_five_wrong_codes_make_a_new_secret(member):
    client = confirmed(member)
    first = secret_on_page(client.get(SETUP).content.decode())
    wrong = f"{(int(code_for(first)) + 1) % 1_000_000:06d}"
    for _ in range(4):
        client.post(SETUP, {"code": wrong})
    page = client.post(SETUP, {"code": wrong}).content.decode()
    assert "new QR code" in page
    assert secret_on_page(page) != first


def test_turning_off_with_the_password(member, deliver):
    two_step_app_on(member)
    client = signed_in(member)
    response = deliver(client, REMOVE, {"password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=member).exists()
    assert SecurityEvent.objects.filter(user=member, kind="two_factor_changed", detail__change="app_removed").exists()
    assert [m.subject for m in mail.outbox] == ["Two-step verification is off"]


def test_turning_off_with_a_code_from_the_app(member):
    key = two_step_app_on(member)
    signed_in(member).post(REMOVE, {"code": app_code(key)})
    assert not TOTPDevice.objects.filter(user=member).exists()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"password": "not-my-password-1"}, "That is not your password"),
        ({"code": "000000"}, "That code is not right"),
        ({}, "Enter your password, or a code from your authenticator app"),
    ],
    ids=["wrong password", "wrong code", "nothing"],
)
def test_turning_off_needs_the_password_or_a_current_code(member, data, message):
    two_step_app_on(member)
    page = signed_in(member).post(REMOVE, data).content.decode()
    assert message in html.unescape(page)
    assert TOTPDevice.objects.filter(user=member).exists()


def test_turning_off_keeps_backup_codes(member):
    two_step_app_on(member)
    backup_codes.codes_generate(user=member)
    signed_in(member).post(REMOVE, {"password": DEFAULT_PASSWORD})
    assert backup_codes.unused_codes(user=member).count() == 10


def test_another_user_cannot_turn_off_mine(member):
    two_step_app_on(member)
    other = UserFactory()
    response = signed_in(other).post(REMOVE, {"password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=member).exists()


def test_new_backup_codes_need_a_fresh_confirmation(member):
    response = signed_in(member).post(reverse("security:backup_codes_new"))
    assert response.status_code == 302
    assert reverse("security:confirm") in response["Location"]
    assert not backup_codes.unused_codes(user=member).exists()


def test_new_backup_codes_are_shown_once_and_void_the_old(member):
    old = backup_codes.codes_generate(user=member)
    page = confirmed(member).post(reverse("security:backup_codes_new")).content.decode()
    shown = re.findall(r"<code>([a-z2-9]{4}-[a-z2-9]{4})</code>", page)
    assert len(shown) == 10 and not set(shown) & set(old)
    assert "only time we" in page
    device = backup_codes.backup_device_for(user=member)
    assert device.verify_token(old[0]) is False


def test_two_factor_setup_pages_of_the_library_lead_to_ours(member):
    client = signed_in(member)
    for name in ("two_factor:setup", "two_factor:backup_tokens", "two_factor:disable", "two_factor:profile"):
        response = client.get(reverse(name))
        assert (response.status_code, response["Location"]) == (302, reverse("security:two_step"))


def test_the_overview_shows_two_step_on_and_backup_codes_left(member):
    two_step_app_on(member)
    backup_codes.codes_generate(user=member)
    page = signed_in(member).get(reverse("security:overview")).content.decode()
    assert "Backup codes left: 10" in page
    assert reverse("security:two_step") in page and reverse("security:contact") in page
