"""Sign-in for staff: always a code, a shorter idle limit, and the longer staff password."""

import time

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.urls import reverse

from accounts import passwords, services
from security import risk
from security.devices import device_trust
from security.models import SecurityEvent
from tests.factories import (
    DEFAULT_PASSWORD,
    STAFF_PASSWORD,
    UserFactory,
    app_code,
    staff_member,
    two_step_app_on,
)

pytestmark = pytest.mark.django_db

LOGIN = "/account/login/"
APP_PROMPT = "Enter the 6-digit code from your authenticator app."


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    def post(client, data, path=LOGIN):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, data)

    return post


def password_step(deliver, client, user, password=STAFF_PASSWORD, path=LOGIN):
    data = {"sign_in_view-current_step": "auth", "auth-username": user.username, "auth-password": password}
    return deliver(client, data, path)


def code_step(deliver, client, code, path=LOGIN):
    return deliver(client, {"sign_in_view-current_step": "token", "token-otp_token": code}, path)


def low_risk(**kwargs):
    return risk.RiskAssessment(score=0.0, level=risk.LOW, reasons=[])


def remember_this_browser(client, user, rf):
    response = HttpResponse()
    device_trust(user=user, request=rf.get("/", HTTP_USER_AGENT="Mozilla/5.0 Firefox/130.0"), response=response)
    client.cookies[settings.DEVICE_COOKIE_NAME] = response.cookies[settings.DEVICE_COOKIE_NAME].value


# --- Always a code -------------------------------------------------------------------------


def test_staff_are_asked_for_the_app_code_even_on_a_remembered_device_at_low_risk(client, deliver, rf, monkeypatch):
    agent = staff_member("support.agent")
    key = two_step_app_on(agent)
    remember_this_browser(client, agent, rf)
    monkeypatch.setattr(risk, "risk_assess", low_risk)

    asked = password_step(deliver, client, agent)

    assert asked.status_code == 200
    assert APP_PROMPT in asked.content.decode()
    assert not asked.wsgi_request.user.is_authenticated
    signed_in = code_step(deliver, client, app_code(key))
    assert signed_in.wsgi_request.user == agent
    assert client.get("/admin/").status_code == 200  # confirmed by the app


def test_a_cardholder_on_the_same_terms_goes_straight_in(client, deliver, rf, monkeypatch):
    # The rule above is for staff only.
    member = UserFactory()
    two_step_app_on(member)
    remember_this_browser(client, member, rf)
    monkeypatch.setattr(risk, "risk_assess", low_risk)

    response = password_step(deliver, client, member, password=DEFAULT_PASSWORD)

    assert response.status_code == 302
    assert response.wsgi_request.user == member


def test_staff_are_not_offered_to_remember_the_device(client, deliver):
    agent = staff_member("support.agent")
    two_step_app_on(agent)

    page = password_step(deliver, client, agent).content.decode()

    assert APP_PROMPT in page
    assert "Remember this device" not in page


def test_staff_sign_in_with_the_app_opens_the_staff_console(client, deliver):
    agent = staff_member("support.agent")
    key = two_step_app_on(agent)
    path = f"{LOGIN}?next=/admin/"

    password_step(deliver, client, agent, path=path)
    response = code_step(deliver, client, app_code(key), path=path)

    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    event = SecurityEvent.objects.get(user=agent, kind="sign_in_succeeded")
    assert event.detail["code_confirmed"] is True


# --- Idle limit ------------------------------------------------------------------------------


def age_session(client, *, idle: int):
    session = client.session
    now = int(time.time())
    session["last_activity"] = now - idle
    session["signed_in_at"] = now - idle
    session.save()


def test_staff_are_signed_out_after_ten_idle_minutes(client, settings):
    assert settings.STAFF_SESSION_IDLE_TIMEOUT == 10 * 60 < settings.SESSION_IDLE_TIMEOUT
    client.force_login(staff_member("support.agent"))
    client.get(reverse("portal:home"))  # starts the idle clock
    age_session(client, idle=settings.STAFF_SESSION_IDLE_TIMEOUT + 1)

    response = client.get("/admin/", follow=True)

    assert not response.wsgi_request.user.is_authenticated
    assert "signed out after 10 minutes without activity" in response.content.decode()


