"""Alerts: the rules that run when processor events post, the alerts page, and delivery
that records a failed channel where staff see it."""

import html
from decimal import Decimal

import pytest
from celery.app import autoretry
from celery.exceptions import Retry
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from cards import alert_rules
from cards.models import AlertPreference, Card
from security import tasks as security_tasks
from security.models import Notification
from security.sms import DeliveryError
from tests.cards.conftest import event
from tests.cards.payments_helpers import commits, handle, spend, staff_console_login
from tests.cards.sms_backends import deliveries
from tests.factories import CardholderFactory, UserFactory, issue_card, open_account

pytestmark = pytest.mark.django_db

PHONE = "+12025550142"


@pytest.fixture
def member(charge_card):
    user = charge_card.card.holder.user
    user.phone, user.phone_verified_at = PHONE, timezone.now()
    user.save(update_fields=["phone", "phone_verified_at"])
    return user


def want(user, kind, *, email=True, sms=False, **extra):
    return AlertPreference.objects.create(user=user, kind=kind, email=email, sms=sms, **extra)


def buy(issued, amount="60.00", **fields):
    with commits():
        return handle(event(card=issued, amount=amount, **fields))


def alerts(kind="purchase_alert"):
    return list(Notification.objects.filter(kind=kind).order_by("pk"))


def text(response) -> str:
    return html.unescape(response.content.decode())


# --- Transaction rules -------------------------------------------------------------------


def test_a_purchase_over_the_amount_sends_an_email_with_the_last4_only(member, charge_card):
    want(member, "purchase_over", threshold=Decimal("50.00"))
    buy(charge_card, "60.00")
    buy(charge_card, "40.00")
    [message] = mail.outbox
    assert message.subject == "Purchase alert: $60.00 at Corner Coffee"
    assert f"card ending {charge_card.card.last4}" in message.body
    assert "purchases over $50.00" in message.body
    assert charge_card.pan not in message.body and charge_card.pan[:6] not in message.body


def test_a_purchase_alerts_once_at_authorization_not_again_when_it_posts(member, charge_card):
    want(member, "purchase")
    buy(charge_card, "20.00", network_id="auth-1")
    buy(charge_card, "20.00", network_id="auth-1", type="clearing")
    with commits():
        handle(event("clearing", card=charge_card, amount="20.00", network_id="auth-1"))
    assert len(alerts()) == 1


def test_a_purchase_posted_without_authorization_alerts(member, charge_card):
    want(member, "purchase")
    with commits():
        spend(charge_card, "33.00")
    assert len(alerts()) == 1


def test_several_matching_alerts_make_one_message_per_channel(member, charge_card):
    want(member, "purchase")
    want(member, "purchase_over", threshold=Decimal("10.00"))
    want(member, "international", sms=True)
    buy(charge_card, "90.00", merchant={"name": "Cafe de Flore", "mcc": "5814", "city": "Paris", "country": "FR"})
    found = alerts()
    assert sorted(n.channel for n in found) == ["email", "sms"]
    email = next(n for n in found if n.channel == "email")
    assert "about every purchase and purchases over $10.00 and purchases outside the US." in email.body


def test_international_alert_only_for_foreign_purchases(member, charge_card):
    want(member, "international")
    buy(charge_card, "15.00")
    buy(charge_card, "15.00", original_amount="14.00", original_currency="EUR")
    assert len(alerts()) == 1


def test_card_not_present_alert(member, charge_card):
    want(member, "card_not_present")
    buy(charge_card, "15.00", card_present=True)
    buy(charge_card, "15.00", card_present=False)
    assert len(alerts()) == 1


def test_declined_alert_says_why(member, charge_card):
    want(member, "declined", sms=True)
    charge_card.card.status = Card.Status.FROZEN
    charge_card.card.save(update_fields=["status"])
    buy(charge_card, "15.00")
    email, sms = alerts("purchase_declined")
    assert "This card is frozen" in email.body
    assert "was declined" in sms.body and len(sms.body) <= 160


