import json
import logging
import time
import types
from decimal import Decimal

import pytest

from cards.models import ProcessorEvent, Transaction, TransactionEvent
from cards.webhook import MAX_BODY_BYTES
from security.models import SecurityEvent
from tests.cards.conftest import WEBHOOK_URL, event

pytestmark = pytest.mark.django_db


def _nothing_changed():
    return not Transaction.objects.exists() and not ProcessorEvent.objects.exists()


def test_signed_authorization_is_approved_and_creates_a_pending_charge(webhook, credit_card):
    response = webhook(event(card=credit_card, amount="42.10"))
    assert response.status_code == 200
    body = response.json()
    assert body["approved"] is True and body["decision"] == "approved"
    assert body["card"] == f"•••• {credit_card.card.last4}"
    txn = Transaction.objects.get(pk=body["transaction_id"])
    assert (txn.status, txn.amount, txn.category) == ("pending", Decimal("42.10"), "dining")
    assert response["Cache-Control"] == "no-store"


def test_card_token_names_a_card_without_its_number(webhook, credit_card):
    payload = event(amount="10.00")
    payload["card_token"] = credit_card.card.processor_token
    response = webhook(payload)
    assert response.status_code == 200 and response.json()["approved"] is True


def test_number_and_token_together_are_refused(webhook, credit_card):
    response = webhook(event(card=credit_card, card_token=credit_card.card.processor_token))
    assert response.status_code == 400 and _nothing_changed()


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda body, headers: headers.update({"X-Processor-Signature": "0" * 64}), id="wrong-signature"),
        pytest.param(lambda body, headers: headers.pop("X-Processor-Signature"), id="no-signature"),
        pytest.param(lambda body, headers: headers.pop("X-Processor-Timestamp"), id="no-timestamp"),
        pytest.param(lambda body, headers: headers.update({"X-Processor-Timestamp": "soon"}), id="bad-timestamp"),
    ],
)
def test_unsigned_or_tampered_requests_are_refused(client, settings, credit_card, tamper):
    from cards.webhook import signed_headers

    settings.ROOT_URLCONF = "tests.cards.urls_webhook"
    body = json.dumps(event(card=credit_card)).encode()
    headers = signed_headers(body=body)
    tamper(body, headers)
    response = client.post(WEBHOOK_URL, data=body, content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"
    assert _nothing_changed()


def test_signature_under_another_secret_is_refused(webhook, credit_card):
    response = webhook(event(card=credit_card), secret="not-the-shared-secret")
    assert response.status_code == 401 and _nothing_changed()


def test_a_body_changed_after_signing_is_refused(client, settings, credit_card):
    from cards.webhook import signed_headers

    settings.ROOT_URLCONF = "tests.cards.urls_webhook"
    signed = json.dumps(event(card=credit_card, amount="1.00")).encode()
    sent = signed.replace(b'"1.00"', b'"999.00"')
    response = client.post(WEBHOOK_URL, data=sent, content_type="application/json", headers=signed_headers(body=signed))
    assert response.status_code == 401 and _nothing_changed()


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_timestamps_more_than_five_minutes_away_are_refused(webhook, credit_card, offset, monkeypatch):
    # The server's clock is pinned, so a slow machine cannot shrink the gap under 300 s.
    now = int(time.time())
    monkeypatch.setattr("cards.webhook.time", types.SimpleNamespace(time=lambda: float(now)))
    response = webhook(event(card=credit_card), timestamp=now + offset)
    assert response.status_code == 401
    assert "5 minutes" in response.json()["message"]
    assert _nothing_changed()


def test_timestamp_within_five_minutes_is_accepted(webhook, credit_card):
    assert webhook(event(card=credit_card), timestamp=int(time.time()) - 240).status_code == 200


def test_repeated_event_changes_nothing_and_returns_the_first_answer(webhook, credit_card):
    payload = event(card=credit_card, amount="30.00")
    first = webhook(payload)
    second = webhook(payload)
    assert second.status_code == first.status_code == 200
    assert second.json() == first.json()
    assert Transaction.objects.count() == 1 and ProcessorEvent.objects.count() == 1
    account = credit_card.card.account
    account.refresh_from_db()
    assert account.pending_total == Decimal("30.00")


def test_repeated_event_id_with_another_body_still_gets_the_first_answer(webhook, credit_card, caplog):
    first = webhook(event(card=credit_card, event_id="evt-same", amount="30.00"))
    with caplog.at_level(logging.WARNING, logger="cards.processing"):
        second = webhook(event(card=credit_card, event_id="evt-same", amount="99.00"))
    assert second.json() == first.json()
    assert Transaction.objects.count() == 1
    assert "different body" in caplog.text


def test_get_is_not_allowed(client, settings):
    settings.ROOT_URLCONF = "tests.cards.urls_webhook"
    response = client.get(WEBHOOK_URL)
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"


def test_oversized_body_is_refused_before_anything_else(webhook, credit_card):
    payload = event(card=credit_card)
    payload["padding"] = "x" * MAX_BODY_BYTES
    response = webhook(payload)
    assert response.status_code == 400
    assert response.json()["error"] == "body_too_large"
    assert _nothing_changed()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param(b"[" * 20000 + b"]" * 20000, id="deeply-nested"),
        pytest.param(b'{"event_id": "e1", "type": "authorization", "amount": NaN}', id="nan"),
        pytest.param(b"", id="empty"),
    ],
)
def test_bodies_that_are_not_json_are_refused_with_400(webhook, body):
    response = webhook(body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"
    assert _nothing_changed()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda e: "a list", id="not-an-object"),
        pytest.param(lambda e: e.pop("event_id") and e, id="missing-event-id"),
        pytest.param(lambda e: e | {"event_id": 12}, id="event-id-not-a-string"),
        pytest.param(lambda e: e | {"type": "chargeback"}, id="unknown-type"),
        pytest.param(lambda e: e.pop("network_id") and e, id="missing-network-id"),
        pytest.param(lambda e: e.pop("amount") and e, id="missing-amount"),
        pytest.param(lambda e: e | {"amount": True}, id="amount-boolean"),
        pytest.param(lambda e: e | {"amount": [1]}, id="amount-list"),
        pytest.param(lambda e: e | {"amount": "ten"}, id="amount-text"),
        pytest.param(lambda e: e | {"amount": "-5.00"}, id="amount-negative"),
        pytest.param(lambda e: e | {"amount": "0"}, id="amount-zero"),
        pytest.param(lambda e: e | {"amount": "1.005"}, id="amount-sub-cent"),
        pytest.param(lambda e: e | {"amount": "1e400"}, id="amount-huge"),
        pytest.param(lambda e: e | {"amount": "Infinity"}, id="amount-infinite"),
        pytest.param(lambda e: e | {"currency": "usd"}, id="currency-lowercase"),
        pytest.param(lambda e: e | {"merchant": "Coffee"}, id="merchant-not-object"),
        pytest.param(lambda e: e | {"merchant": {"name": "Coffee", "mcc": "58"}}, id="mcc-not-4-digits"),
        pytest.param(lambda e: e | {"merchant": {"name": 5, "mcc": "5814"}}, id="merchant-name-number"),
        pytest.param(lambda e: e | {"card_present": "yes"}, id="card-present-text"),
        pytest.param(lambda e: e | {"transacted_at": "yesterday"}, id="bad-date"),
        pytest.param(lambda e: e | {"transacted_at": "2026-01-05T10:00:00"}, id="naive-date"),
        pytest.param(lambda e: e | {"original_amount": "10.00"}, id="original-without-currency"),
        pytest.param(lambda e: e | {"card_number": 379764000000000}, id="card-number-not-string"),
        pytest.param(lambda e: e | {"event_id": "x" * 101}, id="event-id-too-long"),
    ],
)
def test_invalid_events_are_refused_with_400_and_change_nothing(webhook, credit_card, change):
    payload = change(event(card=credit_card))
    response = webhook(payload)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_event"
    assert response.json()["message"]
    assert _nothing_changed()


