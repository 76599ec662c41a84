import time
from unittest import mock

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail
from django.urls import reverse

from accounts.signin import INVALID_LOGIN
from security.models import SecurityEvent
from security.services import user_id_as_recorded
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "two_factor:login"


def sign_in(client, username, password, **extra):
    return client.post(
        reverse(LOGIN),
        {"sign_in_view-current_step": "auth", "auth-username": username, "auth-password": password},
        **extra,
    )


@pytest.fixture
def member(cardholder_with_card):
    return cardholder_with_card[0]


def test_unknown_user_id_and_wrong_password_get_the_same_answer(client, member):
    unknown = sign_in(client, "nobody.here", "whatever-password-1")
    wrong = sign_in(client, member.username, "whatever-password-1")
    assert unknown.status_code == wrong.status_code == 200
    assert INVALID_LOGIN in unknown.content.decode()
    assert INVALID_LOGIN in wrong.content.decode()


def test_inactive_login_gets_the_same_answer(client, member):
    member.is_active = False
    member.save(update_fields=["is_active"])
    response = sign_in(client, member.username, DEFAULT_PASSWORD)
    assert INVALID_LOGIN in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


@pytest.mark.parametrize("case", ["unknown_user", "wrong_password", "right_password"])
def test_every_attempt_computes_exactly_one_password_hash(client, member, case):
    username = "nobody.here" if case == "unknown_user" else member.username
    password = DEFAULT_PASSWORD if case == "right_password" else "wrong-password-99"
    with mock.patch.object(MD5PasswordHasher, "encode", autospec=True, side_effect=MD5PasswordHasher.encode) as encode:
        sign_in(client, username, password)
    assert encode.call_count == 1


