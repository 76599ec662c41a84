"""Liveness and readiness probes, and what a database or Redis outage looks like to a
person using the portal (portal/health.py, portal/middleware.py)."""

from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.test import Client, override_settings
from django.urls import reverse

from portal import health

pytestmark = pytest.mark.django_db

# A port nothing listens on: connections are refused at once.
DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture(autouse=True)
def _fresh_migration_state():
    health.reset_migration_state()
    yield
    health.reset_migration_state()


def _database_down():
    broken = mock.Mock(cursor=mock.Mock(side_effect=OperationalError("connection refused")))
    return mock.patch("portal.health.connections", {"default": broken})


def test_probe_urls_are_where_load_balancers_expect_them():
    assert reverse("portal:liveness") == "/livez"
    assert reverse("portal:readiness") == "/readyz"
    assert reverse("portal:health") == "/healthz"


def test_liveness_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0), _database_down():
        response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_readiness_names_each_check(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "cache": "ok", "broker": "not configured"},
    }


def test_healthz_is_an_alias_of_readiness(client):
    assert client.get("/healthz").json() == client.get("/readyz").json()


def test_readiness_is_503_and_names_the_database_when_it_is_down(client):
    with _database_down():
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "unreachable"
    assert body["checks"]["migrations"] == "not checked"
    assert "connection refused" not in response.content.decode()  # details go to the log only


def test_readiness_is_503_while_migrations_are_unapplied(client):
    pending = [(mock.Mock(app_label="cards", spec=["app_label", "name"]), False)]
    pending[0][0].name = "0099_new"
    with mock.patch("portal.health.MigrationExecutor.migration_plan", return_value=pending):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "1 unapplied"


def test_migrations_newer_than_this_code_do_not_make_a_node_unready(client):
    # During a rolling deploy the new release migrates first; old nodes must stay in.
    newer = mock.Mock(app_label="cards", spec=["app_label", "name"])
    newer.name = "0099_new"
    with mock.patch("portal.health.MigrationExecutor.migration_plan", return_value=[(newer, True)]):
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["migrations"] == "ok"


def test_readiness_reports_a_cache_outage_as_degraded_by_default(client):
    with mock.patch("portal.health.cache.get", return_value=None):
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["cache"] == "unreachable"


def test_readiness_fails_on_the_cache_when_it_is_required(client, settings):
    settings.READINESS_REQUIRED_CHECKS = ["database", "migrations", "cache"]
    with mock.patch("portal.health.cache.set", side_effect=ConnectionError("down")):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == "unreachable"


def test_readiness_checks_the_broker_when_one_is_configured(client, settings, monkeypatch):
    from celery import Celery

    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery prefers it to broker=
    settings.CELERY_BROKER_URL = DEAD_REDIS
    settings.READINESS_REQUIRED_CHECKS = ["database", "migrations", "broker"]
    with mock.patch("portal.health._celery_app", return_value=Celery("probe", broker=DEAD_REDIS, set_as_current=False)):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "unreachable"


def test_readiness_reports_a_reachable_broker(client, settings, monkeypatch):
    from celery import Celery

    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery prefers it to broker=
    settings.CELERY_BROKER_URL = "memory://"
    with mock.patch(
        "portal.health._celery_app", return_value=Celery("probe", broker="memory://", set_as_current=False)
    ):
        response = client.get("/readyz")
    assert response.json()["checks"]["broker"] == "ok"


@override_settings(ALLOWED_HOSTS=["portal.example.com"], SECURE_SSL_REDIRECT=True)
def test_probes_answer_a_load_balancer_on_plain_http_by_address():
    client = Client()
    for path in ("/livez", "/readyz", "/healthz"):
        response = client.get(path, HTTP_HOST="10.0.0.12:8000")
        assert response.status_code == 200, path
    # Every other page still refuses an unknown host and redirects to HTTPS.
    assert client.get("/", HTTP_HOST="10.0.0.12:8000").status_code == 400
    assert client.get("/", HTTP_HOST="portal.example.com").status_code == 301


def test_probes_are_exempt_from_the_https_redirect():
    import re

    for path in ("livez", "readyz", "healthz"):
        assert any(re.search(pattern, path) for pattern in django_settings.SECURE_REDIRECT_EXEMPT)


