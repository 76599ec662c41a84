"""Forgot password: wrong reset codes are counted against the User ID across attempts
and networks, and a code that was never sent unlocks nothing."""

from itertools import count

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.views.recovery import SESSION_KEY
from security import codes
from security.models import OneTimeCode, SecurityEvent
from tests.accounts.test_recovery import NEW_PASSWORD, page_text, start_data, strip_tokens
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RESET = "recovery:password"
CODE = "recovery:password_code"
NEW = "recovery:password_new"

CAP = 10  # wrong codes per User ID in 24 hours (accounts.recovery)
RIGHT, WRONG = "424242", "111111"
PAUSED = (
    "There have been too many wrong codes for this User ID. For your security, password reset for it is "
    "paused for up to 24 hours. Call the number on the back of your card if you need help now."
)
_networks = count(1)


@pytest.fixture(autouse=True)
def known_code(monkeypatch):
    monkeypatch.setattr(codes, "_generate_code", lambda: RIGHT)


@pytest.fixture
def member():
    return UserFactory()


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """POST and deliver whatever the request put in the outbox."""

    def _post(client, name, data=None):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse(name), data or {})

    return _post


def new_network() -> Client:
    n = next(_networks)
    return Client(REMOTE_ADDR=f"198.51.{n // 250}.{n % 250 + 1}")


def started(post, username, dob) -> Client:
    """A client from a network of its own, at step 2 for ``username``."""
    client = new_network()
    assert post(client, RESET, start_data(username, dob=dob))["Location"] == reverse(CODE)
    return client


def guess_wrong(post, username, dob, guesses: int) -> None:
    """``guesses`` wrong codes for one User ID, each attempt from another network."""
    while guesses > 0:
        client = started(post, username, dob)
        for _ in range(min(guesses, codes.MAX_FAILED_ATTEMPTS)):
            post(client, CODE, {"code": WRONG})
            guesses -= 1


def test_wrong_codes_for_one_user_id_from_many_networks_pause_its_resets(member, post):
    dob = member.cardholder.date_of_birth
    waiting = started(post, member.username, dob)  # an attempt begun before the guessing
    guess_wrong(post, member.username, dob, CAP)

    # The right code no longer opens the new-password step: the attempt ends, and says why.
    response = post(waiting, CODE, {"code": RIGHT})
    assert response["Location"] == reverse(RESET)
    assert PAUSED in page_text(waiting.get(reverse(RESET)))
    assert waiting.get(reverse(NEW))["Location"] == reverse(RESET)
    event = SecurityEvent.objects.get(kind="password_reset", detail__reason="too_many_wrong_codes")
    assert (event.user, event.username_attempted) == (member, member.username)


def test_a_paused_user_id_gets_no_new_code_from_any_network(member, post):
    dob = member.cardholder.date_of_birth
    guess_wrong(post, member.username, dob, CAP)
    mail.outbox.clear()
    issued = OneTimeCode.objects.count()

    client = new_network()
    response = post(client, RESET, start_data(member.username.upper(), dob=dob))

    assert response.status_code == 429
    assert PAUSED in page_text(response)
    assert SESSION_KEY not in client.session
    assert OneTimeCode.objects.count() == issued
    assert mail.outbox == []
    assert post(client, CODE, {"code": RIGHT})["Location"] == reverse(RESET)


def test_asking_for_a_new_code_while_paused_ends_the_attempt_and_sends_nothing(member, post):
    dob = member.cardholder.date_of_birth
    waiting = started(post, member.username, dob)
    guess_wrong(post, member.username, dob, CAP)
    mail.outbox.clear()
    issued = OneTimeCode.objects.count()

    response = post(waiting, CODE, {"action": "resend"})

    assert response["Location"] == reverse(RESET)
    assert PAUSED in page_text(waiting.get(reverse(RESET)))
    assert (OneTimeCode.objects.count(), mail.outbox) == (issued, [])


def test_the_pause_reads_the_same_whether_or_not_the_user_id_exists(member, post):
    dob = member.cardholder.date_of_birth
    pages = []
    for username in (member.username, "nobody.here"):
        guess_wrong(post, username, dob, CAP)
        pages.append(post(new_network(), RESET, start_data(username, dob=dob)))
    assert {page.status_code for page in pages} == {429}
    assert strip_tokens(page_text(pages[0])) == strip_tokens(page_text(pages[1]))
    assert PAUSED in page_text(pages[0])


def test_a_right_code_still_works_after_a_few_wrong_ones_until_the_cap(member, post):
    dob = member.cardholder.date_of_birth
    guess_wrong(post, member.username, dob, CAP - 1)
    client = started(post, member.username, dob)
    assert post(client, CODE, {"code": RIGHT})["Location"] == reverse(NEW)
    # One more wrong code, from anywhere, reaches the cap.
    guess_wrong(post, member.username, dob, 1)
    assert post(new_network(), RESET, start_data(member.username, dob=dob)).status_code == 429


def test_a_finished_reset_starts_the_count_again(member, post):
    dob = member.cardholder.date_of_birth
    guess_wrong(post, member.username, dob, CAP - 1)
    client = started(post, member.username, dob)
    post(client, CODE, {"code": RIGHT})
    assert post(client, NEW, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}).status_code == 302
    guess_wrong(post, member.username, dob, CAP - 1)
    assert post(new_network(), RESET, start_data(member.username, dob=dob)).status_code == 302
    guess_wrong(post, member.username, dob, 1)
    assert post(new_network(), RESET, start_data(member.username, dob=dob)).status_code == 429


def test_a_code_held_back_by_the_per_user_cap_unlocks_nothing(member, post, settings):
    settings.RECOVERY_CODES_PER_USER = 1
    dob = member.cardholder.date_of_birth
    started(post, member.username, dob)
    assert len(mail.outbox) == 1
    client = started(post, member.username, dob)  # this one's code is never sent
    assert len(mail.outbox) == 1

    response = post(client, CODE, {"code": RIGHT})

    assert response.status_code == 200
    assert "That code is not right" in page_text(response)
    assert client.get(reverse(NEW))["Location"] == reverse(RESET)
