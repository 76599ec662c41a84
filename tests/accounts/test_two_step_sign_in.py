"""Sign-in for people who turned on two-step verification, and backup codes at sign-in."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from security import backup_codes, risk
from security.devices import device_trust
from security.models import SecurityEvent
from tests.factories import DEFAULT_PASSWORD, UserFactory, app_code, two_step_app_on

pytestmark = pytest.mark.django_db

LOGIN = "/account/login/"
COOKIE = settings.DEVICE_COOKIE_NAME
APP_PROMPT = "Enter the 6-digit code from your authenticator app."


@pytest.fixture
def member():
    return UserFactory(
        username="two.step01", email="jo@example.com", phone="+12025550166", phone_verified_at=timezone.now()
    )


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    def post(client, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(LOGIN, data)

    return post


def password_step(deliver, client, user):
    return deliver(
        client, {"sign_in_view-current_step": "auth", "auth-username": user.username, "auth-password": DEFAULT_PASSWORD}
    )


def code_step(deliver, client, code, step="token"):
    return deliver(client, {"sign_in_view-current_step": step, f"{step}-otp_token": code})


def assess(level):
    def fake(**kwargs):
        reasons = [] if level == risk.LOW else ["new_network"]
        return risk.RiskAssessment(score=0.0 if level == risk.LOW else 3.0, level=level, reasons=reasons)

    return fake


def remember_this_browser(client, user, rf):
    response = HttpResponse()
    device_trust(user=user, request=rf.get("/", HTTP_USER_AGENT="Mozilla/5.0 Firefox/130.0"), response=response)
    client.cookies[COOKIE] = response.cookies[COOKIE].value


def sent_texts():
    folder = settings.SMS_FILE_PATH
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_with_two_step_on_an_unremembered_device_is_asked_for_the_app_code(client, member, deliver):
    key = two_step_app_on(member)
    response = password_step(deliver, client, member)
    page = response.content.decode()
    assert response.status_code == 200
    assert APP_PROMPT in page
    assert not response.wsgi_request.user.is_authenticated
    # The app is asked first: nothing was texted or emailed.
    assert sent_texts() == [] and not [m for m in mail.outbox if "security code" in m.subject]
    signed_in = code_step(deliver, client, app_code(key))
    assert signed_in.status_code == 302
    assert signed_in.wsgi_request.user == member
    event = SecurityEvent.objects.get(user=member, kind="sign_in_succeeded")
    assert event.detail["code_confirmed"] is True


def test_with_two_step_on_a_remembered_device_at_low_risk_needs_no_code(client, member, deliver, rf, monkeypatch):
    two_step_app_on(member)
    remember_this_browser(client, member, rf)
    monkeypatch.setattr(risk, "risk_assess", assess(risk.LOW))
    response = password_step(deliver, client, member)
    assert response.status_code == 302
    assert response.wsgi_request.user == member


def test_with_two_step_on_a_remembered_device_at_medium_risk_is_asked(client, member, deliver, rf, monkeypatch):
    two_step_app_on(member)
    remember_this_browser(client, member, rf)
    monkeypatch.setattr(risk, "risk_assess", assess(risk.MEDIUM))
    response = password_step(deliver, client, member)
    assert response.status_code == 200
    assert APP_PROMPT in response.content.decode()


def test_with_two_step_on_low_risk_without_a_remembered_device_is_asked(client, member, deliver, monkeypatch):
    two_step_app_on(member)
    monkeypatch.setattr(risk, "risk_assess", assess(risk.LOW))
    assert APP_PROMPT in password_step(deliver, client, member).content.decode()


def test_a_wrong_app_code_is_refused(client, member, deliver):
    key = two_step_app_on(member)
    password_step(deliver, client, member)
    wrong = f"{(int(app_code(key)) + 1) % 1_000_000:06d}"
    response = code_step(deliver, client, wrong)
    assert "That code is not right" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_five_wrong_app_codes_end_the_attempt(client, member, deliver, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    key = two_step_app_on(member)
    password_step(deliver, client, member)
    wrong = f"{(int(app_code(key)) + 1) % 1_000_000:06d}"
    for _ in range(4):
        code_step(deliver, client, wrong)
    ended = code_step(deliver, client, wrong)
    assert (ended.status_code, ended["Location"]) == (302, LOGIN)
    assert not code_step(deliver, client, app_code(key)).wsgi_request.user.is_authenticated


def test_the_code_that_turned_the_app_on_cannot_be_replayed(member):
    key = two_step_app_on(member)
    device = TOTPDevice.objects.get(user=member)
    spent = f"{hotp(bytes.fromhex(key), device.last_t):06d}"
    assert device.verify_token(spent) is False


def test_with_two_step_on_texted_and_emailed_codes_are_not_offered(client, member, deliver, settings):
    two_step_app_on(member)
    page = password_step(deliver, client, member).content.decode()
    assert "authenticator app" in page
    assert "***-***-0166" not in page
    assert "instead" not in page
    # Nothing was texted: a swapped SIM learns nothing.
    assert not settings.SMS_FILE_PATH.exists() or not any(settings.SMS_FILE_PATH.iterdir())


def test_a_backup_code_signs_in_once(client, member, deliver):
    two_step_app_on(member)
    codes = backup_codes.codes_generate(user=member)
    page = password_step(deliver, client, member).content.decode()
    assert "Use a backup code" in page
    backup = deliver(client, {"sign_in_view-current_step": "token", "wizard_goto_step": "backup"})
    assert "Backup code" in backup.content.decode()
    signed_in = code_step(deliver, client, codes[0], step="backup")
    assert signed_in.status_code == 302 and signed_in.wsgi_request.user == member
    assert backup_codes.unused_codes(user=member).count() == 9

    client.post(reverse("accounts:sign_out"))
    password_step(deliver, client, member)
    deliver(client, {"sign_in_view-current_step": "token", "wizard_goto_step": "backup"})
    again = code_step(deliver, client, codes[0], step="backup")
    assert "That backup code is not right, or it was used before" in again.content.decode()
    assert not again.wsgi_request.user.is_authenticated


def test_backup_codes_are_offered_without_the_app(client, member, deliver):
    codes = backup_codes.codes_generate(user=member)
    page = password_step(deliver, client, member).content.decode()
    assert "We don&#x27;t recognize this device" in page or "We don't recognize this device" in page
    assert "Use a backup code" in page
    deliver(client, {"sign_in_view-current_step": "token", "wizard_goto_step": "backup"})
    assert code_step(deliver, client, codes[1], step="backup").status_code == 302


def test_no_backup_link_without_backup_codes(client, member, deliver):
    two_step_app_on(member)
    page = password_step(deliver, client, member).content.decode()
    assert "Use a backup code" not in page


def test_spent_backup_codes_are_not_offered(client, member, deliver):
    codes = backup_codes.codes_generate(user=member)
    device = backup_codes.backup_device_for(user=member)
    for code in codes:
        assert device.verify_token(code)
    assert "Use a backup code" not in password_step(deliver, client, member).content.decode()


def test_another_users_backup_code_does_not_sign_in(client, member, deliver):
    backup_codes.codes_generate(user=member)
    stranger_code = backup_codes.codes_generate(user=UserFactory())[0]
    password_step(deliver, client, member)
    deliver(client, {"sign_in_view-current_step": "token", "wizard_goto_step": "backup"})
    response = code_step(deliver, client, stranger_code, step="backup")
    assert not response.wsgi_request.user.is_authenticated


def test_from_the_backup_step_one_can_go_back_to_a_code(client, member, deliver):
    backup_codes.codes_generate(user=member)
    password_step(deliver, client, member)
    page = deliver(client, {"sign_in_view-current_step": "token", "wizard_goto_step": "backup"}).content.decode()
    assert "Use a security code instead" in page
    back = deliver(client, {"sign_in_view-current_step": "backup", "wizard_goto_step": "token"}).content.decode()
    assert re.search(r"We sent a 6-digit code to \*\*\*-\*\*\*-0166", back)
