"""Start-up rules: production refuses to run without its secrets; development makes
its own once."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ("SECRET_KEY", "CARD_PAN_HASH_KEY", "CARD_VERIFICATION_KEY", "PROCESSOR_WEBHOOK_SECRET")


def _start(env_overrides: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS and k != "DJANGO_SETTINGS_MODULE"}
    env.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "VAR_DIR": str(tmp_path / "var")})
    env.update(env_overrides)
    code = "import django; django.setup(); from django.conf import settings; print('started', settings.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("missing", SECRETS)
def test_production_refuses_to_start_without_each_secret(tmp_path, missing):
    env = {name: "x" * 50 for name in SECRETS if name != missing}
    env["DEBUG"] = "false"
    result = _start(env, tmp_path)
    assert result.returncode != 0
    assert "Missing required secret(s): " + missing in result.stderr
    assert "started" not in result.stdout


def test_production_starts_with_all_secrets(tmp_path):
    env = {name: "x" * 50 for name in SECRETS}
    env["DEBUG"] = "false"
    result = _start(env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "started False" in result.stdout


def test_development_generates_secrets_once_into_var(tmp_path):
    first = _start({"DEBUG": "true"}, tmp_path)
    assert first.returncode == 0, first.stderr
    secrets_file = tmp_path / "var" / "dev-secrets.env"
    content = secrets_file.read_text()
    assert all(f"{name}=" in content for name in SECRETS)
    assert secrets_file.stat().st_mode & 0o077 == 0  # readable by the owner only
    second = _start({"DEBUG": "true"}, tmp_path)
    assert second.returncode == 0, second.stderr
    assert secrets_file.read_text() == content


def test_secrets_file_is_ignored_by_git():
    result = subprocess.run(
        ["git", "check-ignore", "var/dev-secrets.env"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0


def test_first_password_hasher_is_argon2id_at_owasp_parameters():
    from argon2 import Type

    from portal import settings as real_settings
    from portal.hashers import OWASPArgon2PasswordHasher

    assert real_settings.PASSWORD_HASHERS[0] == "portal.hashers.OWASPArgon2PasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in real_settings.PASSWORD_HASHERS
    hasher = OWASPArgon2PasswordHasher()
    encoded = hasher.encode("a-password-1234", hasher.salt())
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert hasher.params().type == Type.ID
    assert hasher.verify("a-password-1234", encoded)


def test_pbkdf2_hash_upgrades_to_argon2_on_check(db, settings):
    from django.contrib.auth.hashers import make_password

    from accounts.models import User

    settings.PASSWORD_HASHERS = [
        "portal.hashers.OWASPArgon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    user = User.objects.create_user("legacy.user", password=None)
    user.password = make_password("old-password-123", hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    assert user.check_password("old-password-123")
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")


def test_celery_is_eager_without_a_broker_and_not_with_one(tmp_path):
    code = "import django; django.setup(); from portal.celery import app; print('eager', app.conf.task_always_eager)"
    base = {"DEBUG": "true"}

    def eager(extra):
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in SECRETS and k not in ("DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL")
        }
        env.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "VAR_DIR": str(tmp_path / "var"), **base, **extra})
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert eager({}) == "eager True"
    assert eager({"CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}) == "eager False"


def test_celery_speaks_json_with_time_limits():
    from portal.celery import app

    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_time_limit == 300


# --- Production headers and cookies -------------------------------------------------------


def _production_env(tmp_path: Path) -> dict[str, str]:
    import secrets

    env = {k: v for k, v in os.environ.items() if k not in SECRETS and not k.startswith(("SECURE_", "DJANGO_"))}
    env.update({name: secrets.token_urlsafe(50) for name in SECRETS})
    env.update(
        {
            "DEBUG": "false",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "ALLOWED_HOSTS": "portal.example.com",
            "VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        }
    )
    return env


def test_production_headers_and_cookies_are_strict(tmp_path):
    import json

    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({name: getattr(s, name) for name in ("
        "'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', "
        "'SESSION_COOKIE_NAME', 'SESSION_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'SESSION_COOKIE_DOMAIN', "
        "'SESSION_COOKIE_PATH', 'CSRF_COOKIE_NAME', 'CSRF_COOKIE_SECURE', 'CSRF_COOKIE_DOMAIN', 'CSRF_COOKIE_PATH', "
        "'DEVICE_COOKIE_NAME', 'TWO_FACTOR_REMEMBER_COOKIE_SECURE', 'X_FRAME_OPTIONS', 'SECURE_REFERRER_POLICY', "
        "'SECURE_CONTENT_TYPE_NOSNIFF', 'CONTENT_SECURITY_POLICY', 'LOG_FORMAT', 'DEBUG')}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    s = json.loads(result.stdout.strip().splitlines()[-1])
    assert s["DEBUG"] is False
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["SECURE_HSTS_SECONDS"] >= 31536000
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True and s["SECURE_HSTS_PRELOAD"] is True
    # __Host- cookies: Secure, no Domain, Path=/ (browsers reject them otherwise).
    assert s["SESSION_COOKIE_NAME"] == "__Host-sessionid"
    assert s["CSRF_COOKIE_NAME"] == "__Host-csrftoken"
    assert s["DEVICE_COOKIE_NAME"] == "__Host-portal_device"
    assert s["SESSION_COOKIE_SECURE"] is True and s["CSRF_COOKIE_SECURE"] is True
    assert s["SESSION_COOKIE_HTTPONLY"] is True
    assert s["TWO_FACTOR_REMEMBER_COOKIE_SECURE"] is True
    assert s["SESSION_COOKIE_DOMAIN"] is None and s["CSRF_COOKIE_DOMAIN"] is None
    assert s["SESSION_COOKIE_PATH"] == "/" and s["CSRF_COOKIE_PATH"] == "/"
    assert s["X_FRAME_OPTIONS"] == "DENY"
    assert s["SECURE_REFERRER_POLICY"] == "same-origin"
    assert s["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    directives = s["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert not [v for values in directives.values() for v in values if "unsafe" in v]
    assert s["LOG_FORMAT"] == "json"


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.django_db
def test_pages_send_the_security_headers(client):
    response = client.get("/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Request-ID"]
