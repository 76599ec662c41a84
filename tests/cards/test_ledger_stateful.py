"""Ledger invariants under random sequences of money movements (a hypothesis state machine).

One credit account (with a limit) and one charge account, each with a basic and a
supplementary card, go through random authorizations (over-limit tries and frozen cards
included), clearings (at, under or over the authorized amount), force-posts, reversals,
refunds, payments and returned payments, disputes (credit granted, resolved or declined),
rewards redemptions, expiry of stale holds and cycle closes, all through the service
functions the webhook, the views, the admin and the beat call. A fake clock moves
forward (``django.utils.timezone.now`` is replaced: time-machine/freezegun are not
dependencies) so holds go stale and cycles end.

The machine keeps its own expectation of every row and balance, and after every step
checks that:

* the cached posted balance, pending total and rewards balance equal the sums of the
  rows (``ledger.ledger_verify``), and equal what the machine expects;
* an approval never takes a credit account past its limit, and a decline for the limit
  happens exactly when the purchase is more than the available credit;
* every closed statement reconciles: opening + its lines == closing, its totals are the
  sums of its lines by kind, the next statement opens with this one's closing balance,
  its rewards balance follows the rewards ledger, and nothing posted before the latest
  close is left off a statement;
* a posted or declined transaction never changes afterwards, and each row's status and
  amount is the last entry of its append-only status history (whose guard refuses edits).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from accounts.models import User
from cards import disputes, ledger, payments, processing, services, tasks
from cards.models import Card, CardAccount, Dispute, EarnRate, Payment, RewardEntry, Transaction, TransactionEvent
from cards.rewards import reward_quantity
from portal.models import ImmutableRowError
from portal.money import quantize
from statements import cycles
from statements import services as statement_services
from statements.models import Statement, StatementLine
from tests.cards.conftest import event
from tests.cards.payments_helpers import bank_account, commits
from tests.factories import CardProductFactory, UserFactory, issue_card, open_account

pytestmark = pytest.mark.django_db

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
LIMIT = Decimal("1000.00")
START = dt.datetime(2025, 3, 3, 10, 0, tzinfo=dt.UTC)
S = Transaction.Status
K = Transaction.Kind
# MCC -> category -> earn rate, as set on the two products below.
MCCS = {"5411": "groceries", "5814": "dining", "5732": "electronics", "5999": "other"}
RATES = {
    "credit": {"groceries": Decimal("0.0300")},  # 1% base cash back
    "charge": {"dining": Decimal("3.0000")},  # 1X base points
}
BASE_RATE = {"credit": Decimal("0.0100"), "charge": Decimal("1.0000")}

_serial = itertools.count(1)


class Clock:
    """The portal's idea of "now" while the machine runs; it only moves forward."""

    now = START

    @classmethod
    def advance(cls, delta: dt.timedelta) -> None:
        cls.now += delta

    @classmethod
    def today(cls) -> dt.date:
        return timezone.localdate(cls.now)


@pytest.fixture
def fake_clock(monkeypatch):
    """Replace django.utils.timezone.now (what every service reads) and the model field
    defaults that captured the real function at import."""
    real_now = timezone.now

    def fake_now():
        return Clock.now

    monkeypatch.setattr(timezone, "now", fake_now)
    fields = [f for model in apps.get_models() for f in model._meta.concrete_fields if f.default is real_now]
    for model_field in fields:
        model_field.default = fake_now
        model_field.__dict__.pop("_get_default", None)  # Field caches the callable
    Clock.now = START
    try:
        yield Clock
    finally:
        for model_field in fields:
            model_field.default = real_now
            model_field.__dict__.pop("_get_default", None)


def cents(n: int) -> Decimal:
    return (Decimal(n) / 100).quantize(CENT)


def handle(payload: dict) -> processing.Answer:
    """What the webhook does with a verified body."""
    return processing.processor_event_handle(event=processing.event_parse(payload))


# --- The machine's expectations -----------------------------------------------------------------


@dataclass
class Row:
    account: str
    kind: str
    status: str
    amount: Decimal
    card: str | None
    transacted_at: dt.datetime
    refunded: Decimal = ZERO  # purchases: refunds that named them
    of: str = ""  # refunds: the purchase they named


