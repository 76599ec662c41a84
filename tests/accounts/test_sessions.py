import time

import pytest
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, cardholder_with_card):
    user, _ = cardholder_with_card
    response = client.post(
        reverse("two_factor:login"),
        {"sign_in_view-current_step": "auth", "auth-username": user.username, "auth-password": DEFAULT_PASSWORD},
    )
    assert response.status_code == 302
    return client


def _age_session(client, *, idle: int = 0, since_sign_in: int = 0):
    session = client.session
    now = int(time.time())
    session["last_activity"] = now - idle
    session["signed_in_at"] = now - max(idle, since_sign_in)
    session.save()


def test_activity_within_the_idle_limit_keeps_the_session(signed_in, settings):
    _age_session(signed_in, idle=settings.SESSION_IDLE_TIMEOUT - 30)
    assert signed_in.get(reverse("cards:list")).status_code == 200


def test_idle_for_15_minutes_signs_out_with_a_message(signed_in, settings):
    assert settings.SESSION_IDLE_TIMEOUT == 15 * 60
    _age_session(signed_in, idle=settings.SESSION_IDLE_TIMEOUT + 1)
    response = signed_in.get(reverse("cards:list"), follow=True)
    assert not response.wsgi_request.user.is_authenticated
    assert "signed out after 15 minutes without activity" in response.content.decode()
    assert response.redirect_chain[0][0].startswith(reverse("two_factor:login"))


def test_twelve_hours_after_sign_in_the_session_ends_even_when_active(signed_in):
    _age_session(signed_in, idle=10, since_sign_in=12 * 3600 + 1)
    response = signed_in.get(reverse("cards:list"), follow=True)
    assert not response.wsgi_request.user.is_authenticated
    assert "after 12 hours" in response.content.decode()


def test_polling_the_session_does_not_count_as_activity(signed_in, settings):
    _age_session(signed_in, idle=600)
    status = signed_in.get(reverse("accounts:session_status"), HTTP_ACCEPT="application/json").json()
    assert status["signed_in"] is True
    assert settings.SESSION_IDLE_TIMEOUT - 600 - 2 <= status["seconds_left"] <= settings.SESSION_IDLE_TIMEOUT - 600
    assert signed_in.session["last_activity"] <= int(time.time()) - 600


def test_expired_session_answers_json_pollers_with_401(signed_in, settings):
    _age_session(signed_in, idle=settings.SESSION_IDLE_TIMEOUT + 1)
    response = signed_in.get(reverse("accounts:session_status"), HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response.json() == {"signed_in": False}


def test_extending_resets_the_idle_clock(signed_in, settings):
    _age_session(signed_in, idle=settings.SESSION_IDLE_TIMEOUT - 60)
    response = signed_in.post(reverse("accounts:session_extend"), HTTP_ACCEPT="application/json")
    assert response.json()["seconds_left"] >= settings.SESSION_IDLE_TIMEOUT - 2


def test_extend_without_javascript_returns_to_a_safe_page(signed_in):
    response = signed_in.post(reverse("accounts:session_extend"), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("portal:home")
    response = signed_in.post(reverse("accounts:session_extend"), {"next": reverse("cards:list")})
    assert response["Location"] == reverse("cards:list")


# --- "Where you're signed in": last seen, without a query on every page -------------------


def _usersession_queries(client, url) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in queries.captured_queries if "security_usersession" in q["sql"]]


def _row(client):
    from security.models import UserSession

    return UserSession.objects.get(session_key=client.session.session_key)


def test_pages_within_a_minute_do_not_touch_the_session_row(signed_in):
    from security.sessions import TOUCH_EVERY

    row = _row(signed_in)
    row.last_seen_at -= TOUCH_EVERY * 5
    row.save(update_fields=["last_seen_at"])
    assert len(_usersession_queries(signed_in, reverse("cards:list"))) == 1  # the first page records activity
    seen = _row(signed_in).last_seen_at
    assert seen > row.last_seen_at
    assert _usersession_queries(signed_in, reverse("cards:list")) == []
    assert _usersession_queries(signed_in, reverse("cards:list")) == []
    assert _row(signed_in).last_seen_at == seen


def test_a_minute_later_the_next_page_records_activity_again(signed_in):
    from security.sessions import _TOUCHED, TOUCH_EVERY

    signed_in.get(reverse("cards:list"))
    row = _row(signed_in)
    row.last_seen_at -= TOUCH_EVERY * 5
    row.save(update_fields=["last_seen_at"])
    session = signed_in.session
    session[_TOUCHED] -= int(TOUCH_EVERY.total_seconds()) + 1
    session.save()
    assert len(_usersession_queries(signed_in, reverse("cards:list"))) == 1
    assert _row(signed_in).last_seen_at > row.last_seen_at


@pytest.mark.parametrize("stored", ["not a time", None, 10**12])
def test_a_touch_time_that_is_not_a_past_time_is_ignored(signed_in, stored):
    from security.sessions import _TOUCHED, TOUCH_EVERY

    row = _row(signed_in)
    row.last_seen_at -= TOUCH_EVERY * 5
    row.save(update_fields=["last_seen_at"])
    session = signed_in.session
    session[_TOUCHED] = stored
    session.save()
    assert len(_usersession_queries(signed_in, reverse("cards:list"))) == 1
    assert _row(signed_in).last_seen_at > row.last_seen_at
