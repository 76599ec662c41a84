"""A too-large alert threshold is refused with the payment form's message about the
balance, which has nothing to do with an alert amount."""

import html

import pytest
from django.test import Client
from django.urls import reverse

from cards.models import AlertPreference
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("threshold", ["1e999999999", "1000000000"])
def test_huge_threshold_message_does_not_talk_about_the_balance(threshold):
    member = UserFactory(email="ana@example.com")
    client = Client()
    client.force_login(member)
    response = client.post(
        reverse("alerts:settings"),
        {"purchase_over_email": "on", "purchase_over_threshold": threshold, "payment_due_days": "3"},
    )
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert not AlertPreference.objects.filter(user=member).exists()
    assert "balance" not in page.split("There is a problem", 1)[-1].split("</form>", 1)[0].lower()