@dataclass
class Side:
    """One account and what the machine expects of it."""

    key: str
    account: CardAccount
    owner: User
    cards: dict[str, object]  # "basic"/"supplementary" -> IssuedCard
    holders: dict[str, User]
    method: object
    posted: Decimal = ZERO
    pending: Decimal = ZERO
    frozen: set[str] = field(default_factory=set)

    @property
    def available(self) -> Decimal | None:
        if self.account.credit_limit is None:
            return None
        return max(ZERO, self.account.credit_limit - self.posted - self.pending)


@dataclass
class Expected:
    """A dispute or payment as the machine expects it."""

    pk: int
    account: str
    status: str
    amount: Decimal
    net_id: str = ""
    credited: bool = False


SIDES = st.sampled_from(["credit", "charge"])
ROLES = st.sampled_from(["basic", "supplementary"])
PRICES = st.one_of(
    st.integers(min_value=1, max_value=120_000).map(cents),
    st.integers(min_value=1, max_value=300).map(lambda dollars: cents(dollars * 100)),  # round prices
)
AMOUNTS = st.one_of(PRICES, st.sampled_from(["available", "available+0.01"]))


class LedgerMachine(RuleBasedStateMachine):
    auths = Bundle("auths")
    charges = Bundle("charges")
    paid = Bundle("payments")
    opened = Bundle("disputes")

    def __init__(self):
        super().__init__()
        # Each example runs in its own savepoint, rolled back in teardown().
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        Clock.now = START
        self.rows: dict[str, Row] = {}
        self.payments: dict[int, Expected] = {}
        self.disputes: dict[int, Expected] = {}
        self.seen_posted: dict[int, tuple] = {}
        self.seen_declined: dict[int, tuple] = {}
        self.seen_events: dict[int, list[tuple]] = {}
        self.dispute_take_backs: dict[int, str] = {}  # reward entry -> the disputed purchase
        self.staff = User.objects.create_superuser(f"ledger.staff.{next(_serial)}", password="staff-password-long-1")
        self.sides = {"credit": self._side("credit"), "charge": self._side("charge")}

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _side(self, key: str) -> Side:
        owner, supplementary = UserFactory(), UserFactory()
        if key == "credit":
            product = CardProductFactory(credit=True, redemption_step=1, redemption_step_value=Decimal("1.00"))
            account = open_account(holder=owner.cardholder, product=product, credit_limit=LIMIT, statement_day=10)
        else:
            product = CardProductFactory(redemption_step=100, redemption_step_value=Decimal("1.00"))
            account = open_account(holder=owner.cardholder, product=product, statement_day=25)
        for category, rate in RATES[key].items():
            EarnRate.objects.update_or_create(product=product, category=category, defaults={"rate": rate})
        cards = {
            "basic": issue_card(account=account),
            "supplementary": issue_card(account=account, holder=supplementary.cardholder, role=Card.Role.SUPPLEMENTARY),
        }
        return Side(
            key=key,
            account=account,
            owner=owner,
            cards=cards,
            holders={"basic": owner, "supplementary": supplementary},
            method=bank_account(owner, number=f"0001234{next(_serial):05d}"),
        )

    def _net_id(self, prefix: str) -> str:
        return f"{prefix}-{next(_serial):07d}"

    def _event(self, type_: str, network_id: str, **fields) -> dict:
        return {"event_id": f"evt-{next(_serial):07d}", "type": type_, "network_id": network_id, **fields}

    def _account(self, side: Side) -> CardAccount:
        return CardAccount.objects.get(pk=side.account.pk)

    def _resolve_amount(self, side: Side, spec) -> Decimal:
        if isinstance(spec, Decimal):
            return spec
        available = side.available if side.available is not None else Decimal("250.00")
        amount = available if spec == "available" else available + CENT
        return max(amount, CENT)

    # --- Processor events ----------------------------------------------------------------------

    @rule(target=auths, side=SIDES, role=ROLES, spec=AMOUNTS, mcc=st.sampled_from(sorted(MCCS)))
    def authorize(self, side, role, spec, mcc):
        s = self.sides[side]
        amount = self._resolve_amount(s, spec)
        before = s.available
        net_id = self._net_id("auth")
        issued = s.cards[role]
        answer = handle(
            self._event(
                "authorization",
                net_id,
                card_number=issued.pan,
                amount=str(amount),
                currency="USD",
                merchant={"name": "Shop", "mcc": mcc, "city": "Austin", "country": "US"},
            )
        )
        body = answer.body
        if role in s.frozen:
            assert (body["decision"], body["reason_code"]) == ("declined", "card_frozen")
        elif before is not None and amount > before:
            assert (body["decision"], body["reason_code"]) == ("declined", "over_credit_limit")
        else:
            assert body["decision"] == "approved", body
        approved = body["decision"] == "approved"
        status = S.PENDING if approved else S.DECLINED
        self.rows[net_id] = Row(side, K.PURCHASE, status, amount, role, Clock.now)
        if approved:
            s.pending += amount
            if s.account.credit_limit is not None:
                # Approvals never spend credit that is not there.
                assert s.posted + s.pending <= s.account.credit_limit
                account = self._account(s)
                assert account.credit_limit - account.posted_balance - account.pending_total >= 0
        return net_id

    @rule(target=charges, net_id=auths, change=st.sampled_from(["same", "lower", "higher"]))
    def clear(self, net_id, change):
        row = self.rows[net_id]
        s = self.sides[row.account]
        final = {
            "same": row.amount,
            "lower": max(CENT, quantize(row.amount * Decimal("0.8"))),
            "higher": quantize(row.amount * Decimal("1.2")),
        }[change]
        payload = self._event("clearing", net_id, card_number=s.cards[row.card].pan, amount=str(final), currency="USD")
        if row.status == S.DECLINED:
            with pytest.raises(processing.EventError) as refused:
                handle(payload)
            assert refused.value.code == "authorization_declined"
            return multiple()
        answer = handle(payload)
        if row.status == S.POSTED:
            assert answer.body["result"] == "already_posted"
            assert Decimal(answer.body["amount"]) == row.amount
            return net_id
        assert answer.body["result"] == "posted"
        if row.status == S.PENDING:
            s.pending -= row.amount
        s.posted += final
        row.status, row.amount = S.POSTED, final
        return net_id

    @rule(target=charges, side=SIDES, role=ROLES, amount=PRICES)
    def force_post(self, side, role, amount):
        s = self.sides[side]
        net_id = self._net_id("force")
        answer = handle(
            self._event(
                "clearing",
                net_id,
                card_number=s.cards[role].pan,
                amount=str(amount),
                currency="USD",
                merchant={"name": "Offline shop", "mcc": "5814"},
            )
        )
        assert (answer.body["result"], answer.body["forced"]) == ("posted", True)
        s.posted += amount
        self.rows[net_id] = Row(side, K.PURCHASE, S.POSTED, amount, role, Clock.now)
        return net_id

    @rule(net_id=auths, how=st.sampled_from(["full", "partial", "too_large"]))
    def reverse(self, net_id, how):
        row = self.rows[net_id]
        s = self.sides[row.account]
        part = {"full": None, "partial": max(CENT, quantize(row.amount / 3)), "too_large": row.amount + CENT}[how]
        payload = self._event("reversal", net_id, **({"amount": str(part)} if part is not None else {}))
        if row.status == S.REVERSED:
            assert handle(payload).body["result"] == "already_reversed"
            return
        if row.status != S.PENDING:
            with pytest.raises(processing.EventError) as refused:
                handle(payload)
            assert refused.value.code == "not_pending"
            return
        if how == "too_large":
            with pytest.raises(processing.EventError) as refused:
                handle(payload)
            assert refused.value.code == "reversal_too_large"
            return
        answer = handle(payload)
        if part is None or part == row.amount:
            assert answer.body["result"] == "reversed"
            s.pending -= row.amount
            row.status = S.REVERSED
        else:
            assert answer.body["result"] == "partially_reversed"
            s.pending -= part
            row.amount -= part

    @rule(
        net_id=charges,
        share=st.sampled_from(["all", "half", "third", "cent"]),
        parts=st.integers(min_value=1, max_value=3),
    )
    def refund(self, net_id, share, parts):
        """The merchant refunds (part of) a charge, in one refund or in equal parts;
        refunds never add up to more than the charge."""
        row = self.rows[net_id]
        s = self.sides[row.account]
        left = row.amount - row.refunded
        total = {"all": left, "half": quantize(left / 2), "third": quantize(left / 3), "cent": CENT}[share]
        if total <= 0 or total > left:
            return
        piece = max(CENT, quantize(total / parts))
        amounts = [piece] * (parts - 1) + [total - piece * (parts - 1)]
        if amounts[-1] <= 0:
            amounts = [total]
        for amount in amounts:
            refund_id = self._net_id("refund")
            answer = handle(
                self._event(
                    "refund",
                    refund_id,
                    card_number=s.cards[row.card].pan,
                    amount=str(amount),
                    currency="USD",
                    original_network_id=net_id,
                    merchant={"name": "Shop", "mcc": "5999"},
                )
            )
            assert answer.body["result"] == "posted"
            s.posted -= amount
            row.refunded += amount
            self.rows[refund_id] = Row(row.account, K.REFUND, S.POSTED, -amount, row.card, Clock.now, of=net_id)

    @rule(side=SIDES, role=ROLES)
    def freeze_or_unfreeze(self, side, role):
        s = self.sides[side]
        card, holder = s.cards[role].card, s.holders[role]
        if role in s.frozen:
            services.card_unfreeze(actor=holder, card=card)
            s.frozen.discard(role)
        else:
            services.card_freeze(actor=holder, card=card)
            s.frozen.add(role)
        assert Card.objects.get(pk=card.pk).status == ("frozen" if role in s.frozen else "active")

    # --- Payments --------------------------------------------------------------------------------

    @rule(target=paid, side=SIDES, how=st.sampled_from(["all", "half", "cent", "too_much"]))
    def pay(self, side, how):
        """A one-time payment dated today: scheduled by the form's service, posted by the
        task its commit enqueues."""
        s = self.sides[side]
        owed = s.posted
        amount = {"all": owed, "half": quantize(owed / 2), "cent": CENT, "too_much": owed + CENT}[how]
        amount = max(amount, CENT)
        call = {
            "account": s.account,
            "method": s.method,
            "amount": amount,
            "scheduled_for": Clock.today(),
            "idempotency_key": f"stateful-{next(_serial):08d}-key",
            "actor": s.owner,
        }
        if owed <= 0 or amount > owed:
            with pytest.raises(payments.PaymentError):
                payments.payment_schedule(**call)
            return multiple()
        with commits():
            payment, created = payments.payment_schedule(**call)
        assert created
        payment.refresh_from_db()
        assert payment.status == Payment.Status.POSTED
        s.posted -= amount
        self.payments[payment.pk] = Expected(payment.pk, side, Payment.Status.POSTED, amount)
        self._row(f"payment-{payment.pk}", side, K.PAYMENT, -amount)
        return payment.pk

    def _row(self, net_id: str, side: str, kind: str, amount: Decimal) -> None:
        """A movement the machine expects a service to have posted under ``net_id``."""
        self.rows[net_id] = Row(side, kind, S.POSTED, amount, None, Clock.now)

    @rule(payment_id=paid, reason=st.sampled_from(["R01", "R02", "R08"]))
    def return_payment(self, payment_id, reason):
        expected = self.payments[payment_id]
        with commits():
            payment = payments.payment_return(
                staff=self.staff, payment=Payment.objects.get(pk=payment_id), reason=reason
            )
        assert payment.status == Payment.Status.RETURNED
        if expected.status == Payment.Status.POSTED:
            self.sides[expected.account].posted += expected.amount
            expected.status = Payment.Status.RETURNED
            self._row(f"payment-{payment_id}-return", expected.account, K.PAYMENT_RETURN, expected.amount)

    # --- Disputes --------------------------------------------------------------------------------

    def _dispute_refused(self, row: Row, net_id: str) -> bool:
        if row.status != S.POSTED:
            return True
        if (Clock.today() - timezone.localdate(row.transacted_at)).days > 120:
            return True
        statuses = {d.status for d in self.disputes.values() if d.net_id == net_id}
        return bool(statuses & {"submitted", "under_review", "info_needed", "resolved"})

    @rule(target=opened, net_id=charges, partial=st.booleans(), by_holder=st.booleans())
    def open_dispute(self, net_id, partial, by_holder):
        row = self.rows[net_id]
        s = self.sides[row.account]
        txn = Transaction.objects.get(network_id=net_id)
        actor = s.holders[row.card] if by_holder else s.owner
        amount = max(CENT, quantize(row.amount / 2)) if partial else None
        call = {
            "actor": actor,
            "transaction_obj": txn,
            "reason": "not_received",
            "description": "The parcel never arrived at my door.",
            "amount": amount,
        }
        if self._dispute_refused(row, net_id):
            with pytest.raises(disputes.DisputeError):
                disputes.dispute_open(**call)
            return multiple()
        dispute = disputes.dispute_open(**call)
        self.disputes[dispute.pk] = Expected(dispute.pk, row.account, "submitted", amount or row.amount, net_id)
        return dispute.pk

    def _staff_step(self, dispute_id: int, step, **kwargs):
        expected = self.disputes[dispute_id]
        dispute = Dispute.objects.get(pk=dispute_id)
        if expected.status not in ("submitted", "under_review", "info_needed"):
            with pytest.raises(disputes.DisputeError):
                step(staff=self.staff, dispute=dispute, **kwargs)
            return None
        return step(staff=self.staff, dispute=dispute, **kwargs)

    @rule(dispute_id=opened)
    def grant_temporary_credit(self, dispute_id):
        expected = self.disputes[dispute_id]
        if expected.credited and expected.status in ("submitted", "under_review", "info_needed"):
            with pytest.raises(disputes.DisputeError):
                disputes.dispute_credit_grant(staff=self.staff, dispute=Dispute.objects.get(pk=dispute_id))
            return
        if self._staff_step(dispute_id, disputes.dispute_credit_grant) is not None:
            self.sides[expected.account].posted -= expected.amount
            expected.credited = True
            expected.status = "under_review"
            self._row(f"dispute-{dispute_id}-temporary-credit", expected.account, K.CREDIT, -expected.amount)

    @rule(dispute_id=opened, in_favour=st.booleans())
    def resolve_dispute(self, dispute_id, in_favour):
        expected = self.disputes[dispute_id]
        step = disputes.dispute_resolve if in_favour else disputes.dispute_decline
        last_entry = RewardEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        if self._staff_step(dispute_id, step, note="Checked with the merchant.") is None:
            return
        # Only a final credit takes rewards back; a decline leaves them as they were.
        new_entries = list(RewardEntry.objects.filter(pk__gt=last_entry).values_list("pk", "kind"))
        assert all(kind == RewardEntry.Kind.ADJUST for _, kind in new_entries)
        assert len(new_entries) <= (1 if in_favour else 0)
        self.dispute_take_backs.update((pk, expected.net_id) for pk, _ in new_entries)
        s = self.sides[expected.account]
        if in_favour:
            if not expected.credited:
                s.posted -= expected.amount
                self._row(f"dispute-{dispute_id}-credit", expected.account, K.CREDIT, -expected.amount)
            expected.status = "resolved"
        else:
            if expected.credited:
                s.posted += expected.amount
                self._row(f"dispute-{dispute_id}-credit-reversal", expected.account, K.CREDIT_REVERSAL, expected.amount)
            expected.status = "declined"

    # --- Rewards ---------------------------------------------------------------------------------

    @rule(side=SIDES, steps=st.integers(1, 3))
    def redeem(self, side, steps):
        s = self.sides[side]
        product = s.account.product
        quantity = Decimal(product.redemption_step * steps)
        balance = self._account(s).rewards_balance
        call = {
            "actor": s.owner,
            "account": s.account,
            "quantity": quantity,
            "idempotency_key": f"redeem-{next(_serial):08d}",
        }
        if quantity > balance:
            with pytest.raises(services.RewardsError):
                services.rewards_redeem(**call)
            return
        redemption = services.rewards_redeem(**call)
        value = quantize(product.redemption_step_value * steps)
        assert redemption.credit.amount == -value
        s.posted -= value
        self.rows[redemption.credit.network_id] = Row(side, K.CREDIT, S.POSTED, -value, None, Clock.now)

    # --- Time --------------------------------------------------------------------------------------

    @rule(hours=st.integers(1, 24 * 9))
    def expire_stale_holds(self, hours):
        """Time passes and the beat's hold-expiry task runs."""
        Clock.advance(dt.timedelta(hours=hours))
        cutoff = Clock.now - processing.HOLD_LIFETIME
        stale = [r for r in self.rows.values() if r.status == S.PENDING and r.transacted_at < cutoff]
        assert tasks.authorization_holds_expire() == len(stale)
        for row in stale:
            self.sides[row.account].pending -= row.amount
            row.status = S.REVERSED

    @rule(side=SIDES, extra_days=st.integers(0, 4), hour=st.integers(0, 23))
    def close_cycle(self, side, extra_days, hour):
        """Time passes beyond the account's next statement day, and the cycle closes
        (what the beat's close task runs for the account)."""
        s = self.sides[side]
        day = s.account.statement_day
        today = Clock.today()
        close = cycles.closes_between(day, today, today + dt.timedelta(days=31))[0]
        target = cycles.day_start(close + dt.timedelta(days=1 + extra_days)) + dt.timedelta(hours=hour)
        if target > Clock.now:
            Clock.now = target
        known = set(Transaction.objects.filter(account=s.account).values_list("pk", flat=True))
        closed = statement_services.statements_close_due(account=s.account, today=Clock.today(), render=False)
        # The close posts only the late fee and the interest its statements show.
        charged = Transaction.objects.filter(account=s.account).exclude(pk__in=known)
        assert {t.kind for t in charged} <= {K.FEE, K.INTEREST}
        new_total = quantize(charged.aggregate(total=Sum("amount"))["total"] or ZERO)
        assert new_total == sum((st_.fees + st_.interest for st_ in closed), ZERO)
        s.posted += new_total
        for txn in charged:
            self.rows[txn.network_id] = Row(side, txn.kind, S.POSTED, txn.amount, None, txn.transacted_at)

    @rule()
    def ledger_rows_refuse_edits(self):
        """The append-only guard holds for the status history and the rewards ledger."""
        event = TransactionEvent.objects.order_by("?").first()
        if event is not None:
            with pytest.raises(ImmutableRowError):
                event.save()
            with pytest.raises(ImmutableRowError):
                TransactionEvent.objects.filter(pk=event.pk).update(amount=ZERO)
        entry = RewardEntry.objects.order_by("?").first()
        if entry is not None:
            with pytest.raises(ImmutableRowError):
                entry.save()
            with pytest.raises(ImmutableRowError):
                entry.delete()

    # --- Invariants ------------------------------------------------------------------------------

    @invariant()
    def caches_equal_the_rows(self):
        checked, mismatches = ledger.ledger_verify()
        assert (checked, [str(m) for m in mismatches]) == (2, [])

    @invariant()
    def balances_are_what_the_movements_make(self):
        for s in self.sides.values():
            account = self._account(s)
            assert (account.posted_balance, account.pending_total) == (s.posted, s.pending), s.key
            rows = Transaction.objects.filter(account=account)
            for status in (S.POSTED, S.PENDING):
                expected = sum(
                    (r.amount for r in self.rows.values() if r.account == s.key and r.status == status), ZERO
                )
                total = rows.filter(status=status).aggregate(total=Sum("amount"))["total"] or ZERO
                assert quantize(total) == expected, (s.key, status)

    @invariant()
    def rows_match_the_machine(self):
        actual = {
            net_id: (kind, status, amount)
            for net_id, kind, status, amount in Transaction.objects.values_list(
                "network_id", "kind", "status", "amount"
            )
        }
        assert set(actual) == set(self.rows)
        for net_id, row in self.rows.items():
            assert actual[net_id] == (row.kind, row.status, row.amount), net_id

    @invariant()
    def posted_and_declined_rows_never_change(self):
        fields = ("status", "amount", "posted_at", "account_id", "card_id", "kind", "network_id", "transacted_at")
        for values in Transaction.objects.values_list("pk", *fields):
            pk, status, frozen = values[0], values[1], values[1:]
            for seen, tracked in ((self.seen_posted, S.POSTED), (self.seen_declined, S.DECLINED)):
                if pk in seen:
                    assert frozen == seen[pk], f"transaction {pk} changed after it was {tracked}"
                elif status == tracked:
                    seen[pk] = frozen

    @invariant()
    def every_change_is_in_the_append_only_history(self):
        history: dict[int, list[tuple]] = {}
        for txn_id, pk, status, amount in TransactionEvent.objects.order_by("transaction_id", "at", "pk").values_list(
            "transaction_id", "pk", "status", "amount"
        ):
            history.setdefault(txn_id, []).append((pk, status, amount))
        for pk, status, amount in Transaction.objects.values_list("pk", "status", "amount"):
            events = history.get(pk, [])
            assert events, f"transaction {pk} has no history"
            assert events[-1][1:] == (status, amount), f"transaction {pk} changed outside the ledger"
            before = self.seen_events.get(pk, [])
            assert events[: len(before)] == before, f"the history of transaction {pk} was rewritten"
            self.seen_events[pk] = events

    @invariant()
    def purchases_earn_once_and_refunds_and_disputes_take_back_no_more(self):
        for s in self.sides.values():
            product = s.account.product
            entries = RewardEntry.objects.filter(account=s.account).values_list(
                "pk", "transaction__network_id", "kind", "quantity"
            )
            earned: dict[str, Decimal] = {}
            taken: dict[str, Decimal] = {}
            for pk, net_id, kind, quantity in entries:
                if kind == RewardEntry.Kind.EARN:
                    assert net_id not in earned, f"{net_id} earned twice"
                    earned[net_id] = quantity
                elif kind == RewardEntry.Kind.ADJUST:
                    original = self.dispute_take_backs.get(pk) or self.rows[net_id].of
                    taken[original] = taken.get(original, ZERO) - quantity
            for net_id, row in self.rows.items():
                if row.account == s.key and row.kind == K.PURCHASE and row.status == S.POSTED:
                    category = Transaction.objects.get(network_id=net_id).category
                    rate = RATES[s.key].get(category, BASE_RATE[s.key])
                    assert earned.get(net_id, ZERO) == reward_quantity(product, row.amount * rate), net_id
            for original, quantity in taken.items():
                # Refunds and resolved disputes together may credit more than the purchase
                # (nothing stops a refunded charge being disputed); take-backs never do.
                assert quantity <= earned.get(original, ZERO), (original, quantity, earned.get(original))

    @invariant()
    def statements_reconcile(self):
        for s in self.sides.values():
            statements = list(Statement.objects.filter(account=s.account).order_by("period_end"))
            previous = None
            for statement in statements:
                lines = list(StatementLine.objects.filter(statement=statement).values_list("kind", "amount"))
                total = sum((amount for _, amount in lines), ZERO)
                assert statement.opening_balance + total == statement.closing_balance
                by_kind = {
                    "purchases": sum((a for k, a in lines if k == K.PURCHASE), ZERO),
                    "fees": sum((a for k, a in lines if k == K.FEE), ZERO),
                    "interest": sum((a for k, a in lines if k == K.INTEREST), ZERO),
                    "payments_and_credits": sum(
                        (a for k, a in lines if k not in (K.PURCHASE, K.FEE, K.INTEREST)), ZERO
                    ),
                }
                assert {name: getattr(statement, name) for name in by_kind} == by_kind
                assert (
                    statement.opening_balance
                    + statement.purchases
                    + statement.payments_and_credits
                    + statement.fees
                    + statement.interest
                    == statement.closing_balance
                )
                # Entries count with the transaction they are tied to; one tied to none (a
                # dispute's take-back when its temporary credit became final) counts when made.
                billed = Q(transaction__statement_line__statement__period_end__lte=statement.period_end)
                untied = Q(transaction__isnull=True, created_at__lt=cycles.cutoff(statement.period_end))
                rewards = RewardEntry.objects.filter(billed | untied, account=s.account).aggregate(
                    total=Sum("quantity")
                )["total"]
                assert statement.rewards_balance == quantize(rewards or ZERO)
                if previous is None:
                    assert statement.opening_balance == ZERO
                else:
                    assert statement.opening_balance == previous.closing_balance
                    assert statement.period_start == previous.period_end + dt.timedelta(days=1)
                    assert statement.rewards_opening == previous.rewards_balance
                previous = statement
            unbilled = Transaction.objects.filter(account=s.account, status=S.POSTED, statement_line__isnull=True)
            left = quantize(unbilled.aggregate(total=Sum("amount"))["total"] or ZERO)
            closing = previous.closing_balance if previous is not None else ZERO
            assert closing + left == self._account(s).posted_balance
            if previous is not None:
                # Nothing posted before the latest close was left off its statement.
                assert not unbilled.filter(posted_at__lt=cycles.cutoff(previous.period_end)).exists()

    @invariant()
    def disputes_and_payments_are_in_the_expected_state(self):
        for pk, expected in self.disputes.items():
            assert Dispute.objects.get(pk=pk).status == expected.status
        for pk, expected in self.payments.items():
            assert Payment.objects.get(pk=pk).status == expected.status


