"""After changing the password, the browser that changed it must still be listed as an
active session and still be reachable by "sign out other sessions" from elsewhere."""

import pytest
from django.urls import reverse

from security.models import UserSession
from tests.factories import DEFAULT_PASSWORD, UserFactory, signed_in_client

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Meadow-Signal-8842"


@pytest.fixture
def member():
    return UserFactory(email_verified_at=None, email="lee@example.com")


def change_password(client):
    response = client.post(
        reverse("security:password"),
        {"current_password": DEFAULT_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302


def test_the_session_that_changed_the_password_is_still_listed(member):
    me = signed_in_client(member)
    change_password(me)
    key = me.session.session_key
    assert UserSession.objects.filter(session_key=key, ended_at__isnull=True).exists()


def test_sign_out_other_sessions_elsewhere_reaches_the_browser_that_changed_the_password(member):
    first = signed_in_client(member)
    change_password(first)
    second = signed_in_client(member, NEW_PASSWORD)
    second.post(reverse("security:sessions_end_others"))
    assert first.get(reverse("cards:list")).status_code == 302
