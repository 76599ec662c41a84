"""A borrowed, signed-in browser cannot be used to guess the password: every form that
asks for the current password shares the count of the "confirm it's you" page
(security.reauth), and 5 wrong passwords in 30 minutes end the session."""

from collections.abc import Callable
from dataclasses import dataclass
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from security import reauth, two_step
from security.models import OneTimeCode, SecurityEvent
from tests.factories import DEFAULT_PASSWORD, UserFactory, two_step_app_on

pytestmark = pytest.mark.django_db

LOGGED_OUT = "Too many wrong passwords. For your security, we've logged you out."
NEW_PASSWORD = "Harbor-lantern-5821-q"


@dataclass(frozen=True)
class PasswordForm:
    url_name: str
    wrong_message: str
    step: str
    accepted_to: str  # where the right password leads
    data: Callable[[str], dict]
    unchanged: Callable[[User], bool]  # the form's change was not made for this user
    prepare: Callable[[User], object] = lambda user: None

    def post(self, client: Client, password: str):
        return client.post(reverse(self.url_name), self.data(password))


def _password_unchanged(user: User) -> bool:
    user.refresh_from_db()
    return user.check_password(DEFAULT_PASSWORD) and not user.check_password(NEW_PASSWORD)


def _user_id_unchanged(user: User) -> bool:
    code_sent = OneTimeCode.objects.filter(user=user, purpose=OneTimeCode.Purpose.USER_ID_CHANGE).exists()
    return User.objects.get(pk=user.pk).username != "brand.new.id" and not code_sent


FORMS = [
    PasswordForm(
        url_name="security:two_step_app_remove",
        wrong_message="That is not your password. Check it and try again",
        step="two_step_off",
        accepted_to="security:two_step",
        data=lambda password: {"password": password},
        unchanged=lambda user: two_step.two_step_device(user=user) is not None,
        prepare=two_step_app_on,
    ),
    PasswordForm(
        url_name="accounts:user_id_change",
        wrong_message="That password is not right",
        step="user_id_change",
        accepted_to="accounts:user_id_confirm",
        data=lambda password: {"new_username": "brand.new.id", "password": password},
        unchanged=_user_id_unchanged,
    ),
    PasswordForm(
        url_name="security:password",
        wrong_message="That is not your current password",
        step="password_change",
        accepted_to="security:overview",
        data=lambda password: {
            "current_password": password,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
        unchanged=_password_unchanged,
    ),
]
IDS = ["two_step_off", "user_id_change", "password_change"]


@pytest.fixture
def member():
    return UserFactory(email="robin@example.com")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_text(response) -> str:
    return unescape(response.content.decode())


@pytest.mark.parametrize("form", FORMS, ids=IDS)
def test_a_wrong_current_password_is_explained_logged_and_changes_nothing(member, form):
    form.prepare(member)
    client = signed_in(member)
    response = form.post(client, "not-my-password-1")
    assert response.status_code == 200
    assert form.wrong_message in page_text(response)
    assert response.wsgi_request.user.is_authenticated
    assert form.unchanged(member)
    event = SecurityEvent.objects.get(user=member, kind="sign_in_failed")
    assert event.detail == {"reason": "bad_password", "step": form.step}


@pytest.mark.parametrize("form", FORMS, ids=IDS)
def test_five_wrong_current_passwords_sign_the_session_out_and_change_nothing(member, form):
    form.prepare(member)
    client = signed_in(member)
    pages = [form.post(client, f"guess-number-{i}-x") for i in range(reauth.MAX_WRONG_PASSWORDS - 1)]
    assert {page.status_code for page in pages} == {200}
    assert client.get(reverse("security:overview")).wsgi_request.user.is_authenticated

    response = form.post(client, "guess-number-last-x")

    assert (response.status_code, response["Location"]) == (302, reverse("two_factor:login"))
    assert LOGGED_OUT in page_text(client.get(response["Location"]))
    # The session is over: even the right password now changes nothing.
    after = form.post(client, DEFAULT_PASSWORD)
    assert not after.wsgi_request.user.is_authenticated
    assert form.unchanged(member)


@pytest.mark.parametrize("form", FORMS, ids=IDS)
def test_a_few_wrong_passwords_are_logged_and_the_right_one_still_works(member, form):
    form.prepare(member)
    client = signed_in(member)
    for i in range(reauth.MAX_WRONG_PASSWORDS - 1):
        form.post(client, f"guess-number-{i}-x")
    response = form.post(client, DEFAULT_PASSWORD)
    assert (response.status_code, response["Location"]) == (302, reverse(form.accepted_to))
    assert response.wsgi_request.user.is_authenticated
    logged = SecurityEvent.objects.filter(user=member, kind="sign_in_failed", detail__step=form.step)
    assert logged.count() == reauth.MAX_WRONG_PASSWORDS - 1


def test_wrong_passwords_on_different_forms_add_up_to_one_limit(member):
    two_step_off, user_id_change, password_change = FORMS
    two_step_app_on(member)
    client = signed_in(member)
    confirm = {"action": "password", "password": "guess-number-0-x"}
    assert client.post(reverse("security:confirm"), confirm).status_code == 200
    assert two_step_off.post(client, "guess-number-1-x").status_code == 200
    assert user_id_change.post(client, "guess-number-2-x").status_code == 200
    assert password_change.post(client, "guess-number-3-x").status_code == 200
    assert client.get(reverse("security:overview")).wsgi_request.user.is_authenticated

    response = user_id_change.post(client, "guess-number-4-x")

    assert response["Location"] == reverse("two_factor:login")
    assert not client.get(reverse("security:overview")).wsgi_request.user.is_authenticated
    assert all(form.unchanged(member) for form in FORMS)


def test_the_right_password_on_any_of_the_forms_starts_the_count_again(member):
    _, user_id_change, password_change = FORMS
    client = signed_in(member)
    for i in range(reauth.MAX_WRONG_PASSWORDS - 1):
        password_change.post(client, f"guess-number-{i}-x")
    # The right password with a User ID that cannot be had: refused, but it was them.
    refused = client.post(reverse(user_id_change.url_name), {"new_username": "x", "password": DEFAULT_PASSWORD})
    assert refused.status_code == 200
    for i in range(reauth.MAX_WRONG_PASSWORDS - 1):
        assert password_change.post(client, f"guess-again-{i}-x").status_code == 200
    assert client.get(reverse("security:overview")).wsgi_request.user.is_authenticated
    assert password_change.post(client, "guess-again-last-x")["Location"] == reverse("two_factor:login")
