from unittest import mock

import pytest
from django.db import DatabaseError
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def test_home_offers_log_in_and_enroll(client):
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    assert reverse("two_factor:login") in response.content.decode()
    assert b"Enroll" in response.content


def test_home_sends_a_strict_content_security_policy(client):
    csp = client.get(reverse("portal:home"))["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp


def test_health_reports_the_database(client):
    # /healthz is the older name of /readyz (tests/portal/test_health.py).
    response = client.get(reverse("portal:health"))
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


def test_health_is_503_when_the_database_is_unreachable(client):
    with mock.patch("portal.health.connections", {"default": mock.Mock(cursor=mock.Mock(side_effect=DatabaseError))}):
        response = client.get(reverse("portal:health"))
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unreachable"


def test_card_list_requires_sign_in(client):
    response = client.get(reverse("cards:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor:login"))


def test_signed_in_home_goes_to_the_card_list(client, cardholder_with_card):
    user, _ = cardholder_with_card
    client.force_login(user)
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("cards:list")


def test_card_list_shows_masked_cards_only(client, cardholder_with_card):
    user, issued = cardholder_with_card
    client.force_login(user)
    response = client.get(reverse("cards:list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"•••• {issued.card.last4}" in html
    assert issued.pan not in html
    assert issued.pan[:6] + issued.pan[6:10] not in html


def test_card_list_shows_nothing_of_another_users_cards(client, cardholder_with_card, other_user):
    _, issued = cardholder_with_card
    client.force_login(other_user)
    html = client.get(reverse("cards:list")).content.decode()
    assert f"•••• {issued.card.last4}" not in html


def test_signed_in_pages_are_never_cached(client, cardholder_with_card):
    user, _ = cardholder_with_card
    client.force_login(user)
    assert "no-store" in client.get(reverse("cards:list"))["Cache-Control"]


def test_sign_in_with_user_id_and_password_reaches_the_cards(client, cardholder_with_card):
    user, issued = cardholder_with_card
    response = client.post(
        reverse("two_factor:login"),
        {
            "sign_in_view-current_step": "auth",
            "auth-username": user.username.upper(),
            "auth-password": DEFAULT_PASSWORD,
        },
        follow=True,
    )
    assert response.status_code == 200
    assert response.wsgi_request.user == user
    assert f"•••• {issued.card.last4}" in response.content.decode()


def test_wrong_password_does_not_sign_in(client, cardholder_with_card):
    user, _ = cardholder_with_card
    response = client.post(
        reverse("two_factor:login"),
        {"sign_in_view-current_step": "auth", "auth-username": user.username, "auth-password": "wrong-password-1"},
    )
    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated


def test_sign_out_ends_the_session_on_the_server(client, cardholder_with_card):
    from django.contrib.sessions.models import Session

    user, _ = cardholder_with_card
    client.force_login(user)
    assert Session.objects.count() == 1
    response = client.post(reverse("accounts:sign_out"))
    assert response.status_code == 302
    assert Session.objects.count() == 0
    assert client.get(reverse("cards:list")).status_code == 302


def test_sign_out_refuses_get(client, cardholder_with_card):
    user, _ = cardholder_with_card
    client.force_login(user)
    assert client.get(reverse("accounts:sign_out")).status_code == 405