def test_json_numbers_are_read_as_exact_decimals(webhook, credit_card):
    body = json.dumps(event(card=credit_card)).replace('"25.00"', "19.99").encode()
    response = webhook(body)
    assert response.status_code == 200
    assert Transaction.objects.get().amount == Decimal("19.99")


def test_unknown_card_is_declined_without_a_transaction(webhook):
    response = webhook(event(card_number="379764000000001"))
    assert response.status_code == 200
    assert response.json()["reason_code"] == "unknown_card"
    assert not Transaction.objects.exists()


def test_card_number_never_appears_in_responses_history_audit_or_logs(webhook, credit_card, caplog, settings):
    from cards import services

    pan = credit_card.pan
    user = credit_card.card.holder.user
    caplog.set_level(logging.DEBUG)
    responses = [
        webhook(event(card=credit_card, amount="20.00", network_id="n-1")),
        webhook(event("clearing", card=credit_card, amount="21.00", network_id="n-1")),
        webhook(event(card=credit_card, amount="5.00", network_id="n-2")),
        webhook(event("reversal", card=credit_card, network_id="n-2")),
        webhook(event("refund", card=credit_card, amount="3.00", original_network_id="n-1")),
        webhook(event(card=credit_card, amount="5000.00")),  # declined
        # unknown card: the last digit changed (a fixed "0" was the card itself one time in ten)
        webhook(event("clearing", card_number=pan[:-1] + str((int(pan[-1]) + 1) % 10), amount="1.00")),
        webhook(event(card=credit_card, amount="oops")),  # invalid
        webhook(event(card=credit_card), secret="wrong"),  # unauthenticated
    ]
    services.card_report_lost_stolen(actor=user, card=credit_card.card)
    responses.append(webhook(event(card=credit_card)))
    assert {r.status_code for r in responses} == {200, 400, 401, 422}
    for response in responses:
        assert pan not in response.content.decode()
        assert pan[-10:] not in response.content.decode()
    history = " ".join(f"{e.detail} {e.amount}" for e in TransactionEvent.objects.all())
    audit = json.dumps(list(SecurityEvent.objects.values("detail", "username_attempted", "user_agent")))
    stored = json.dumps(list(ProcessorEvent.objects.values("event_id", "network_id", "response", "body_sha256")))
    for text in (history, audit, stored, caplog.text):
        assert pan not in text
    assert TransactionEvent.objects.count() >= 6
