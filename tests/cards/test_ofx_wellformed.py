"""The OFX export is well-formed XML whatever text a merchant name holds, and the webhook
drops what no database or XML file can carry before it is stored."""

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import TransactionFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["Caf\ufffe Noir", "Shop \uffff"])
def test_ofx_with_a_noncharacter_in_a_merchant_name_is_still_xml(client, cardholder_with_card, name):
    user, issued = cardholder_with_card
    TransactionFactory(card=issued.card, merchant_name=name)
    client.force_login(user)
    today = timezone.localdate()
    response = client.get(
        reverse("cards:transactions_export"),
        {"date_from": (today - dt.timedelta(days=3)).isoformat(), "date_to": today.isoformat(), "file_format": "ofx"},
    )
    text = b"".join(response.streaming_content)
    ET.fromstring(text)  # raises ParseError: not well-formed (invalid token)


@pytest.mark.parametrize(
    ("sent", "stored"), [("Shop \uffff", "Shop"), ("Caf\ufffe Noir", "Caf Noir"), ("Bad \ud800Half", "Bad Half")]
)
def test_the_webhook_drops_noncharacters_and_lone_surrogates_from_merchant_names(
    client, cardholder_with_card, settings, sent, stored
):
    from cards.models import Transaction
    from tests.cards.conftest import event, post_event

    user, issued = cardholder_with_card
    settings.ROOT_URLCONF = "tests.cards.urls_webhook"
    payload = event("clearing", card=issued)
    payload["merchant"]["name"] = sent
    response = post_event(client, payload)
    assert response.status_code in (200, 201), response.content
    assert Transaction.objects.get(network_id=payload["network_id"]).merchant_name == stored
