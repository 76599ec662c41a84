"""The hook through which transaction events reach cardholders' alerts.

``transaction_alerts_dispatch`` is called by ``cards.ledger`` on every transaction
change (authorized, declined, posted, reversed, refunded), inside the same database
transaction, so an alert is written to the outbox exactly when the change commits.
Rules decide who is told what: each takes the transaction and returns the alerts to
send. The one rule so far reads each user's alert preferences (``cards.alert_rules``).
Idempotency keys (per transaction, status, alert, channel and recipient) make a re-run
harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from security.services import notify

if TYPE_CHECKING:
    from accounts.models import User

    from .models import Transaction


@dataclass(frozen=True)
class Alert:
    channel: str  # security.models.Notification.Channel
    to: str
    kind: str  # e.g. "purchase_over_amount", "card_declined"
    body: str  # never the card number: "card ending 1234" at most
    subject: str = ""
    user: User | None = None


AlertRule = Callable[["Transaction"], Iterable[Alert]]


def _alert_preferences(transaction: Transaction) -> Iterable[Alert]:
    # Imported late: alert_rules reads models and selectors that import this module.
    from .alert_rules import transaction_alerts

    return transaction_alerts(transaction)


RULES: list[AlertRule] = [_alert_preferences]


def rules_for(transaction: Transaction) -> list[AlertRule]:
    return list(RULES)


def _key(transaction: Transaction, alert: Alert) -> str:
    # Per recipient: the cardholder and the basic card member may both be told.
    recipient = f"-u{alert.user.pk}" if alert.user is not None else ""
    return f"txn-{transaction.pk}-{transaction.status}-{alert.kind}-{alert.channel}{recipient}"


def transaction_alerts_dispatch(transaction: Transaction) -> int:
    """Queue the alerts the rules ask for; returns how many were queued."""
    queued = 0
    for rule in rules_for(transaction):
        for alert in rule(transaction):
            notify(
                channel=alert.channel,
                to=alert.to,
                kind=alert.kind,
                subject=alert.subject,
                body=alert.body,
                user=alert.user,
                idempotency_key=_key(transaction, alert),
            )
            queued += 1
    return queued
