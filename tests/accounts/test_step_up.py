"""Device recognition and step-up at sign-in."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from security import risk
from security.devices import token_hash
from security.models import OutOfBandDevice, SecurityEvent, TrustedDevice
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/account/login/"
COOKIE = settings.DEVICE_COOKIE_NAME


@pytest.fixture
def member():
    return UserFactory(
        username="step.up01", email="sam@example.com", phone="+12025550188", phone_verified_at=timezone.now()
    )


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    def post(client, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(LOGIN, data)

    return post


def password_step(deliver, client, user, password=DEFAULT_PASSWORD):
    return deliver(
        client, {"sign_in_view-current_step": "auth", "auth-username": user.username, "auth-password": password}
    )


def code_step(deliver, client, code, remember=False):
    data = {"sign_in_view-current_step": "token", "token-otp_token": code}
    if remember:
        data["token-remember_device"] = "on"
    return deliver(client, data)


def texted_code() -> str:
    files = sorted(settings.SMS_FILE_PATH.iterdir())
    return re.search(r"\b(\d{6})\b", files[-1].read_text()).group(1)


def emailed_code() -> str:
    return re.search(r"\b(\d{6})\b", [m for m in mail.outbox if "security code" in m.subject][-1].body).group(1)


def test_unrecognized_device_gets_a_code_by_text_first(client, member, deliver):
    response = password_step(deliver, client, member)
    html = response.content.decode()
    assert response.status_code == 200
    assert "We don&#x27;t recognize this device" in html or "We don't recognize this device" in html
    assert "***-***-0188" in html
    assert "this is a new device" in html
    assert not response.wsgi_request.user.is_authenticated
    assert re.fullmatch(r"\d{6}", texted_code())


def test_verified_contacts_become_code_devices_named_for_their_channel(client, member, deliver):
    password_step(deliver, client, member)
    assert sorted(OutOfBandDevice.objects.filter(user=member).values_list("name", flat=True)) == ["email", "sms"]


def test_right_code_signs_in_and_remember_trusts_the_device(client, member, deliver):
    password_step(deliver, client, member)
    response = code_step(deliver, client, texted_code(), remember=True)
    assert response.status_code == 302
    token = response.cookies[COOKIE].value
    assert response.cookies[COOKIE]["httponly"]
    assert response.cookies[COOKIE]["samesite"] == "Lax"
    device = TrustedDevice.objects.get(user=member)
    assert device.token_hash == token_hash(token) and token not in device.token_hash
    assert len(token) >= 32
    assert SecurityEvent.objects.filter(kind="device_trusted", user=member).exists()
    event = SecurityEvent.objects.filter(kind="sign_in_succeeded", user=member).get()
    assert event.detail["code_confirmed"] is True
    assert "new_device" in event.risk_reasons


def test_a_remembered_device_signs_in_without_a_code(client, member, deliver):
    password_step(deliver, client, member)
    code_step(deliver, client, texted_code(), remember=True)
    client.post(reverse("accounts:sign_out"))
    response = password_step(deliver, client, member)
    assert response.status_code == 302
    assert response.wsgi_request.user == member


def test_cleared_cookies_mean_a_code_again(client, member, deliver):
    password_step(deliver, client, member)
    code_step(deliver, client, texted_code(), remember=True)
    client.post(reverse("accounts:sign_out"))
    del client.cookies[COOKIE]
    assert password_step(deliver, client, member).status_code == 200


def test_a_removed_device_needs_a_code_again(client, member, deliver):
    password_step(deliver, client, member)
    code_step(deliver, client, texted_code(), remember=True)
    client.post(reverse("accounts:sign_out"))
    TrustedDevice.objects.filter(user=member).update(revoked_at=timezone.now())
    assert password_step(deliver, client, member).status_code == 200


def test_not_remembering_leaves_the_device_unrecognized(client, member, deliver):
    password_step(deliver, client, member)
    code_step(deliver, client, texted_code())
    assert not TrustedDevice.objects.filter(user=member).exists()


def test_wrong_code_is_explained_and_logged(client, member, deliver):
    password_step(deliver, client, member)
    wrong = f"{(int(texted_code()) + 1) % 1_000_000:06d}"
    response = code_step(deliver, client, wrong)
    assert "That code is not right" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
    assert SecurityEvent.objects.filter(kind="code_failed", user=member).count() == 1


@pytest.mark.parametrize("code", ["", "12ab"])
def test_a_missing_or_malformed_code_is_explained_once(client, member, deliver, code):
    password_step(deliver, client, member)
    page = code_step(deliver, client, code).content.decode()
    messages = ["Enter the 6-digit code we sent you", "The code is 6 digits, numbers only"]
    # Once in the error summary, once at the field: not a second time from the device check.
    assert sum(page.count(message) for message in messages) == 2
    assert not page.count("That code is not right")


def test_five_wrong_codes_end_the_attempt(client, member, deliver, monkeypatch):
    monkeypatch.setattr(settings, "OTP_OOB_THROTTLE_FACTOR", 0)
    password_step(deliver, client, member)
    right = texted_code()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(4):
        code_step(deliver, client, wrong)
    ended = code_step(deliver, client, wrong)
    assert ended.status_code == 302 and ended["Location"] == LOGIN
    # The attempt is over: the right code no longer signs anyone in.
    after = code_step(deliver, client, right)
    assert not after.wsgi_request.user.is_authenticated
    assert SecurityEvent.objects.filter(kind="code_failed", user=member).count() == 5


def test_the_code_can_go_to_email_instead(client, member, deliver):
    password_step(deliver, client, member)
    email_device = OutOfBandDevice.objects.get(user=member, channel="email")
    response = deliver(client, {"sign_in_view-current_step": "token", "challenge_device": email_device.persistent_id})
    assert "s***@example.com" in response.content.decode()
    assert code_step(deliver, client, emailed_code()).status_code == 302


def test_a_sign_in_from_a_new_device_alerts_the_cardholder(client, member, deliver):
    password_step(deliver, client, member)
    code_step(deliver, client, texted_code())
    alerts = [m for m in mail.outbox if m.subject == "New sign-in to your account"]
    assert len(alerts) == 1 and alerts[0].to == ["sam@example.com"]


def test_high_risk_cannot_remember_the_device(client, member, deliver, monkeypatch):
    def high(**kwargs):
        return risk.RiskAssessment(score=9.0, level=risk.HIGH, reasons=["new_device", "stuffing_ip"])

    monkeypatch.setattr(risk, "risk_assess", high)
    response = password_step(deliver, client, member)
    assert "token-remember_device" not in response.content.decode()
    response = code_step(deliver, client, texted_code(), remember=True)
    assert response.status_code == 302
    assert not TrustedDevice.objects.filter(user=member).exists()


def test_a_user_without_any_verified_contact_is_not_stopped(client, deliver):
    user = UserFactory(email_verified_at=None)
    assert password_step(deliver, client, user).status_code == 302


def test_codes_never_reach_the_audit_trail(client, member, deliver):
    password_step(deliver, client, member)
    code = texted_code()
    code_step(deliver, client, code)
    trail = " ".join(f"{e.detail} {e.risk_reasons}" for e in SecurityEvent.objects.all())
    assert code not in trail