def test_a_cardholder_idle_as_long_stays_signed_in(client, settings):
    member = UserFactory()
    client.force_login(member)
    client.get(reverse("portal:home"))
    age_session(client, idle=settings.STAFF_SESSION_IDLE_TIMEOUT + 1)

    response = client.get(reverse("accounts:session_status"), HTTP_ACCEPT="application/json")

    assert response.json()["signed_in"] is True


def test_the_timeout_warning_counts_down_from_the_staff_limit(client, settings):
    client.force_login(staff_member("support.agent"))
    client.get(reverse("portal:home"))
    age_session(client, idle=60)

    seconds_left = client.get(reverse("accounts:session_status")).json()["seconds_left"]

    assert settings.STAFF_SESSION_IDLE_TIMEOUT - 62 <= seconds_left <= settings.STAFF_SESSION_IDLE_TIMEOUT - 60


# --- The staff password policy ---------------------------------------------------------------

FIFTEEN = "Quiet-harbor-731"[:15]


def test_a_staff_password_needs_sixteen_characters(settings):
    assert settings.STAFF_PASSWORD_MIN_LENGTH == 16
    agent = staff_member("support.agent")
    member = UserFactory()

    with pytest.raises(ValidationError) as refused:
        validate_password(FIFTEEN, agent)

    assert refused.value.messages == ["Staff passwords must be at least 16 characters long."]
    validate_password(FIFTEEN, member)  # a cardholder's 12-character minimum
    validate_password(FIFTEEN + "x", agent)


def test_the_staff_rule_is_listed_only_for_staff():
    rule = "Staff: use at least 16 characters."

    assert rule in passwords.help_texts_for(staff_member("support.agent"))
    assert rule not in passwords.help_texts_for(UserFactory())
    assert rule not in passwords.help_texts_for(None)
    assert rule not in [row["rule"] for row in services.password_rules_check(raw_password="x", user=None)]


def test_the_staff_minimum_comes_from_settings(settings):
    settings.AUTH_PASSWORD_VALIDATORS = [
        *settings.AUTH_PASSWORD_VALIDATORS[:-1],
        {"NAME": "accounts.passwords.StaffPasswordValidator", "OPTIONS": {"min_length": 20}},
    ]

    with pytest.raises(ValidationError):
        validate_password("Quiet-harbor-7314-x", staff_member("support.agent"))


def test_a_login_made_staff_with_a_short_password_must_change_it_before_the_console(client, deliver):
    # Set under the cardholders' rules (12 characters), then made staff.
    agent = UserFactory(username="promoted.agent", cardholder=None, password="Quiet-harbor-7")
    agent.is_staff = True
    agent.save(update_fields=["is_staff"])
    key = two_step_app_on(agent)
    password_step(deliver, client, agent, password="Quiet-harbor-7")
    code_step(deliver, client, app_code(key))

    refused = client.get("/admin/", follow=True)

    assert refused.redirect_chain[-1][0] == reverse("security:password")
    assert "Staff passwords must be at least 16 characters long" in refused.content.decode()
    # A new password (through the same service as the password page) opens it.
    services.password_set(user=agent, raw_password="Quiet-harbor-7314-lantern")
    client.force_login(agent)
    assert client.get("/admin/").status_code == 200


def test_the_short_password_mark_lasts_until_the_password_changes(rf):
    agent = staff_member("support.agent")
    request = rf.get("/")
    request.session = {}
    request.user = agent
    passwords.staff_password_outdated_mark(request=request, user=agent)
    assert passwords.staff_password_outdated(request)

    services.password_set(user=agent, raw_password="Quiet-harbor-7314-lantern")

    assert not passwords.staff_password_outdated(request)
