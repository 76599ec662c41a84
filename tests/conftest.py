import os

import pytest
from django.test import Client
from hypothesis import settings as hypothesis_settings

from tests.factories import UserFactory, force_login_without_code, issue_card, open_account, staff_session_confirm

# The card-data scanner over logs, pages, messages, files and the database; active only
# when CARD_DATA_SCAN_DIR is set (make scan).
pytest_plugins = ["tests.carddata_plugin"]

# Hypothesis profiles: "ci" (the default) is reproducible and quick; "dev" explores more.
# Choose with HYPOTHESIS_PROFILE=dev. No deadline: a request's time depends on the machine.
hypothesis_settings.register_profile(
    "ci", derandomize=True, max_examples=25, deadline=None, print_blob=True, database=None
)
hypothesis_settings.register_profile("dev", max_examples=200, deadline=None)  # keeps failures in .hypothesis/
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _isolated_outbox_and_media(settings, tmp_path):
    """Each test writes email, SMS and files under its own temporary folder."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.OUTBOX_DIR = tmp_path / "outbox"
    settings.SMS_FILE_PATH = tmp_path / "outbox" / "sms"
    settings.EMAIL_FILE_PATH = tmp_path / "outbox" / "email"
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def cardholder_with_card(db):
    """A user holding one active basic charge card; returns (user, issued_card).

    The login has no verified contact, so it signs in with the password alone: tests of
    the second step (device recognition) are in tests/accounts/test_step_up.py."""
    user = UserFactory(email_verified_at=None)
    account = open_account(holder=user.cardholder)
    return user, issue_card(account=account)


@pytest.fixture(autouse=True)
def _clean_cache():
    """Counters such as the per-network sign-in limit live in the cache: start each test
    clean. With Redis, only this test process's keys (its KEY_PREFIX) are removed."""
    from django.core.cache import cache

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()
    yield


@pytest.fixture(autouse=True)
def _staff_logins_confirmed_with_an_app(monkeypatch):
    """A test's force_login() stands for a finished sign-in. For staff that always
    includes the authenticator app's code (accounts.views.sign_in), so it also marks the
    session confirmed, as the staff console requires. Tests of the console's gate use
    tests.factories.force_login_without_code."""

    def force_login(self, user, backend=None):
        force_login_without_code(self, user, backend)
        if user.is_staff:
            staff_session_confirm(self, user)

    monkeypatch.setattr(Client, "force_login", force_login)