def test_text_messages_fit_160_characters_with_a_long_merchant_name(member, charge_card):
    want(member, "purchase", email=False, sms=True)
    long_name = "The Extremely Long Named Artisanal Coffee Roasters And Bakery Of Lower Manhattan" * 2
    buy(charge_card, "12.00", merchant={"name": long_name[:100], "mcc": "5814"})
    [sms] = alerts()
    assert len(sms.body) <= 160
    assert f"card ending {charge_card.card.last4}" in sms.body and "$12.00" in sms.body
    assert sms.body.isascii()


def test_texts_go_only_to_a_verified_mobile(charge_card):
    user = charge_card.card.holder.user  # the factory's phone is not verified
    want(user, "purchase", email=False, sms=True)
    buy(charge_card)
    assert alerts() == []


def test_no_alert_without_a_choice(member, charge_card):
    buy(charge_card)
    assert alerts() == [] and mail.outbox == []


def test_the_basic_member_and_the_supplementary_holder_each_get_their_alert(member, charge_card):
    supplementary = UserFactory()
    issued = issue_card(account=charge_card.card.account, holder=supplementary.cardholder, role="supplementary")
    want(member, "purchase")
    want(supplementary, "purchase")
    buy(issued)
    assert sorted(n.user_id for n in alerts()) == sorted([member.pk, supplementary.pk])


def test_a_supplementary_holder_is_not_told_about_the_basic_card(member, charge_card):
    supplementary = UserFactory()
    issue_card(account=charge_card.card.account, holder=supplementary.cardholder, role="supplementary")
    want(supplementary, "purchase")
    buy(charge_card)
    assert alerts() == []


def test_the_program_administrator_hears_about_employee_cards(business):
    want(business["admin"], "purchase_over", threshold=Decimal("100.00"))
    buy(business["card"], "150.00")
    [alert] = alerts()
    assert alert.user == business["admin"]


def test_a_stranger_with_the_same_alert_hears_nothing(member, charge_card):
    stranger = UserFactory()
    open_account(holder=CardholderFactory())
    want(stranger, "purchase")
    buy(charge_card)
    assert alerts() == []


# --- Delivery: failures recorded, retries back off ---------------------------------------


def test_a_failed_text_is_retried_with_back_off_then_recorded_for_staff(member, charge_card, settings, client):
    settings.SMS_BACKEND = "tests.cards.sms_backends.FailingSMSBackend"
    want(member, "purchase", sms=True)
    handle(event(card=charge_card, amount="60.00"))  # queued, not yet delivered
    sms = Notification.objects.get(channel="sms")
    task = security_tasks.notification_deliver
    waits = []
    with pytest.MonkeyPatch.context() as patch:
        # The exact back-off, without the random spread (full jitter) that production adds.
        original = autoretry.get_exponential_backoff_interval
        patch.setattr(
            autoretry, "get_exponential_backoff_interval", lambda **kw: original(**kw | {"full_jitter": False})
        )
        # Each attempt as a worker would make it after the previous retry's countdown.
        for attempt in range(task.max_retries + 1):
            try:
                task.apply(args=[sms.pk], retries=attempt)
            except Retry as retry:
                waits.append(retry.when)
    assert waits == [1, 2, 4, 8, 16, 32]
    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == ("failed", task.max_retries + 1)
    assert "unreachable" in sms.last_error
    staff_console_login(client)
    page = text(client.get(reverse("admin:security_notification_changelist"), {"status__exact": "failed"}))
    assert "purchase_alert" in page and "unreachable" in page


def test_delivery_is_acknowledged_late_and_retries_only_delivery_errors():
    task = security_tasks.notification_deliver
    assert task.acks_late is True and task.autoretry_for == (DeliveryError,)
    assert task.retry_backoff is True and task.retry_backoff_max == 600