def test_ledger_invariants_hold_under_random_sequences(db, fake_clock):
    # Examples, deadline and randomness come from the profile loaded in tests/conftest.py.
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(stateful_step_count=30, suppress_health_check=[HealthCheck.too_slow]),
    )


# --- Sequences the machine found ---------------------------------------------------------------


def test_releasing_holds_in_turn_leaves_pending_at_exactly_zero(charge_card):
    """Found by the machine: on SQLite (the embedded mode) the cached pending total was
    added up as binary floats, so releasing a $0.70 hold and then a $0.10 one left
    -0.0000000000000001 and the account's pending >= 0 constraint refused the second
    release (the processor got a 500)."""
    for network_id, amount in (("hold-a", "0.10"), ("hold-b", "0.70")):
        handle(event(card=charge_card, amount=amount, network_id=network_id))

    assert handle(event("reversal", network_id="hold-b")).body["result"] == "reversed"
    assert handle(event("reversal", network_id="hold-a")).body["result"] == "reversed"

    account = CardAccount.objects.get(pk=charge_card.card.account_id)
    assert account.pending_total == ZERO
    assert CardAccount.objects.filter(pk=account.pk, pending_total__lt=0).count() == 0
    assert ledger.ledger_verify() == (1, [])


def test_a_purchase_refunded_in_parts_loses_no_more_cash_back_than_it_earned(credit_card):
    """Found by the machine: $40.91 earned $0.41 cash back; refunded in three parts
    ($13.64, $13.64, $13.63), each take-back was rounded to the nearest cent ($0.14), so
    the refunds took back $0.42. Take-backs are now rounded down."""
    handle(
        event(
            "clearing",
            card=credit_card,
            amount="40.91",
            network_id="gadget",
            merchant={"name": "Gadgets", "mcc": "5999"},
        )
    )
    earned = RewardEntry.objects.get(kind=RewardEntry.Kind.EARN).quantity
    for amount in ("13.64", "13.64", "13.63"):
        handle(event("refund", card=credit_card, amount=amount, original_network_id="gadget"))

    taken = [-q for q in RewardEntry.objects.filter(kind=RewardEntry.Kind.ADJUST).values_list("quantity", flat=True)]
    assert earned == Decimal("0.41")
    assert taken == [Decimal("0.13")] * 3
    assert sum(taken) <= earned
    assert ledger.ledger_verify() == (1, [])


