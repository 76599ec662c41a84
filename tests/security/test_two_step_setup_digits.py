"""Turning on the authenticator app: a code typed with a superscript digit ("12345²")
passes AppCodeForm's str.isdigit() filter and reaches int() in two_step._matching_step,
which raises ValueError: a 500 instead of "The code is 6 digits"."""

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def confirmed(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    response = client.post(reverse("security:confirm"), {"action": "password", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return client


@pytest.mark.parametrize(
    "code", ["12345\u00b2", "\u00b9\u00b2\u00b3\u2074\u2075\u2076", "\u2460\u2461\u2462\u2463\u2464\u2465"]
)
def test_app_setup_with_non_ascii_digits_is_a_message_not_a_500(code):
    member = UserFactory(email="ana@example.com")
    client = confirmed(member)
    client.get(reverse("security:two_step_app"))
    response = client.post(reverse("security:two_step_app"), {"code": code})
    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=member).exists()
