import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from cards.models import CardCheckFailure
from cards.verification import Outcome, card_check
from security.models import SecurityEvent
from tests.factories import CardholderFactory, issue_card, open_account, shows_card_id

pytestmark = pytest.mark.django_db

IP = "203.0.113.10"


@pytest.fixture
def issued():
    holder = CardholderFactory(
        legal_name="Ann O'Brien", name_on_card="ANN OBRIEN", date_of_birth=dt.date(1980, 5, 17), postal_code="10001"
    )
    return issue_card(account=open_account(holder=holder), active=False)


def _wrong(card_id: str) -> str:
    return f"{(int(card_id) + 1) % 10000:04d}"


def check(issued, **overrides):
    facts = dict(
        pan=issued.pan,
        card_id=issued.card_id,
        purpose="enrollment",
        ip=IP,
        name="Ann O'Brien",
        date_of_birth=dt.date(1980, 5, 17),
    )
    facts.update(overrides)
    return card_check(**facts)


def test_all_facts_right_finds_the_card(issued):
    result = check(issued, pan=f" {issued.pan[:4]} {issued.pan[4:10]} {issued.pan[10:]} ", name="ann obrien")
    assert result.ok and result.card == issued.card


@pytest.mark.parametrize(
    "override",
    [
        {"card_id": "WRONG"},
        {"name": "Anne OBrien"},
        {"date_of_birth": dt.date(1980, 5, 18)},
        {"postal_code": "10002", "date_of_birth": None},
        {"expiry": (1, 2001)},
        {"pan": "4111111111111111"},
        {"pan": "not-a-number"},
        {"name": ""},
    ],
)
def test_any_wrong_fact_gives_the_same_mismatch(issued, override):
    if override.get("card_id") == "WRONG":
        override = {"card_id": _wrong(issued.card_id)}
    result = check(issued, **override)
    assert result.outcome is Outcome.MISMATCH
    assert result.card is None
    assert "don't match our records" in result.message
    assert CardCheckFailure.objects.count() == 1


def test_postal_code_may_stand_in_for_date_of_birth(issued):
    assert check(issued, date_of_birth=None, postal_code=" 10001 ").ok


def test_five_failures_lock_the_card_for_24_hours_and_alert_the_holder(issued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        results = [check(issued, card_id=_wrong(issued.card_id)).outcome for _ in range(5)]
    assert results == [Outcome.MISMATCH] * 4 + [Outcome.LOCKED]
    issued.card.refresh_from_db()
    assert issued.card.verification_locked_until > timezone.now() + dt.timedelta(hours=23)
    # Even the right details are refused while locked, and the lock is not counted again.
    assert check(issued).outcome is Outcome.LOCKED
    assert SecurityEvent.objects.filter(kind="card_id_attempts_exceeded").count() == 1
    assert [m.subject for m in mail.outbox] == ["Someone tried to use your card details"]
    assert not shows_card_id(mail.outbox[0].body, issued.card_id)
    assert issued.pan not in mail.outbox[0].body


def test_lock_lifts_after_24_hours(issued):
    for _ in range(5):
        check(issued, card_id=_wrong(issued.card_id))
    type(issued.card).objects.filter(pk=issued.card.pk).update(
        verification_locked_until=timezone.now() - dt.timedelta(seconds=1)
    )
    assert check(issued).ok


def test_a_network_trying_many_cards_is_stopped(issued, settings):
    settings.CARD_CHECK_IP_LIMIT = 3
    for _ in range(3):
        check(issued, pan="4111111111111111")
    result = check(issued)
    assert result.outcome is Outcome.NETWORK_LIMITED
    assert "too many attempts from your network" in result.message
    assert check(issued, ip="198.51.100.1").ok