def test_probes_need_no_sign_in_and_set_no_cookie(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert not response.cookies


def test_probes_refuse_writes(client):
    assert client.post("/readyz").status_code == 405


# --- The friendly 503 -------------------------------------------------------------------


@pytest.mark.parametrize("error", [OperationalError("server closed the connection"), InterfaceError("closed")])
def test_database_outage_in_a_view_shows_the_friendly_503(client, caplog, error):
    with mock.patch("portal.views.render", side_effect=error):
        response = client.get(reverse("portal:home"))
    html = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == str(django_settings.SERVICE_UNAVAILABLE_RETRY_AFTER)
    assert "Sorry, the service is unavailable" in html
    assert "Nothing has changed on your account" in html
    assert f"Reference: {response['X-Request-ID']}" in html
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    outage_lines = [r for r in caplog.records if r.name == "portal.outage"]
    assert len(outage_lines) == 1
    assert outage_lines[0].levelname == "WARNING"
    # Django's own ERROR line with a traceback is not added on top.
    assert not [r for r in caplog.records if r.name == "django.request"]


def test_database_outage_while_loading_the_session_shows_the_friendly_503(cardholder_with_card, caplog):
    user, _ = cardholder_with_card
    client = Client(raise_request_exception=False)
    client.force_login(user)
    with mock.patch(
        "django.contrib.sessions.backends.cached_db.SessionStore.load", side_effect=OperationalError("restarting")
    ):
        response = client.get(reverse("cards:list"))
    assert response.status_code == 503
    assert "Sorry, the service is unavailable" in response.content.decode()
    assert len([r for r in caplog.records if r.name == "portal.outage"]) == 1
    assert not [r for r in caplog.records if r.name == "django.request" and r.levelname == "ERROR"]


def test_other_database_errors_still_get_the_500_page_with_a_reference():
    client = Client(raise_request_exception=False)
    with mock.patch("portal.views.render", side_effect=DatabaseError("syntax error")):
        response = client.get(reverse("portal:home"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in html
    assert f"Reference: {response['X-Request-ID']}" in html


def test_portal_recovers_after_the_outage(client):
    with mock.patch("portal.views.render", side_effect=OperationalError("down")):
        assert client.get(reverse("portal:home")).status_code == 503
    assert client.get(reverse("portal:home")).status_code == 200


# --- Redis down ---------------------------------------------------------------------------


def _redis_cache_settings():
    """CACHES as portal/settings.py builds them for a Redis CACHE_URL (read in a fresh
    process, so this is the real configuration), pointed at a dead port."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "CACHE_URL": DEAD_REDIS, "DJANGO_SETTINGS_MODULE": "portal.settings_test"}
    code = "import json, django; django.setup(); from django.conf import settings; print(json.dumps(settings.CACHES))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_redis_cache_ignores_errors_and_gives_up_fast():
    caches = _redis_cache_settings()
    options = caches["default"]["OPTIONS"]
    assert caches["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    assert options["IGNORE_EXCEPTIONS"] is True
    assert options["SOCKET_CONNECT_TIMEOUT"] <= 1
    assert options["SOCKET_TIMEOUT"] <= 1


def test_pages_and_sessions_keep_working_with_redis_down(cardholder_with_card):
    user, issued = cardholder_with_card
    client = Client()
    client.force_login(user)  # the session is in the database (cached_db)
    with override_settings(CACHES=_redis_cache_settings()):
        response = client.get(reverse("cards:list"))
        ready = client.get("/readyz")
    assert response.status_code == 200
    assert f"•••• {issued.card.last4}" in response.content.decode()
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["cache"] == "unreachable"


def test_counters_count_nothing_rather_than_fail_with_redis_down(user):
    from security import reauth

    with override_settings(CACHES=_redis_cache_settings()):
        assert reauth.wrong_password_count(user) == 0


def _save_card_choice(client, card):
    """A request whose session must be saved: choosing a card is remembered in it."""
    return client.get(reverse("cards:list"), {"card": card.card.pk})


@pytest.mark.parametrize(
    "error", [OperationalError("terminating connection"), InterfaceError("connection already closed")]
)
def test_database_outage_while_saving_the_session_shows_the_friendly_503(cardholder_with_card, caplog, error):
    # Django turns any database error on a session update into a 400 "session
    # interrupted"; a restart in that moment is an outage like any other (seen in the
    # PostgreSQL restart fault script).
    user, card = cardholder_with_card
    client = Client(raise_request_exception=False)
    client.force_login(user)
    with mock.patch("django.contrib.sessions.models.Session.save", side_effect=error):
        response = _save_card_choice(client, card)
    assert response.status_code == 503
    assert "Sorry, the service is unavailable" in response.content.decode()
    assert response["Retry-After"] == str(django_settings.SERVICE_UNAVAILABLE_RETRY_AFTER)


def test_other_database_errors_while_saving_the_session_keep_djangos_answer(cardholder_with_card):
    user, card = cardholder_with_card
    client = Client(raise_request_exception=False)
    client.force_login(user)
    with mock.patch("django.contrib.sessions.models.Session.save", side_effect=DatabaseError("value too long")):
        response = _save_card_choice(client, card)
    assert response.status_code == 400


def test_database_outage_answers_the_processor_webhook_in_json(client):
    # The processor parses JSON errors and retries on 503; an HTML page is not for it.
    with (
        mock.patch("cards.webhook._authentication_problem", return_value=""),
        mock.patch("cards.webhook.processing.processor_event_handle", side_effect=OperationalError("down")),
    ):
        response = client.post(
            reverse("cards:processor_webhook"),
            data=b'{"event_id": "e-1", "type": "reversal", "network_id": "n-1"}',
            content_type="application/json",
        )
    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"
    assert response["Retry-After"] == str(django_settings.SERVICE_UNAVAILABLE_RETRY_AFTER)