def test_user_id_is_case_insensitive(client, member):
    response = sign_in(client, member.username.upper(), DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert response.wsgi_request.user == member


def test_sign_in_gives_a_new_session_id(client, member):
    client.get(reverse(LOGIN))
    before = client.session.session_key
    sign_in(client, member.username, DEFAULT_PASSWORD)
    assert client.session.session_key != before
    assert client.session["signed_in_at"] <= int(time.time())


def test_outcomes_are_security_events_without_the_password(client, member):
    sign_in(client, "nobody.here", "secret-guess-1")
    sign_in(client, member.username, "secret-guess-2")
    sign_in(client, member.username, DEFAULT_PASSWORD, HTTP_USER_AGENT="TestBrowser/1.0")
    events = list(SecurityEvent.objects.order_by("created_at", "id"))
    assert [(e.kind, e.detail.get("reason")) for e in events] == [
        ("sign_in_failed", "unknown_user_id"),
        ("sign_in_failed", "bad_password"),
        ("sign_in_succeeded", None),
    ]
    assert events[0].user is None and events[0].username_attempted == "nobody.here"
    assert events[1].user == member
    assert events[2].ip_address == "127.0.0.1" and events[2].user_agent == "TestBrowser/1.0"
    dump = " ".join(f"{e.detail} {e.username_attempted} {e.user_agent}" for e in events)
    for secret in ("secret-guess-1", "secret-guess-2", DEFAULT_PASSWORD):
        assert secret not in dump


def test_three_wrong_passwords_from_an_unrecognized_device_lock_the_user_id(
    client, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        responses = [sign_in(client, member.username, f"wrong-password-{i}") for i in range(3)]
    assert [r.status_code for r in responses[:2]] == [200] * 2
    locked = responses[2]
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "Your account is temporarily locked" in html
    assert "Try again in 30 minutes" in html
    assert "call the number on the back of your card" in html
    # Even the right password is refused while locked.
    again = sign_in(client, member.username, DEFAULT_PASSWORD)
    assert again.status_code == 429
    assert not again.wsgi_request.user.is_authenticated


def test_a_remembered_device_is_allowed_five_wrong_passwords(client, member, rf):
    from django.http import HttpResponse

    from security.devices import device_trust

    request = rf.get("/", HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0")
    response = HttpResponse()
    device_trust(user=member, request=request, response=response)
    client.cookies[settings.DEVICE_COOKIE_NAME] = response.cookies[settings.DEVICE_COOKIE_NAME].value
    statuses = [sign_in(client, member.username, f"wrong-password-{i}").status_code for i in range(5)]
    assert statuses == [200, 200, 200, 200, 429]


def test_an_unknown_user_id_locks_after_as_many_tries_as_a_real_one(client):
    statuses = [sign_in(client, "made.up.user", f"wrong-password-{i}").status_code for i in range(3)]
    assert statuses == [200, 200, 429]


def test_a_lock_alerts_the_cardholder_once_and_is_logged(client, member, django_capture_on_commit_callbacks, settings):
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(7):
            sign_in(client, member.username, f"wrong-password-{i}")
    lock_emails = [m for m in mail.outbox if m.subject == "We locked your User ID"]
    assert len(lock_emails) == 1
    assert lock_emails[0].to == [member.email]
    assert len(list(settings.SMS_FILE_PATH.iterdir())) == 1
    assert SecurityEvent.objects.filter(kind="locked_out", user=member).exists()


def test_locking_one_user_id_does_not_lock_another(client, member):
    for i in range(3):
        sign_in(client, member.username, f"wrong-password-{i}")
    other = UserFactory(email_verified_at=None)
    response = sign_in(client, other.username, DEFAULT_PASSWORD)
    assert response.status_code == 302


def test_lock_ends_after_the_cool_off(client, member):
    from axes.models import AccessAttempt

    for i in range(3):
        sign_in(client, member.username, f"wrong-password-{i}")
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.first().attempt_time.replace(year=2000))
    response = sign_in(client, member.username, DEFAULT_PASSWORD)
    assert response.status_code == 302


def test_a_network_that_fails_too_often_is_stopped_across_user_ids(client, settings, member):
    settings.SIGN_IN_IP_FAILURE_LIMIT = 3
    for i in range(3):
        assert sign_in(client, f"stuffing{i:03d}", "password-123456").status_code == 200
    blocked = sign_in(client, member.username, DEFAULT_PASSWORD)
    assert blocked.status_code == 429
    assert "Too many attempts to log in" in blocked.content.decode()
    assert not blocked.wsgi_request.user.is_authenticated
    # A different network is not affected.
    assert sign_in(client, member.username, DEFAULT_PASSWORD, REMOTE_ADDR="198.51.100.7").status_code == 302


def test_forwarded_for_is_ignored_without_trusted_proxies(client, settings):
    settings.SIGN_IN_IP_FAILURE_LIMIT = 2
    for i in range(2):
        sign_in(client, f"stuffing{i:03d}", "password-123456", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    assert sign_in(client, "stuffing999", "password-123456", HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429


def test_signed_in_user_visiting_sign_in_goes_to_their_cards(client, member):
    client.force_login(member)
    assert client.get(reverse(LOGIN)).status_code == 302


# --- A card number typed into the User ID box -------------------------------------------


def grouped(pan: str, separator: str) -> str:
    """As printed on the card: 4-6-5."""
    return separator.join((pan[:4], pan[4:10], pan[10:]))


@pytest.mark.parametrize("separator", ["", " ", "-"], ids=["digits", "spaced", "hyphenated"])
def test_a_card_number_typed_as_the_user_id_is_stored_masked(client, cardholder_with_card, separator):
    _, issued = cardholder_with_card
    masked = f"•••• {issued.pan[-4:]}"

    typed = grouped(issued.pan, separator)

    response = sign_in(client, typed, "not-the-password-1")

    assert INVALID_LOGIN in response.content.decode()
    assert typed not in response.content.decode()  # not written back into the User ID box
    assert SecurityEvent.objects.get(kind=SecurityEvent.Kind.SIGN_IN_FAILED).username_attempted == masked
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == [masked]
    assert list(AccessFailureLog.objects.values_list("username", flat=True)) == [masked]


def test_a_user_id_typed_is_shown_again_after_a_wrong_password(client, member):
    response = sign_in(client, member.username, "not-the-password-1")

    assert f'value="{member.username}"' in response.content.decode()


def test_wrong_passwords_on_a_card_number_lock_it_by_its_masked_form(client, cardholder_with_card):
    _, issued = cardholder_with_card
    masked = f"•••• {issued.pan[-4:]}"

    statuses = [sign_in(client, issued.pan, f"wrong-password-{i}").status_code for i in range(3)]

    assert statuses == [200, 200, 429]
    assert SecurityEvent.objects.get(kind=SecurityEvent.Kind.LOCKED_OUT).username_attempted == masked
    assert list(AccessAttempt.objects.values_list("username", "failures_since_start")) == [(masked, 3)]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("123456789015", "•••• 9015"),  # 12 digits, Luhn-valid: the shortest card number
        ("1234567890123456785", "•••• 6785"),  # 19 digits, Luhn-valid: the longest
        ("1234 5678 9015", "•••• 9015"),
        ("12345678903", "12345678903"),  # 11 digits: too short for a card number
        ("12345678901234567894", "12345678901234567894"),  # 20 digits: too long
        ("4111111111111112", "4111111111111112"),  # fails the Luhn check
        ("١٢٣٤٥٦٧٨٩٠١٥", "١٢٣٤٥٦٧٨٩٠١٥"),  # not ASCII digits
        ("jsmith.1990", "jsmith.1990"),
    ],
)
def test_only_a_user_id_that_is_a_card_number_is_masked(typed, stored):
    assert user_id_as_recorded(typed) == stored
