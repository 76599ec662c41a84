"""The session engine's own rules (portal/session_store.py)."""

import pytest
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.models import Session
from django.utils.crypto import get_random_string

from portal.session_store import SessionStore

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "cookie",
    ["x" * 5000, "short", "A" * 32, "a" * 31, "a" * 33, "a" * 31 + "\x00", "a" * 31 + "-", ""],
    ids=["huge", "short", "uppercase", "31", "33", "nul", "dash", "empty"],
)
def test_a_cookie_that_no_session_could_have_is_no_session(cookie, django_assert_num_queries):
    with django_assert_num_queries(0):
        store = SessionStore(session_key=cookie)
        assert store.session_key is None
        assert store.get("_auth_user_id") is None and not store.keys()


def test_a_real_session_key_is_kept_and_loaded():
    store = SessionStore()
    store["hello"] = "there"
    store.create()
    assert len(store.session_key) == 32 and set(store.session_key) <= set(VALID_KEY_CHARS)
    again = SessionStore(session_key=store.session_key)
    assert again.session_key == store.session_key and again["hello"] == "there"
    assert Session.objects.filter(session_key=store.session_key).exists()


def test_every_key_the_store_makes_is_one_it_accepts():
    for _ in range(50):
        key = get_random_string(32, VALID_KEY_CHARS)
        assert SessionStore(session_key=key).session_key == key


def test_a_huge_session_cookie_on_a_page_is_a_fresh_session(client):
    client.cookies["sessionid"] = "x" * 5000
    response = client.get("/account/login/")
    assert response.status_code == 200
