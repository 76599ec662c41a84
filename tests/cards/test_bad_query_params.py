"""Query parameters that must get a clear answer, never a 500."""

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import TransactionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, cardholder_with_card):
    user, issued = cardholder_with_card
    client.force_login(user)
    client.raise_request_exception = True
    return client


@pytest.mark.parametrize("date_to", ["9999-12-31", "2099-01-01"])
def test_a_to_date_after_today_lists_up_to_today(signed_in, cardholder_with_card, date_to):
    _, issued = cardholder_with_card
    TransactionFactory(card=issued.card, merchant_name="Today's Bakery")
    response = signed_in.get(reverse("cards:transactions"), {"date_to": date_to})
    assert response.status_code == 200
    assert "Today&#x27;s Bakery" in response.content.decode()
    assert response.context["filters"].date_to == timezone.localdate()


def test_transactions_cursor_with_superscript_digit_is_not_a_500(signed_in):
    # "²".isdigit() is True but int("²") raises ValueError (not CursorError)
    response = signed_in.get(reverse("cards:transactions"), {"before": "\u00b2.1"})
    assert response.status_code == 200


def test_rewards_cursor_with_superscript_digit_is_not_a_500(signed_in):
    response = signed_in.get(reverse("cards:rewards"), {"after": "1.\u00b2"})
    assert response.status_code in (200, 404)


def test_statement_list_account_with_superscript_digit_is_not_a_500(signed_in):
    response = signed_in.get(reverse("statements:list"), {"account": "\u00b2"})
    assert response.status_code == 200


def test_statement_list_account_with_5000_digits_is_not_a_500(signed_in):
    response = signed_in.get(reverse("statements:list"), {"account": "9" * 5000})
    assert response.status_code == 200


def test_dashboard_card_with_superscript_digit_is_404_not_500(signed_in):
    response = signed_in.get(reverse("cards:dashboard"), {"card": "\u00b2"})
    assert response.status_code == 404
