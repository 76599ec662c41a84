"""Realistic processor traffic for the demo: ``manage.py simulate_activity``.

The simulator plays the card processor. It cannot know card numbers (they are never
stored), so it names cards the way a processor integration does: by the opaque
``Card.processor_token`` each card was given at issuance (``card_token`` in events).
Every event goes through the real webhook: signed with ``PROCESSOR_WEBHOOK_SECRET``
and handed to the view in-process, or POSTed to a running server (``--url``).

Traffic: mostly authorizations at everyday merchants (some abroad, with the foreign
amount), clearings of earlier holds (restaurants add a tip), a few merchant reversals,
refunds and force-posted clearings. Frozen cards stay in the mix, so a freeze shows up
as a decline on the next event for that card.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.test import RequestFactory
from django.utils import timezone

from portal.money import format_money, quantize

from .mcc import category_for_mcc
from .models import Card, CardAccount, Category, Transaction
from .webhook import processor_webhook, signed_headers

WEBHOOK_PATH = "/cards/processor/webhook/"


@dataclass(frozen=True)
class Merchant:
    name: str
    mcc: str
    low: float
    high: float
    city: str = ""
    country: str = "US"
    currency: str = ""  # foreign merchants charge in their currency
    rate: float = 1.0  # account currency per unit of that currency (approximate)
    present: float = 0.8


MERCHANTS = (
    Merchant("Starbucks", "5814", 4.25, 14.5, present=0.85),
    Merchant("Chipotle Mexican Grill", "5814", 9.8, 24.0),
    Merchant("Olive Garden", "5812", 35.0, 120.0, present=0.98),
    Merchant("DoorDash", "5812", 18.0, 72.0, present=0.0),
    Merchant("Whole Foods Market", "5411", 18.0, 210.0, present=0.95),
    Merchant("Trader Joe's", "5411", 22.0, 140.0, present=0.99),
    Merchant("Costco Wholesale", "5300", 60.0, 420.0, present=0.99),
    Merchant("Shell Oil", "5541", 28.0, 78.0, present=1.0),
    Merchant("Chevron", "5541", 30.0, 82.0, present=1.0),
    Merchant("Uber Trip", "4121", 9.0, 48.0, present=0.0),
    Merchant("Lyft Ride", "4121", 8.5, 42.0, present=0.0),
    Merchant("Amtrak", "4112", 39.0, 189.0, present=0.3),
    Merchant("Delta Air Lines", "3058", 180.0, 820.0, present=0.0),
    Merchant("Marriott Hotels", "7011", 160.0, 520.0, present=0.9),
    Merchant("Amazon.com", "5942", 8.0, 240.0, present=0.0),
    Merchant("Target", "5310", 12.0, 160.0, present=0.9),
    Merchant("Best Buy", "5732", 25.0, 900.0, present=0.8),
    Merchant("AMC Theatres", "7832", 14.0, 60.0, present=0.7),
    Merchant("Netflix", "4899", 15.49, 22.99, present=0.0),
    Merchant("Verizon Wireless", "4814", 65.0, 180.0, present=0.0),
    Merchant("CVS Pharmacy", "5912", 6.0, 75.0, present=0.95),
    Merchant("FedEx Office", "4215", 12.0, 140.0, present=0.8),
    Merchant("Amazon Web Services", "7372", 30.0, 900.0, present=0.0),
    Merchant("Staples", "5943", 9.0, 220.0, present=0.8),
    Merchant("Café de Flore", "5812", 14.0, 62.0, "Paris", "FR", "EUR", 1.08, 0.95),
    Merchant("Monoprix", "5411", 8.0, 55.0, "Paris", "FR", "EUR", 1.08, 0.95),
    Merchant("Pret A Manger", "5814", 5.5, 16.0, "London", "GB", "GBP", 1.27, 0.95),
    Merchant("Addison Lee", "4121", 18.0, 72.0, "London", "GB", "GBP", 1.27, 0.0),
    Merchant("Lawson", "5499", 300.0, 2400.0, "Tokyo", "JP", "JPY", 0.0068, 0.95),
)

DEFAULT_CITY = "New York"


@dataclass
class SimCard:
    pk: int
    token: str
    label: str  # "•••• 1234", never more
    currency: str


@dataclass
class Hold:
    network_id: str
    card: SimCard
    amount: Decimal
    merchant: dict
    original: tuple[Decimal, str] | None = None


@dataclass
class Sent:
    kind: str
    card: SimCard
    description: str
    status: int
    body: dict

    @property
    def outcome(self) -> str:
        if self.status >= 400:
            return f"refused {self.status} {self.body.get('error', '')}".strip()
        if "approved" in self.body:
            return "approved" if self.body["approved"] else f"declined ({self.body.get('reason_code')})"
        return str(self.body.get("result", ""))


@dataclass
class Summary:
    sent: int = 0
    outcomes: Counter = field(default_factory=Counter)
    seconds: float = 0.0


Transport = Callable[[bytes], tuple[int, dict]]


def in_process_transport(body: bytes) -> tuple[int, dict]:
    """The real webhook view, called with a signed request (no server needed)."""
    request = RequestFactory().post(
        WEBHOOK_PATH,
        data=body,
        content_type="application/json",
        headers=signed_headers(body=body),
    )
    response = processor_webhook(request)
    return response.status_code, json.loads(response.content)


def http_transport(url: str, *, timeout: float = 10.0) -> Transport:
    def send(body: bytes) -> tuple[int, dict]:
        request = urllib.request.Request(  # noqa: S310 - the operator gives the URL
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", **signed_headers(body=body)},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, json.loads(exc.read() or b"{}")
            except ValueError:
                return exc.code, {"error": "not_json"}

    return send


def simulation_cards(*, cards=None) -> list[SimCard]:
    """Active and frozen cards on open accounts (optionally within ``cards``)."""
    queryset = cards if cards is not None else Card.objects.all()
    rows = (
        queryset.filter(status__in=[Card.Status.ACTIVE, Card.Status.FROZEN], account__status=CardAccount.Status.OPEN)
        .order_by("pk")
        .values_list("pk", "processor_token", "last4", "account__currency")
    )
    return [SimCard(pk, token, f"•••• {last4}", currency) for pk, token, last4, currency in rows]


class Simulator:
    def __init__(self, *, cards: list[SimCard], transport: Transport, rng: random.Random | None = None):
        if not cards:
            raise ValueError("no cards to simulate")
        self.cards = cards
        self.transport = transport
        self.rng = rng or random.Random()  # noqa: S311 - traffic, not secrets
        self.holds: list[Hold] = self._existing_holds()
        self.cleared: list[Hold] = []

    def _existing_holds(self) -> list[Hold]:
        """Pending authorizations already in the database for these cards: the
        simulator clears some of them, as the merchants would."""
        by_pk = {card.pk: card for card in self.cards}
        rows = Transaction.objects.filter(
            card_id__in=list(by_pk), status=Transaction.Status.PENDING, kind=Transaction.Kind.PURCHASE
        ).values_list("network_id", "card_id", "amount", "merchant_name", "mcc", "original_amount", "original_currency")
        holds = []
        for network_id, card_id, amount, name, mcc, original_amount, original_currency in rows[:500]:
            original = (original_amount, original_currency) if original_amount is not None else None
            holds.append(Hold(network_id, by_pk[card_id], amount, {"name": name, "mcc": mcc or "5999"}, original))
        return holds

    # --- Events ------------------------------------------------------------------------

    def _ids(self) -> tuple[str, str]:
        return f"sim-{uuid.uuid4().hex}", f"sim{uuid.uuid4().hex[:24]}"

    def _draw(self, merchant: Merchant) -> tuple[Decimal, tuple[Decimal, str] | None]:
        value = merchant.low * (merchant.high / merchant.low) ** (self.rng.random() ** 1.7)
        if not merchant.currency:
            return quantize(Decimal(f"{value:.2f}")), None
        original = quantize(Decimal(f"{value:.0f}" if merchant.currency == "JPY" else f"{value:.2f}"))
        # The network's rate of the day: near the usual rate, never quite the same.
        rate = Decimal(str(merchant.rate)) * Decimal(str(self.rng.uniform(0.98, 1.02)))
        return quantize(original * rate), (original, merchant.currency)

    def _merchant_fields(self, merchant: Merchant) -> dict:
        return {
            "name": merchant.name,
            "mcc": merchant.mcc,
            "city": merchant.city or DEFAULT_CITY,
            "country": merchant.country,
        }

    def _event(self, kind: str, card: SimCard | None, network_id: str, **fields) -> dict:
        event_id, _ = self._ids()
        event = {"event_id": event_id, "type": kind, "network_id": network_id, **fields}
        if card is not None:
            event["card_token"] = card.token
        return event

    def authorization(self) -> tuple[dict, SimCard, str, Hold | None]:
        card = self.rng.choice(self.cards)
        merchant = self.rng.choice(MERCHANTS)
        amount, original = self._draw(merchant)
        _, network_id = self._ids()
        fields = {
            "amount": str(amount),
            "currency": card.currency,
            "merchant": self._merchant_fields(merchant),
            "card_present": self.rng.random() < merchant.present,
            "transacted_at": timezone.now().isoformat(),
        }
        if original is not None:
            fields |= {"original_amount": str(original[0]), "original_currency": original[1]}
        event = self._event("authorization", card, network_id, **fields)
        hold = Hold(network_id, card, amount, fields["merchant"], original)
        return event, card, f"{merchant.name} {format_money(amount, card.currency)}", hold

    def clearing(self) -> tuple[dict, SimCard, str, Hold]:
        hold = self.holds.pop(self.rng.randrange(len(self.holds)))
        amount = hold.amount
        if category_for_mcc(hold.merchant.get("mcc", "")) == Category.DINING and self.rng.random() < 0.6:
            amount = quantize(amount * Decimal(str(self.rng.choice((1.15, 1.18, 1.2, 1.22)))))  # the tip
        fields = {"amount": str(amount), "currency": hold.card.currency, "merchant": hold.merchant}
        if hold.original is not None:
            fields |= {"original_amount": str(hold.original[0]), "original_currency": hold.original[1]}
        event = self._event("clearing", hold.card, hold.network_id, **fields)
        cleared = Hold(hold.network_id, hold.card, amount, hold.merchant, hold.original)
        return event, hold.card, f"{hold.merchant.get('name', '')} {format_money(amount, hold.card.currency)}", cleared

    def reversal(self) -> tuple[dict, SimCard, str, None]:
        hold = self.holds.pop(self.rng.randrange(len(self.holds)))
        event = self._event("reversal", hold.card, hold.network_id)
        return event, hold.card, f"{hold.merchant.get('name', '')} hold released", None

    def refund(self) -> tuple[dict, SimCard, str, None]:
        purchase = self.cleared.pop(self.rng.randrange(len(self.cleared)))
        share = Decimal(str(self.rng.choice((1, 1, 0.5, 0.25))))
        amount = max(Decimal("0.01"), quantize(purchase.amount * share))
        _, network_id = self._ids()
        fields = {
            "amount": str(amount),
            "currency": purchase.card.currency,
            "merchant": purchase.merchant,
            "original_network_id": purchase.network_id,
        }
        event = self._event("refund", purchase.card, network_id, **fields)
        return event, purchase.card, f"{purchase.merchant.get('name', '')} refund {amount}", None

    def force_post(self) -> tuple[dict, SimCard, str, None]:
        event, card, description, _ = self.authorization()
        event["type"] = "clearing"
        return event, card, description + " (no authorization)", None

    def next_event(self):
        roll = self.rng.random()
        if self.holds and roll < 0.25:
            return self.clearing()
        if self.holds and roll < 0.29:
            return self.reversal()
        if self.cleared and roll < 0.32:
            return self.refund()
        if roll > 0.98:
            return self.force_post()
        return self.authorization()

    # --- Running -------------------------------------------------------------------------

    def send(self) -> Sent:
        event, card, description, follow_up = self.next_event()
        status, body = self.transport(json.dumps(event).encode())
        if follow_up is not None and status == 200:
            if event["type"] == "authorization" and body.get("approved"):
                self.holds.append(follow_up)
            elif event["type"] == "clearing" and body.get("result") == "posted":
                self.cleared.append(follow_up)
        return Sent(event["type"], card, description, status, body)

    def run(
        self,
        *,
        events: int,
        seconds: float,
        interval: float = 0.0,
        progress: Callable[[int, Sent], None] = lambda n, sent: None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Summary:
        """Send events until ``events`` are sent or ``seconds`` have passed."""
        summary = Summary()
        started = clock()
        deadline = started + seconds
        while summary.sent < events and clock() < deadline:
            sent = self.send()
            summary.sent += 1
            summary.outcomes[f"{sent.kind}: {sent.outcome}"] += 1
            progress(summary.sent, sent)
            if interval and summary.sent < events:
                sleep(max(0.0, min(interval, deadline - clock())))
        summary.seconds = clock() - started
        return summary
