"""A phone's model in the User-Agent is copied into the device name with no limit, but the
session list and the trusted-device list store it in 120-character columns. SQLite keeps
the overlong value; PostgreSQL refuses the INSERT (DataError), so signing in or
remembering the browser would be a 500."""

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from security.devices import device_trust
from security.models import TrustedDevice, UserSession
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LONG_PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 12; SAMSUNG SM-" + "A" * 300 + ") AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/20.0 Chrome/106.0 Mobile Safari/537.36"
)


def test_session_row_device_name_fits_its_column():
    member = UserFactory(email_verified_at=None, email="lee@example.com")
    client = Client()
    response = client.post(
        reverse("two_factor:login"),
        {"sign_in_view-current_step": "auth", "auth-username": member.username, "auth-password": DEFAULT_PASSWORD},
        HTTP_USER_AGENT=LONG_PHONE_UA,
    )
    assert response.status_code == 302
    row = UserSession.objects.get(user=member)
    assert len(row.device_name) <= UserSession._meta.get_field("device_name").max_length


def test_trusted_device_name_fits_its_column(rf):
    member = UserFactory()
    device_trust(user=member, request=rf.get("/", HTTP_USER_AGENT=LONG_PHONE_UA), response=HttpResponse())
    device = TrustedDevice.objects.get(user=member)
    assert len(device.name) <= TrustedDevice._meta.get_field("name").max_length
