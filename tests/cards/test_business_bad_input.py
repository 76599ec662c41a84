"""Hostile input to the business pages and the card activation form answers with a page
or a message (200, 302 or 404), never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

NASTY = [
    "",
    "\x00",
    "a" * 5000,
    "9" * 5000,
    "١٢٣",
    "１０",
    "-1",
    "1e9",
    "NaN",
    "Infinity",
    "0.001",
    "$",
    "😀",
    "1,0,0",
    " 5 ",
]
REQUEST_FIELDS = (
    "account",
    "legal_name",
    "name_on_card",
    "dob_day",
    "dob_month",
    "dob_year",
    "postal_code",
    "email",
    "phone",
    "monthly_limit",
    "blocked_categories",
    "idempotency_key",
)
REPORT_FIELDS = ("start_day", "start_month", "start_year", "end_day", "end_month", "end_year", "group_by")


@pytest.mark.parametrize("value", NASTY)
def test_hostile_values_never_500(client, business, value):
    client.force_login(business["admin"])
    program, card = business["program"].pk, business["card"].card.pk
    gets = [
        (reverse("business:switch"), {"program": value, "section": value}),
        (reverse("business:reports", args=[program]), dict.fromkeys(REPORT_FIELDS, value)),
        (reverse("business:report_csv", args=[program]), {"start_day": value, "group_by": value}),
        (reverse("business:transactions_csv", args=[program]), {"end_year": value}),
    ]
    for url, data in gets:
        assert client.get(url, data).status_code in (200, 302, 404), url
    posts = [
        (reverse("business:card_limit", args=[card]), {"monthly_limit": value}),
        (reverse("business:card_categories", args=[card]), {"categories": [value, value]}),
        (reverse("business:card_request", args=[program]), dict.fromkeys(REQUEST_FIELDS, value)),
        (reverse("cards:activate"), {"card_number": value, "card_id": value, "expiry": value}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code in (200, 302, 404), url
