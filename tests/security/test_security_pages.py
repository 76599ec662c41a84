import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.http import HttpResponse
from django.urls import reverse

from security.devices import device_trust
from security.models import SecurityEvent, TrustedDevice, UserSession
from tests.factories import DEFAULT_PASSWORD, UserFactory, signed_in_client

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Meadow-Signal-8842"


@pytest.fixture
def member():
    # No verified contact: signs in with the password alone (step-up has its own tests).
    return UserFactory(email_verified_at=None, email="lee@example.com")


def trust(user, rf) -> TrustedDevice:
    request = rf.get("/", HTTP_USER_AGENT="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0 Safari/537.36")
    return device_trust(user=user, request=request, response=HttpResponse())


def test_overview_reads_like_a_checklist(member):
    html = signed_in_client(member).get(reverse("security:overview")).content.decode()
    for heading in ("Contact details", "Password", "Two-step verification", "Remembered devices", "Sign-in activity"):
        assert heading in html
    assert reverse("security:password") in html


def test_security_pages_need_sign_in(client):
    for name in ("security:overview", "security:devices", "security:activity", "security:password"):
        assert client.get(reverse(name)).status_code == 302


def test_devices_are_listed_and_removed(member, rf):
    device = trust(member, rf)
    client = signed_in_client(member)
    assert "Chrome on Windows" in client.get(reverse("security:devices")).content.decode()
    client.post(reverse("security:device_remove", args=[device.pk]))
    device.refresh_from_db()
    assert device.revoked_at is not None
    assert SecurityEvent.objects.filter(kind="device_removed", user=member).exists()


def test_another_users_device_cannot_be_removed(member, rf):
    stranger_device = trust(UserFactory(), rf)
    client = signed_in_client(member)
    response = client.post(reverse("security:device_remove", args=[stranger_device.pk]), follow=True)
    stranger_device.refresh_from_db()
    assert stranger_device.revoked_at is None
    assert "not on your list" in response.content.decode()


def test_remove_all_devices(member, rf):
    trust(member, rf)
    trust(member, rf)
    signed_in_client(member).post(reverse("security:device_remove_all"))
    assert not TrustedDevice.objects.filter(user=member, revoked_at__isnull=True).exists()


def test_activity_lists_sign_ins_and_sessions(member):
    client = signed_in_client(member)
    html = client.get(reverse("security:activity")).content.decode()
    assert "Signed in" in html
    assert "Safari on macOS" in html
    assert "This session" in html


def test_sign_out_another_session_ends_it_on_the_server(member):
    phone = signed_in_client(member)
    laptop = signed_in_client(member)
    phone_session = UserSession.objects.get(session_key=phone.session.session_key)
    laptop.post(reverse("security:session_end", args=[phone_session.pk]))
    assert not Session.objects.filter(session_key=phone_session.session_key).exists()
    assert phone.get(reverse("cards:list")).status_code == 302
    assert laptop.get(reverse("cards:list")).status_code == 200


def test_a_user_cannot_end_someone_elses_session(member):
    other = UserFactory(email_verified_at=None)
    theirs = signed_in_client(other)
    their_session = UserSession.objects.get(session_key=theirs.session.session_key)
    signed_in_client(member).post(reverse("security:session_end", args=[their_session.pk]))
    assert theirs.get(reverse("cards:list")).status_code == 200


def test_sign_out_everywhere_else(member):
    others = [signed_in_client(member) for _ in range(2)]
    me = signed_in_client(member)
    me.post(reverse("security:sessions_end_others"))
    assert [c.get(reverse("cards:list")).status_code for c in others] == [302, 302]
    assert me.get(reverse("cards:list")).status_code == 200


def test_sign_out_ends_the_session_row(member):
    client = signed_in_client(member)
    key = client.session.session_key
    client.post(reverse("accounts:sign_out"))
    assert UserSession.objects.get(session_key=key).ended_at is not None


def test_password_change_keeps_this_session_ends_others_and_alerts(member, django_capture_on_commit_callbacks):
    other = signed_in_client(member)
    me = signed_in_client(member)
    with django_capture_on_commit_callbacks(execute=True):
        response = me.post(
            reverse("security:password"),
            {"current_password": DEFAULT_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
    assert response["Location"] == reverse("security:overview")
    assert me.get(reverse("cards:list")).status_code == 200
    assert other.get(reverse("cards:list")).status_code == 302
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    assert [m.subject for m in mail.outbox] == ["Your password was changed"]
    assert SecurityEvent.objects.filter(kind="password_changed", user=member).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"current_password": "wrong-one-123"}, "not your current password"),
        ({"new_password1": "password123456", "new_password2": "password123456"}, "too common"),
        ({"new_password2": "Something-else-99"}, "don&#x27;t match"),
        ({"new_password1": DEFAULT_PASSWORD, "new_password2": DEFAULT_PASSWORD}, "last 4"),
    ],
)
def test_password_change_refuses_bad_input(member, data, message):
    client = signed_in_client(member)
    payload = {"current_password": DEFAULT_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    payload.update(data)
    response = client.post(reverse("security:password"), payload)
    assert message in response.content.decode()
    member.refresh_from_db()
    assert member.check_password(DEFAULT_PASSWORD)
