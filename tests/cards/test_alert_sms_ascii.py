"""Text alerts stay plain ASCII (cards.alert_rules.sms_fit says so): one character outside
the GSM alphabet makes the whole text UCS-2, 70 characters a segment, so a 160-character
alert goes out as three billed segments."""

import pytest
from django.utils import timezone

from cards.models import AlertPreference
from security.models import Notification
from tests.cards.conftest import event
from tests.cards.payments_helpers import commits, handle

pytestmark = pytest.mark.django_db

MERCHANT = "Caf\u00e9 Cr\u00e8me \u2013 Z\u00fcrich \u6771\u4eac"


def test_a_text_alert_for_a_merchant_with_accents_is_ascii(charge_card):
    user = charge_card.card.holder.user
    user.phone, user.phone_verified_at = "+12025550142", timezone.now()
    user.save(update_fields=["phone", "phone_verified_at"])
    AlertPreference.objects.create(user=user, kind="purchase", email=False, sms=True)
    with commits():
        handle(
            event(
                card=charge_card,
                amount="12.00",
                merchant={"name": MERCHANT, "mcc": "5814"},
            )
        )
    [sms] = Notification.objects.filter(kind="purchase_alert", channel="sms")
    assert len(sms.body) <= 160
    assert sms.body.isascii(), sms.body
