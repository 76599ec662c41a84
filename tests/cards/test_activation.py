import pytest
from django.core import mail
from django.urls import reverse

from cards.models import Card
from security.models import SecurityEvent
from tests.factories import CardholderFactory, issue_card, open_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def inactive():
    return issue_card(account=open_account(holder=CardholderFactory(email="kim@example.com")), active=False)


def activate(client, issued, **overrides):
    card = issued.card
    data = {
        "card_number": issued.pan,
        "card_id": issued.card_id,
        "expiry": f"{card.expiry_month:02d}/{card.expiry_year % 100:02d}",
    }
    data.update(overrides)
    return client.post(reverse("cards:activate"), data)


def test_activation_with_the_printed_details(client, inactive, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = activate(client, inactive)
    assert response.status_code == 302
    inactive.card.refresh_from_db()
    assert inactive.card.status == Card.Status.ACTIVE
    assert inactive.card.activated_at is not None
    assert SecurityEvent.objects.filter(kind="card_activated").exists()
    assert mail.outbox[0].subject == "Your card is active"
    assert inactive.pan not in mail.outbox[0].body


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"expiry": "13/30"}, "real month"),
        ({"expiry": "0120"}, "expired"),
        ({"expiry": "soon"}, "month and year"),
        ({"expiry": ""}, "Enter the expiry date"),
        ({"card_id": ""}, "Enter the 4-digit card ID"),
    ],
)
def test_bad_input_is_explained_and_changes_nothing(client, inactive, overrides, message):
    response = activate(client, inactive, **overrides)
    assert message in response.content.decode()
    inactive.card.refresh_from_db()
    assert inactive.card.status == Card.Status.INACTIVE


def test_wrong_expiry_or_card_id_is_a_mismatch(client, inactive):
    wrong_year = f"{inactive.card.expiry_month:02d}/{(inactive.card.expiry_year + 1) % 100:02d}"
    assert "don&#x27;t match our records" in activate(client, inactive, expiry=wrong_year).content.decode()
    wrong_id = f"{(int(inactive.card_id) + 1) % 10000:04d}"
    assert "don&#x27;t match our records" in activate(client, inactive, card_id=wrong_id).content.decode()
    inactive.card.refresh_from_db()
    assert inactive.card.status == Card.Status.INACTIVE


def test_wrong_card_ids_are_limited_as_in_enrollment(client, inactive):
    wrong_id = f"{(int(inactive.card_id) + 1) % 10000:04d}"
    for _ in range(5):
        activate(client, inactive, card_id=wrong_id)
    response = activate(client, inactive)
    assert "paused online enrollment and activation" in response.content.decode()
    inactive.card.refresh_from_db()
    assert inactive.card.status == Card.Status.INACTIVE


def test_already_active_card_says_so(client, inactive):
    Card.objects.filter(pk=inactive.card.pk).update(status=Card.Status.ACTIVE)
    assert "already active" in activate(client, inactive).content.decode()


def test_lost_card_cannot_be_activated(client, inactive):
    Card.objects.filter(pk=inactive.card.pk).update(status=Card.Status.LOST_STOLEN)
    assert "can&#x27;t be activated" in activate(client, inactive).content.decode()


def test_two_activations_at_once_give_the_second_a_message_not_a_500(client, inactive):
    from unittest import mock

    from cards import verification

    real = verification.card_check

    def racing(**kwargs):
        result = real(**kwargs)
        Card.objects.filter(pk=result.card.pk).update(status=Card.Status.ACTIVE)  # the other request won
        return result

    client.raise_request_exception = False
    with mock.patch("cards.views.card_check", racing):
        response = activate(client, inactive)
    assert response.status_code == 200
    assert "is already active" in response.content.decode()


def test_a_frozen_card_is_told_it_is_active_and_frozen_not_closed(client, inactive):
    Card.objects.filter(pk=inactive.card.pk).update(status=Card.Status.FROZEN)
    page = activate(client, inactive).content.decode()
    assert "closed or reported lost or stolen" not in page
    assert "is already active, and it is frozen" in page
