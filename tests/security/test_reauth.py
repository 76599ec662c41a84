"""Confirming it's you before a sensitive change: the password, or a code on file."""

import re
import time

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from security import reauth
from security.models import SecurityEvent
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

CONFIRM = reverse("security:confirm")
NEXT = reverse("security:contact_edit", args=["email"])


@pytest.fixture
def member():
    return UserFactory(email="bo@example.com", phone="+12025550144", phone_verified_at=timezone.now())


@pytest.fixture
def client_in(member):
    client = Client()
    client.force_login(member)
    return client


def test_the_password_confirms_and_returns_to_the_page(client_in):
    response = client_in.post(CONFIRM, {"action": "password", "password": DEFAULT_PASSWORD, "next": NEXT})
    assert (response.status_code, response["Location"]) == (302, NEXT)
    assert client_in.get(NEXT).status_code == 200


def test_a_wrong_password_is_explained_and_logged(client_in, member):
    page = client_in.post(CONFIRM, {"action": "password", "password": "wrong-password-99", "next": NEXT})
    assert "That is not your password" in page.content.decode()
    assert client_in.get(NEXT).status_code == 302
    event = SecurityEvent.objects.get(user=member, kind="sign_in_failed")
    assert event.detail == {"reason": "bad_password", "step": "confirm_identity"}


def test_five_wrong_passwords_sign_the_session_out(client_in):
    for _ in range(4):
        client_in.post(CONFIRM, {"action": "password", "password": "wrong-password-99"})
    response = client_in.post(CONFIRM, {"action": "password", "password": "wrong-password-99"})
    assert (response.status_code, response["Location"]) == (302, reverse("two_factor:login"))
    assert not client_in.get(reverse("security:overview")).wsgi_request.user.is_authenticated


def test_next_must_stay_on_this_site(client_in):
    response = client_in.post(
        CONFIRM, {"action": "password", "password": DEFAULT_PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("security:overview")


@pytest.mark.parametrize("hostile", ["abc", "$5", "//evil.example/", "/\\evil.example", "/ok\x00", "security:overview"])
def test_a_next_that_is_not_a_path_here_goes_to_the_overview_not_a_500(client_in, hostile):
    # redirect() reads a bare word as a view name: "abc" used to be a 500.
    response = client_in.post(CONFIRM, {"action": "password", "password": DEFAULT_PASSWORD, "next": hostile})
    assert (response.status_code, response["Location"]) == (302, reverse("security:overview"))


def test_a_code_to_a_contact_on_file_confirms(client_in, django_capture_on_commit_callbacks):
    page = client_in.get(f"{CONFIRM}?next={NEXT}").content.decode()
    assert "Text a code to ***-***-0144" in page and "Email a code to b***@example.com" in page
    with django_capture_on_commit_callbacks(execute=True):
        sent = client_in.post(CONFIRM, {"action": "send", "channel": "email", "next": NEXT})
    assert sent["Location"] == reverse("security:confirm_code")
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    response = client_in.post(reverse("security:confirm_code"), {"code": code})
    assert response["Location"] == NEXT
    assert client_in.get(NEXT).status_code == 200


def test_a_wrong_code_does_not_confirm(client_in, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client_in.post(CONFIRM, {"action": "send", "channel": "email", "next": NEXT})
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    page = client_in.post(reverse("security:confirm_code"), {"code": wrong}).content.decode()
    assert "That code is not right" in page
    assert client_in.get(NEXT).status_code == 302


def test_codes_go_only_to_verified_contacts(member):
    member.phone_verified_at = None
    member.save(update_fields=["phone_verified_at"])
    client = Client()
    client.force_login(member)
    assert "Text a code" not in client.get(CONFIRM).content.decode()
    assert client.post(CONFIRM, {"action": "send", "channel": "sms"}).status_code == 200
    assert not mail.outbox


def age_confirmation(client, seconds: int) -> None:
    session = client.session
    session[reauth.SESSION_KEY] = {**session[reauth.SESSION_KEY], "at": int(time.time()) - seconds}
    session.save()


def test_a_confirmation_lasts_ten_minutes(client_in):
    client_in.post(CONFIRM, {"action": "password", "password": DEFAULT_PASSWORD})
    age_confirmation(client_in, reauth.VALIDITY_SECONDS - 30)
    assert client_in.get(NEXT).status_code == 200
    age_confirmation(client_in, reauth.VALIDITY_SECONDS + 1)
    assert client_in.get(NEXT).status_code == 302


def test_a_confirmation_is_for_the_person_who_made_it(client_in):
    client_in.post(CONFIRM, {"action": "password", "password": DEFAULT_PASSWORD})
    other = UserFactory()
    client_in.force_login(other)
    assert client_in.get(NEXT).status_code == 302