def test_a_recorded_text_is_delivered_once(member, charge_card, settings):
    settings.SMS_BACKEND = "tests.cards.sms_backends.RecordingSMSBackend"
    want(member, "purchase", email=False, sms=True)
    buy(charge_card)
    sms = Notification.objects.get()
    security_tasks.notification_deliver.delay(sms.pk)  # a duplicate enqueue
    assert [d["key"] for d in deliveries()] == [sms.idempotency_key]


# --- Account notices ---------------------------------------------------------------------


def test_statement_ready_goes_to_the_people_who_manage_the_bill(member, charge_card):
    from tests.cards.payments_helpers import StatementFactory

    supplementary = UserFactory()
    issue_card(account=charge_card.card.account, holder=supplementary.cardholder, role="supplementary")
    want(member, "statement_ready", sms=True)
    statement = StatementFactory(account=charge_card.card.account)
    assert alert_rules.statement_ready_notify(statement=statement) == 2
    assert alert_rules.statement_ready_notify(statement=statement) == 2  # same keys: no new rows
    assert Notification.objects.filter(kind="statement_ready").count() == 2
    assert not Notification.objects.filter(user=supplementary).exists()


# --- The alerts page ---------------------------------------------------------------------


def test_alerts_page_shows_defaults_and_security_alerts_always_on(client, member):
    client.force_login(member)
    page = text(client.get(reverse("alerts:settings")))
    for label in ("Every purchase", "Purchases over an amount", "Payment received", "Statement ready"):
        assert label in page
    assert "New device sign-in" in page and "Always on" in page
    assert 'name="payment_received_email" id="id_payment_received_email" checked' in page
    assert 'name="purchase_email" id="id_purchase_email" checked' not in page


def test_alerts_page_saves_choices(client, member):
    client.force_login(member)
    response = client.post(
        reverse("alerts:settings"),
        {
            "purchase_over_email": "on",
            "purchase_over_sms": "on",
            "purchase_over_threshold": "50",
            "payment_due_days": "5",
            "payment_due_email": "on",
        },
    )
    assert response.status_code == 302
    saved = {p.kind: p for p in AlertPreference.objects.filter(user=member)}
    assert (saved["purchase_over"].email, saved["purchase_over"].sms) == (True, True)
    assert saved["purchase_over"].threshold == Decimal("50.00")
    assert saved["payment_due"].days_before == 5
    assert saved["payment_received"].email is False  # unticked: off
    assert saved["payment_returned"].email is True  # always by email


def test_over_an_amount_needs_the_amount(client, member):
    client.force_login(member)
    response = client.post(reverse("alerts:settings"), {"purchase_over_email": "on", "payment_due_days": "3"})
    assert response.status_code == 200 and "Enter the amount for this alert" in text(response)


@pytest.mark.parametrize("threshold", ["-5", "abc", "0", "1e99"])
def test_bad_amounts_on_the_alerts_page_get_an_error_not_a_500(client, member, threshold):
    client.force_login(member)
    data = {"purchase_over_email": "on", "purchase_over_threshold": threshold, "payment_due_days": "99"}
    response = client.post(reverse("alerts:settings"), data)
    assert response.status_code == 200 and "There is a problem" in text(response)
    assert not AlertPreference.objects.exists()


def test_text_alerts_are_off_without_a_verified_mobile(client, charge_card):
    user = charge_card.card.holder.user
    client.force_login(user)
    page = text(client.get(reverse("alerts:settings")))
    assert "add and confirm a mobile number" in page
    client.post(reverse("alerts:settings"), {"purchase_sms": "on", "payment_due_days": "3"})
    assert AlertPreference.objects.get(user=user, kind="purchase").sms is False


def test_alerts_page_is_each_users_own(client, member):
    want(member, "purchase_over", threshold=Decimal("77.00"))
    client.force_login(UserFactory())
    assert "77.00" not in text(client.get(reverse("alerts:settings")))
    assert client.get(reverse("alerts:settings")).status_code == 200