def test_a_dispute_resolved_after_its_temporary_credit_was_billed_takes_the_points_back_on_the_next_statement(
    db, fake_clock
):
    """Statements count a rewards entry with the transaction it is tied to. A temporary
    credit already on a closed statement that becomes final must not carry the take-back
    onto that statement (it would be on none): the take-back is tied to no transaction
    and counts in the cycle it was made in."""
    owner = UserFactory()
    account = open_account(holder=owner.cardholder, product=CardProductFactory(), statement_day=15)
    issued = issue_card(account=account)
    staff = User.objects.create_superuser("statement.staff", password="staff-password-long-1")
    shop = {"name": "Shop", "mcc": "5732"}
    handle(event("clearing", card=issued, amount="400.00", network_id="gadget", merchant=shop))
    purchase = Transaction.objects.get(network_id="gadget")
    dispute = disputes.dispute_open(
        actor=owner, transaction_obj=purchase, reason="not_received", description="The parcel never arrived."
    )
    disputes.dispute_credit_grant(staff=staff, dispute=dispute)

    Clock.advance(dt.timedelta(days=17))  # past the close of March 15
    (march,) = statement_services.statements_close_due(account=account, today=Clock.today(), render=False)
    disputes.dispute_resolve(staff=staff, dispute=dispute, note="The parcel was lost.")
    Clock.advance(dt.timedelta(days=31))  # past the close of April 15
    (april,) = statement_services.statements_close_due(account=account, today=Clock.today(), render=False)

    assert (march.rewards_earned, march.rewards_balance) == (Decimal("400.00"), Decimal("400.00"))
    assert (april.rewards_earned, april.rewards_balance) == (Decimal("-400.00"), ZERO)
    assert CardAccount.objects.get(pk=account.pk).rewards_balance == april.rewards_balance
    assert ledger.ledger_verify(account_ids=[account.pk]) == (1, [])
