"""Build, find and delete the demo world.

The demo world is recognised by its cardholders (email under ``demo.example``), its
User IDs (``cast.DEMO_USERNAMES``) and what hangs off them (their accounts, cards,
transactions, the business program they run). ``world_delete`` removes exactly that.

Card numbers and card IDs exist only in the ``PrintableCard`` objects this module hands
back to the caller for printing; they are never stored, logged or kept afterwards.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Cardholder, User
from cards import ledger, services
from cards.models import (
    Autopay,
    BusinessProgram,
    Card,
    CardAccount,
    CardProduct,
    Dispute,
    EarnRate,
    Payment,
    RewardEntry,
    Transaction,
)
from security import carddata_scan
from security.models import Notification, SecurityEvent
from statements.models import Statement, StatementLine
from statements.services import statements_backfill

from . import cast, catalog
from .spending import AccountTerms, CardSimulator, RewardRules, Row, settle_account, zone

SEED = 20260115  # fixed: the same world every time, relative to the day it is built
BATCH_SIZE = 5000
MONTH = dt.timedelta(days=30.44)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    name: str
    description: str


@dataclass(frozen=True)
class PrintableCard:
    """A not-yet-enrolled card with what enrollment asks for. Printed once, then gone."""

    holder: str
    date_of_birth: dt.date
    postal_code: str
    product: str
    role: str
    status: str
    pan: str
    expiry: str
    card_id: str

    def __repr__(self) -> str:  # never let a card number or card ID reach a log
        return f"PrintableCard(holder={self.holder!r}, last4={self.pan[-4:]})"


@dataclass
class DemoWorld:
    logins: list[DemoLogin]
    cards: list[PrintableCard]
    unprinted_unenrolled: int  # employee cards left unenrolled whose numbers are not shown
    counts: dict[str, int] = field(default_factory=dict)


# --- Finding the demo world ------------------------------------------------------------


def _demo_holders() -> QuerySet[Cardholder]:
    domain = cast.DEMO_EMAIL_DOMAIN
    return Cardholder.objects.filter(Q(email__iendswith=f"@{domain}") | Q(email__iendswith=f".{domain}"))


def _demo_users(holder_ids) -> QuerySet[User]:
    # Includes people who enrolled a demo card with a User ID of their own choosing.
    return User.objects.annotate(username_lower=Lower("username")).filter(
        Q(username_lower__in=[name.lower() for name in cast.DEMO_USERNAMES]) | Q(cardholder_id__in=holder_ids)
    )


def world_exists() -> bool:
    return _demo_holders().exists() or _demo_users([]).exists()


def world_logins() -> list[DemoLogin]:
    names = {person.key: person.legal_name for person in cast.PEOPLE}
    return [
        DemoLogin(login.username, login.password, names.get(login.holder, login.display_name), login.description)
        for login in cast.LOGINS
    ]


def world_counts() -> dict[str, int]:
    holder_ids = list(_demo_holders().values_list("id", flat=True))
    accounts = CardAccount.objects.filter(primary_cardholder_id__in=holder_ids)
    return {
        "users": _demo_users(holder_ids).count(),
        "cardholders": len(holder_ids),
        "accounts": accounts.count(),
        "cards": Card.objects.filter(account__in=accounts).count(),
        "transactions": Transaction.objects.filter(account__in=accounts).count(),
        "reward entries": RewardEntry.objects.filter(account__in=accounts).count(),
    }


@transaction.atomic
def world_delete() -> dict[str, int]:
    """Delete the demo world and nothing else. Returns how many rows of each went."""
    holder_ids = list(_demo_holders().values_list("id", flat=True))
    user_ids = list(_demo_users(holder_ids).values_list("id", flat=True))
    usernames = list(User.objects.filter(id__in=user_ids).values_list("username", flat=True))
    program_ids = list(
        BusinessProgram.objects.filter(
            Q(accounts__primary_cardholder_id__in=holder_ids)
            | Q(name=cast.PROGRAM_NAME, administrators__id__in=user_ids)
        )
        .distinct()
        .values_list("id", flat=True)
    )
    account_ids = list(
        CardAccount.objects.filter(
            Q(primary_cardholder_id__in=holder_ids) | Q(business_program_id__in=program_ids)
        ).values_list("id", flat=True)
    )
    transactions = Transaction.objects.filter(account_id__in=account_ids)
    counts = {"transactions": transactions.count()}

    Dispute.objects.filter(
        Q(transaction__account_id__in=account_ids)
        | Q(temporary_credit__account_id__in=account_ids)
        | Q(opened_by_id__in=user_ids)
    ).delete()
    Payment.objects.filter(Q(account_id__in=account_ids) | Q(method__owner_id__in=user_ids)).delete()
    Autopay.objects.filter(Q(account_id__in=account_ids) | Q(method__owner_id__in=user_ids)).delete()
    StatementLine.objects.filter(transaction__account_id__in=account_ids).delete()
    Statement.objects.filter(account_id__in=account_ids).delete()
    # Ledger and audit rows are append-only for the portal's own code; the demo world is
    # fake, so its reset removes them through the plain base manager on purpose.
    counts["reward entries"] = RewardEntry._base_manager.filter(account_id__in=account_ids).delete()[0]
    transactions.delete()
    cards = Card.objects.filter(Q(account_id__in=account_ids) | Q(holder_id__in=holder_ids))
    cards.update(replaces=None)
    counts["cards"] = cards.delete()[1].get(Card._meta.label, 0)
    counts["accounts"] = CardAccount.objects.filter(id__in=account_ids).delete()[1].get(CardAccount._meta.label, 0)
    BusinessProgram.objects.filter(id__in=program_ids).delete()
    counts["business programs"] = len(program_ids)
    SecurityEvent._base_manager.filter(user_id__in=user_ids).delete()
    Notification.objects.filter(user_id__in=user_ids).delete()
    _forget_lockouts(usernames)
    User.objects.filter(id__in=user_ids).delete()
    counts["users"] = len(user_ids)
    counts["cardholders"] = Cardholder.objects.filter(id__in=holder_ids).delete()[1].get(Cardholder._meta.label, 0)
    return counts


def _forget_lockouts(usernames: list[str]) -> None:
    """A rebuilt demo login must not inherit an old lockout of the same User ID."""
    from axes.utils import reset

    for username in usernames:
        reset(username=username)


# --- Building it -------------------------------------------------------------------------


@transaction.atomic
def world_build(*, years: int = 3, progress: Progress = lambda message: None) -> DemoWorld:
    if years < 1:
        raise ValueError("years must be at least 1")
    builder = _Builder(years=years, progress=progress)
    return builder.build()


class _Builder:
    def __init__(self, *, years: int, progress: Progress):
        self.progress = progress
        self.tz = timezone.get_current_timezone()
        self.now = timezone.now()
        self.today = timezone.localdate(self.now)
        self.start = self.today - dt.timedelta(days=round(365.25 * years))
        self.people = {person.key: person for person in cast.PEOPLE}
        self.enrolled = {login.holder for login in cast.LOGINS if login.holder}

    def rng(self, *parts: str) -> random.Random:
        # One stream per thing, so changing one card's plan leaves the others unchanged.
        return random.Random(":".join((str(SEED), *parts)))

    def build(self) -> DemoWorld:
        self.progress("Products and earn rates")
        products = self._products()
        program = BusinessProgram.objects.create(
            name=cast.PROGRAM_NAME, created_at=self._at(self.today - 62 * MONTH, 9)
        )
        self.progress("Cardholders, accounts and cards")
        holders = self._cardholders()
        printable: list[PrintableCard] = []
        unprinted = 0
        plans: list[tuple[cast.AccountPlan, CardAccount, list[tuple[cast.CardPlan, Card, dt.date]]]] = []
        for plan in cast.ACCOUNTS:
            account = services.account_open(
                product=products[plan.product.code],
                primary_cardholder=holders[plan.holder],
                statement_day=plan.statement_day,
                credit_limit=plan.credit_limit,
                business_program=program if plan.business else None,
                opened_on=self._opened_on(plan),
            )
            cards = []
            for card_plan in plan.cards:
                card, issued_on, shown = self._issue(plan, account, card_plan, holders[card_plan.holder])
                cards.append((card_plan, card, issued_on))
                if shown is not None:
                    printable.append(shown)
                elif card_plan.holder not in self.enrolled:
                    unprinted += 1
            plans.append((plan, account, cards))

        self.progress("Demo logins")
        logins = self._logins(holders, program)
        rows = self._activity(plans, products)
        counts = self._write(rows)
        # The rows went in by bulk insert, past the ledger: derive the balance caches.
        self.progress("Balances")
        ledger.ledger_rebuild(account_ids=[account.pk for _, account, _ in plans])
        statements_backfill(account_ids=[account.pk for _, account, _ in plans])
        counts.update(
            cardholders=len(holders),
            users=len(logins),
            accounts=len(plans),
            cards=sum(len(cards) for _, _, cards in plans),
        )
        return DemoWorld(logins=logins, cards=printable, unprinted_unenrolled=unprinted, counts=counts)

    # --- reference data and people ------------------------------------------------------

    def _products(self) -> dict[str, CardProduct]:
        products = {}
        for spec in catalog.PRODUCTS:
            # get_or_create: a product staff already set up (or edited) is left as it is.
            product, _ = CardProduct.objects.get_or_create(
                code=spec.code,
                defaults={
                    "name": spec.name,
                    "kind": spec.kind,
                    "segment": spec.segment,
                    "rewards_kind": spec.rewards_kind,
                    "base_earn_rate": spec.base_earn_rate,
                    "annual_rate": spec.annual_rate,
                    "annual_fee": spec.annual_fee,
                    "redemption_step": spec.redemption_step,
                    "redemption_step_value": spec.redemption_step_value,
                    "card_colour": spec.card_colour,
                },
            )
            for category, rate in spec.earn_rates.items():
                EarnRate.objects.get_or_create(product=product, category=category, defaults={"rate": rate})
            products[spec.code] = product
        return products

    def _cardholders(self) -> dict[str, Cardholder]:
        first_seen: dict[str, dt.date] = {}
        for plan in cast.ACCOUNTS:
            opened = self._opened_on(plan)
            first_seen[plan.holder] = min(first_seen.get(plan.holder, opened), opened)
            for card_plan in plan.cards:
                issued = self._issued_on(plan, card_plan)
                first_seen[card_plan.holder] = min(first_seen.get(card_plan.holder, issued), issued)
        holders = {}
        for person in cast.PEOPLE:
            rng = self.rng("person", person.key)
            age_days = rng.randint(24 * 365, 63 * 365)
            holders[person.key] = Cardholder.objects.create(
                legal_name=person.legal_name,
                name_on_card=person.name_on_card,
                date_of_birth=self.today - dt.timedelta(days=age_days),
                postal_code=person.postal_code,
                email=person.email,
                phone=person.phone,
                created_at=self._at(first_seen[person.key] - dt.timedelta(days=rng.randint(10, 30)), 11),
            )
        return holders

    def _opened_on(self, plan: cast.AccountPlan) -> dt.date:
        return self.today - plan.opened_months_ago * MONTH

    def _issued_on(self, plan: cast.AccountPlan, card_plan: cast.CardPlan) -> dt.date:
        opened = self._opened_on(plan)
        if card_plan.months_ago is None:
            return opened
        return max(opened, self.today - card_plan.months_ago * MONTH)

    def _issue(self, plan, account, card_plan: cast.CardPlan, holder: Cardholder):
        rng = self.rng("card", plan.key, card_plan.holder)
        issued_on = self._issued_on(plan, card_plan)
        # Cards are reissued every four years: the current plastic expires in the future.
        expiry_month, expiry_year = issued_on.month, issued_on.year + 4
        while (expiry_year, expiry_month) <= (self.today.year, self.today.month + 1):
            expiry_year += 4
        issued = services.card_issue(
            account=account,
            holder=holder,
            role=card_plan.role,
            expiry_month=expiry_month,
            expiry_year=expiry_year,
            active=card_plan.status != Card.Status.INACTIVE,
            monthly_limit=card_plan.monthly_limit,
        )
        card = issued.card
        # The card-data scanner's witness (.ci/scan-card-data); a no-op unless CARD_DATA_WITNESS is set.
        carddata_scan.witness_record(pan=issued.pan, card_id=issued.card_id, pk=card.pk)
        # Backdate the card to its story; card_issue stamps "now".
        card.issued_at = self._at(issued_on, 10)
        update = {"issued_at": card.issued_at}
        if card.status != Card.Status.INACTIVE:
            card.activated_at = card.issued_at + dt.timedelta(days=rng.randint(2, 9), hours=rng.randint(0, 8))
            update["activated_at"] = card.activated_at
        if card_plan.status not in (Card.Status.ACTIVE, Card.Status.INACTIVE):
            card.status = update["status"] = card_plan.status
        Card.objects.filter(pk=card.pk).update(**update)
        shown = None
        if card_plan.printable:
            if card_plan.holder in self.enrolled:
                raise AssertionError(f"{card_plan.holder} is enrolled: their card number would be printed needlessly")
            shown = PrintableCard(
                holder=holder.legal_name,
                date_of_birth=holder.date_of_birth,
                postal_code=holder.postal_code,
                product=plan.product.name,
                role=Card.Role(card_plan.role).label,
                status=Card.Status(card.status).label,
                pan=issued.pan,
                expiry=card.expiry_display,
                card_id=issued.card_id,
            )
        return card, issued_on, shown

    def _logins(self, holders: dict[str, Cardholder], program: BusinessProgram) -> list[DemoLogin]:
        logins = []
        admins = []
        for login in cast.LOGINS:
            holder = holders.get(login.holder) if login.holder else None
            rng = self.rng("login", login.username)
            joined = self._at(self.today - dt.timedelta(days=rng.randint(40, 400)), rng.randint(8, 21))
            if holder is not None:
                joined = max(joined, holder.created_at + dt.timedelta(days=30))
            fields = {
                "cardholder": holder,
                "email": holder.email if holder else login.email,
                "phone": holder.phone if holder else login.phone,
                "display_name": login.display_name,
                "date_joined": joined,
            }
            fields["email_verified_at"] = joined if fields["email"] else None
            fields["phone_verified_at"] = joined if fields["phone"] else None
            # The demo passwords must pass the same rules a real person's would.
            validate_password(login.password, User(username=login.username, **fields))
            if login.staff:
                user = User.objects.create_superuser(login.username, login.password, **fields)
            else:
                user = User.objects.create_user(login.username, login.password, **fields)
            if login.program_admin:
                admins.append(user)
            name = holder.legal_name if holder else login.display_name
            logins.append(DemoLogin(login.username, login.password, name, login.description))
        program.administrators.set(admins)
        return logins

    # --- activity -------------------------------------------------------------------------

    def _activity(self, plans, products) -> list[tuple[CardAccount, Card | None, Row]]:
        self.progress("Simulating card activity")
        out: list[tuple[CardAccount, Card | None, Row]] = []
        rules = {code: RewardRules.for_product(product) for code, product in products.items()}
        for plan, account, cards in plans:
            rows: list[Row] = []
            limits = {}
            for index, (card_plan, card, issued_on) in enumerate(cards):
                if card_plan.profile is None or card.status == Card.Status.INACTIVE:
                    continue
                if card_plan.monthly_limit is not None:
                    limits[index] = card_plan.monthly_limit
                stop = self.today
                if card_plan.stopped_days_ago is not None:
                    stop = self.today - dt.timedelta(days=card_plan.stopped_days_ago)
                simulator = CardSimulator(
                    rng=self.rng("activity", plan.key, card_plan.holder),
                    profile=card_plan.profile,
                    card=index,
                    home_city=self.people[card_plan.holder].city,
                    start=max(self.start, card.activated_at.date() if card.activated_at else issued_on),
                    end=stop,
                    tz=zone(catalog.HOME_TIME_ZONES[self.people[card_plan.holder].city]),
                )
                rows.extend(simulator.run())
            product = products[plan.product.code]
            terms = AccountTerms(
                rewards=rules[plan.product.code],
                statement_day=plan.statement_day,
                opened_on=account.opened_on,
                annual_fee=product.annual_fee,
                credit_limit=account.credit_limit,
                apr=product.annual_rate,
                revolver=plan.revolver,
                monthly_limits=limits,
            )
            settled = settle_account(
                rng=self.rng("ledger", plan.key),
                terms=terms,
                rows=rows,
                start=max(self.start, account.opened_on),
                today=self.today,
                now=self.now,
                tz=self.tz,
            )
            out.extend((account, None if row.card is None else cards[row.card][1], row) for row in settled)
        out.sort(key=lambda item: item[2].transacted_at)
        return out

    def _write(self, items: list[tuple[CardAccount, Card | None, Row]]) -> dict[str, int]:
        rng = self.rng("network-ids")
        transactions = []
        for number, (account, card, row) in enumerate(items, start=1):
            transactions.append(
                Transaction(
                    account=account,
                    card=card,
                    kind=row.kind,
                    status=row.status,
                    amount=row.amount,
                    currency=account.currency,
                    original_amount=row.original_amount,
                    original_currency=row.original_currency,
                    merchant_name=row.merchant,
                    merchant_city=row.city,
                    merchant_country=row.country,
                    mcc=row.mcc,
                    category=row.category,
                    card_present=row.card_present,
                    network_id=f"demo{number:07d}{rng.getrandbits(40):010x}",
                    decline_reason=row.decline_reason,
                    transacted_at=row.transacted_at,
                    posted_at=row.posted_at,
                    created_at=row.posted_at or row.transacted_at,
                )
            )
        total = len(transactions)
        for offset in range(0, total, BATCH_SIZE):
            Transaction.objects.bulk_create(transactions[offset : offset + BATCH_SIZE])
            self.progress(f"Transactions: {min(offset + BATCH_SIZE, total):,}/{total:,}")
        if transactions and transactions[0].pk is None:  # a backend that does not return ids
            ids = dict(
                Transaction.objects.filter(network_id__in=[t.network_id for t in transactions]).values_list(
                    "network_id", "id"
                )
            )
            for txn in transactions:
                txn.pk = ids[txn.network_id]

        kinds = {
            Transaction.Kind.PURCHASE: RewardEntry.Kind.EARN,
            Transaction.Kind.REFUND: RewardEntry.Kind.ADJUST,
            Transaction.Kind.CREDIT: RewardEntry.Kind.REDEEM,
        }
        entries = []
        for txn, (account, _card, row) in zip(transactions, items, strict=True):
            if row.reward is None:
                continue
            points = account.product.rewards_kind == CardProduct.RewardsKind.POINTS
            entries.append(
                RewardEntry(
                    account=account,
                    transaction_id=txn.pk,
                    kind=kinds[row.kind],
                    unit=RewardEntry.Unit.POINTS if points else RewardEntry.Unit.CASH,
                    quantity=row.reward,
                    description=row.reward_note,
                    created_at=row.posted_at or row.transacted_at,
                )
            )
        for offset in range(0, len(entries), BATCH_SIZE):
            RewardEntry.objects.bulk_create(entries[offset : offset + BATCH_SIZE])
            self.progress(f"Reward entries: {min(offset + BATCH_SIZE, len(entries)):,}/{len(entries):,}")

        statuses = [row.status for _, _, row in items]
        return {
            "transactions": total,
            "pending": statuses.count(Transaction.Status.PENDING),
            "declined": statuses.count(Transaction.Status.DECLINED),
            "foreign": sum(1 for _, _, row in items if row.original_currency),
            "payments": sum(1 for _, _, row in items if row.kind == Transaction.Kind.PAYMENT),
            "reward entries": len(entries),
        }

    def _at(self, day: dt.date, hour: int) -> dt.datetime:
        return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=self.tz)
