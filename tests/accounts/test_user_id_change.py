import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import User
from security.models import SecurityEvent
from security.staff import identity_verification_record
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client):
    # No verified contact: the new User ID signs in with the password alone.
    user = UserFactory(username="old.name1", email="pat@example.com", email_verified_at=None)
    client.force_login(user)
    return user


@pytest.fixture
def request_change(client, django_capture_on_commit_callbacks):
    def post(new="new.name2", password=DEFAULT_PASSWORD):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("accounts:user_id_change"), {"new_username": new, "password": password})

    return post


@pytest.fixture
def confirm(client, django_capture_on_commit_callbacks):
    def post(code):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("accounts:user_id_confirm"), {"code": code})

    return post


def _code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def test_change_with_password_and_code_tells_the_old_contact(member, request_change, confirm):
    assert request_change()["Location"] == reverse("accounts:user_id_confirm")
    response = confirm(_code())
    assert response["Location"] == reverse("cards:list")
    member.refresh_from_db()
    assert member.username == "new.name2"
    assert member.username_changed_at is not None
    notice = [m for m in mail.outbox if m.subject == "Your User ID was changed"]
    assert notice and notice[0].to == ["pat@example.com"]
    assert "from old.name1 to new.name2" in notice[0].body
    event = SecurityEvent.objects.get(kind="user_id_changed")
    assert event.detail["from"] == "old.name1" and event.actor is None


def test_new_user_id_works_for_sign_in_and_the_old_one_does_not(client, member, request_change, confirm):
    request_change()
    confirm(_code())
    client.logout()
    data = {"sign_in_view-current_step": "auth", "auth-password": DEFAULT_PASSWORD}
    assert client.post(reverse("two_factor:login"), {**data, "auth-username": "old.name1"}).status_code == 200
    assert client.post(reverse("two_factor:login"), {**data, "auth-username": "NEW.NAME2"}).status_code == 302


@pytest.mark.parametrize(
    ("new", "password", "message"),
    [
        ("ab", DEFAULT_PASSWORD, "6 to 20 characters"),
        ("old.name1", DEFAULT_PASSWORD, "already your User ID"),
        ("new.name2", "wrong-password-1", "That password is not right"),
        ("", DEFAULT_PASSWORD, "Enter the new User ID"),
    ],
)
def test_bad_input_changes_nothing(member, request_change, new, password, message):
    response = request_change(new, password)
    assert message in response.content.decode()
    member.refresh_from_db()
    assert member.username == "old.name1"
    assert not mail.outbox


def test_taken_user_id_is_refused(member, request_change):
    UserFactory(username="Taken.Name")
    assert "is taken" in request_change("taken.name").content.decode()


def test_wrong_code_changes_nothing(member, request_change, confirm):
    request_change()
    wrong = f"{(int(_code()) + 1) % 1_000_000:06d}"
    assert "That code is not right" in confirm(wrong).content.decode()
    member.refresh_from_db()
    assert member.username == "old.name1"


def test_only_once_in_twelve_months(client, member):
    User.objects.filter(pk=member.pk).update(username_changed_at=timezone.now() - dt.timedelta(days=100))
    html = client.get(reverse("accounts:user_id_change")).content.decode()
    assert "once in 12 months" in html and "You can change it again from" in html
    response = client.post(
        reverse("accounts:user_id_change"), {"new_username": "x.y.z.1", "password": DEFAULT_PASSWORD}
    )
    member.refresh_from_db()
    assert member.username == "old.name1"
    assert 'name="new_username"' not in response.content.decode()


def test_staff_may_change_it_any_time_with_a_reason(member, django_capture_on_commit_callbacks):
    staff = UserFactory(cardholder=None, is_staff=True)
    User.objects.filter(pk=member.pk).update(username_changed_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        services.user_id_change(user=member, new_username="staff.set1", actor=staff, reason="verified by phone")
    member.refresh_from_db()
    assert member.username == "staff.set1"
    event = SecurityEvent.objects.get(kind="user_id_changed")
    assert event.actor == staff and event.detail["reason"] == "verified by phone"
    assert "by our customer service team" in mail.outbox[0].body


def test_staff_unlock_ends_the_lock_and_is_logged(client):
    user = UserFactory(email_verified_at=None)
    agent = UserFactory(cardholder=None, is_staff=True)
    data = {"sign_in_view-current_step": "auth", "auth-username": user.username}
    for i in range(3):
        client.post(reverse("two_factor:login"), {**data, "auth-password": f"wrong-{i}-password"})
    assert client.post(reverse("two_factor:login"), {**data, "auth-password": DEFAULT_PASSWORD}).status_code == 429
    identity_verification_record(user=user, staff=agent, method="phone_call", checks=["date_of_birth", "postal_code"])
    assert services.sign_in_unlock(user=user, actor=agent, reason="caller verified") >= 1
    assert client.post(reverse("two_factor:login"), {**data, "auth-password": DEFAULT_PASSWORD}).status_code == 302
    assert SecurityEvent.objects.filter(kind="unlocked", actor=agent, user=user).exists()
