"""The benchmark's data set: one person who sees 50 cards, and a large history.

``bench-admin`` is the basic card member of a personal charge account with 9
supplementary cards, and the administrator of a business program whose charge account
carries 40 employee cards: the dashboard's card selector lists 50 cards, the program
overview 40. The transactions (default 1,000,000) are spread over those 50 cards across
three years, as the card network would have sent them: mostly posted purchases, some
refunds and declines, the last few days still pending, a payment each month. Every
posted purchase earned its rewards entry, as ``cards.ledger`` does on posting, so pages
that read the rewards ledger see a ledger of the same size.

People, accounts and cards are made through the real services. The history is written
with raw batched inserts (``executemany`` on SQLite, ``COPY`` on PostgreSQL), which is
what makes a million rows take seconds instead of minutes; the ledger caches are then
rebuilt from the rows, as after any bulk load.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

ACCOUNT_CARDS = {"personal": 10, "business": 40}
YEARS = 3
PENDING_DAYS = 4
BATCH = 20_000
SEED = 20_240_601

MERCHANTS = {
    "dining": ("5812", ["Corner Bistro", "Luigi's Trattoria", "Green Bowl", "Harbor Grill", "Taco Loco", "Sushi Go"]),
    "groceries": ("5411", ["FreshMart", "Whole Harvest", "Main St Grocer", "Fieldstone Market"]),
    "travel": ("3000", ["Skyways Airlines", "Harbor Hotel", "Northstar Rail", "Summit Lodge"]),
    "transport": ("4121", ["CityCab", "RideNow", "Metro Transit", "ParkRight Garage"]),
    "fuel": ("5541", ["QuickFuel", "Gas & Go", "Highway Energy", "Sunrise Fuel"]),
    "shopping": ("5311", ["MegaStore", "Urban Outfit", "Book Nook", "Tech Hub"]),
    "entertainment": ("7832", ["Cineplex 12", "Stadium Tickets", "StreamFlix"]),
    "utilities": ("4900", ["City Power", "Metro Water", "FiberNet"]),
    "services": ("7399", ["Copy & Print", "CloudDesk", "Courier Express", "Office Supply Co"]),
    "health": ("5912", ["Wellness Pharmacy", "City Clinic"]),
}
CATEGORY_WEIGHTS = [30, 18, 6, 10, 10, 10, 5, 3, 6, 2]
# The columns _history fills, in the order of its tuples.
TXN_FIELDS = (
    "id",
    "account_id",
    "card_id",
    "kind",
    "status",
    "amount",
    "currency",
    "original_amount",
    "original_currency",
    "merchant_name",
    "merchant_city",
    "merchant_country",
    "mcc",
    "category",
    "card_present",
    "network_id",
    "decline_reason",
    "transacted_at",
    "posted_at",
    "created_at",
)
REWARD_FIELDS = ("account_id", "transaction_id", "kind", "unit", "quantity", "description", "created_at", "id")


@dataclass
class World:
    user: object
    program: object
    personal_account: object
    business_account: object
    cards: list
    authorization_card: object  # an IssuedCard: the number goes in webhook events
    transactions: int
    reward_entries: int


def build(*, transactions: int, progress: Callable[[str], None] = print) -> World:
    world = _people_and_cards()
    progress(f"  made 1 login, 2 accounts and {len(world.cards)} cards through the services")
    loaded = bulk_load(world, count=transactions, progress=progress)
    world.transactions, world.reward_entries = loaded
    from cards.ledger import ledger_rebuild

    ledger_rebuild(account_ids=[world.personal_account.pk, world.business_account.pk])
    progress("  rebuilt the accounts' ledger caches from the rows")
    return world


@transaction.atomic
def _people_and_cards() -> World:
    from accounts.models import Cardholder, User
    from cards import services
    from cards.models import BusinessProgram, Card, CardProduct

    rng = random.Random(SEED)
    gold = CardProduct.objects.create(
        code="bench-gold",
        name="Gold Card",
        kind=CardProduct.Kind.CHARGE,
        segment=CardProduct.Segment.PERSONAL,
        rewards_kind=CardProduct.RewardsKind.POINTS,
        base_earn_rate=Decimal("1.0000"),
    )
    business = CardProduct.objects.create(
        code="bench-business",
        name="Business Platinum Card",
        kind=CardProduct.Kind.CHARGE,
        segment=CardProduct.Segment.BUSINESS,
        rewards_kind=CardProduct.RewardsKind.POINTS,
        base_earn_rate=Decimal("1.0000"),
    )

    def person(name: str) -> Cardholder:
        return Cardholder.objects.create(
            legal_name=name,
            name_on_card=name.upper()[:26],
            date_of_birth=dt.date(1970 + rng.randint(0, 30), rng.randint(1, 12), rng.randint(1, 28)),
            postal_code=f"{rng.randint(10000, 99999)}",
            email=f"{name.lower().replace(' ', '.')}@bench.example.com",
        )

    holder = person("Morgan Bench")
    user = User.objects.create_user("bench-admin", None, cardholder=holder)  # signs in by force_login
    program = BusinessProgram.objects.create(name="Benchmark Logistics")
    program.administrators.add(user)
    opened = timezone.localdate() - dt.timedelta(days=365 * YEARS + 30)
    personal = services.account_open(product=gold, primary_cardholder=holder, statement_day=15, opened_on=opened)
    company = services.account_open(
        product=business,
        primary_cardholder=person("Benchmark Logistics Treasury"),
        statement_day=5,
        business_program=program,
        opened_on=opened,
    )
    expiry_year = timezone.localdate().year + 3

    def issue(account, who, role, **kwargs):
        return services.card_issue(
            account=account, holder=who, role=role, expiry_month=8, expiry_year=expiry_year, active=True, **kwargs
        )

    cards = [issue(personal, holder, Card.Role.BASIC).card]
    cards += [
        issue(personal, person(f"Family Member {n:02d}"), Card.Role.SUPPLEMENTARY).card
        for n in range(1, ACCOUNT_CARDS["personal"])
    ]
    employees = [
        issue(company, person(f"Employee {n:02d}"), Card.Role.EMPLOYEE, monthly_limit=Decimal("25000.00"))
        for n in range(1, ACCOUNT_CARDS["business"] + 1)
    ]
    # The authorization benchmark's card: an employee card with a monthly limit, so
    # each decision also sums the card's spend this month (the heaviest path).
    authorization_card = employees[0]
    services.employee_card_limit_set(actor=user, card=authorization_card.card, monthly_limit=Decimal("900000000.00"))
    cards += [issued.card for issued in employees]
    return World(user, program, personal, company, cards, authorization_card, 0, 0)


# --- The history, in bulk ------------------------------------------------------------------


def _columns(model, filled: tuple[str, ...]) -> tuple[list[str], tuple]:
    """The columns to insert: ``filled`` (by attribute name), then any other concrete
    column with a constant (its default, or NULL), so a field added to the model later
    does not break the load."""
    names = [model._meta.get_field(name).column if name != "id" else model._meta.pk.column for name in filled]
    extra = []
    for field in model._meta.concrete_fields:
        if field.attname in filled or (field.primary_key and "id" in filled):
            continue
        if field.null:
            value = None
        elif field.has_default():
            value = field.get_db_prep_save(field.get_default(), connection)
        else:
            raise RuntimeError(f"benchmarks.dataset does not know how to fill {model.__name__}.{field.attname}")
        names.append(field.column)
        extra.append(value)
    return names, tuple(extra)


def _history(world: World, count: int, first_id: int) -> Iterator[tuple[tuple, tuple | None]]:
    """(transaction, reward entry or None) in time order, deterministic. Written for
    speed (it runs a million times): times are built on naive UTC and turned into the
    driver's form once, amounts are integer cents."""
    sqlite = connection.vendor == "sqlite"
    rng = random.Random(SEED)
    now = timezone.now().astimezone(dt.UTC).replace(tzinfo=None)
    start = now - dt.timedelta(days=365 * YEARS)
    span = (now - start).total_seconds()
    pending_from = now - dt.timedelta(days=PENDING_DAYS)

    def when(value: dt.datetime):
        return value.isoformat(" ") if sqlite else value.replace(tzinfo=dt.UTC)

    def money(cents: int):
        text = f"{'-' if cents < 0 else ''}{abs(cents) // 100}.{abs(cents) % 100:02d}"
        return text if sqlite else Decimal(text)

    categories = list(MERCHANTS)
    cumulative = list(itertools.accumulate(CATEGORY_WEIGHTS))
    total_weight = cumulative[-1]
    card_ids = [card.pk for card in world.cards]
    account_of = {card.pk: card.account_id for card in world.cards}
    payment_every = max(1, count // (12 * YEARS * 2))
    step = span / count
    random_ = rng.random
    for n in range(count):
        txn_id = first_id + n
        at = start + dt.timedelta(seconds=(n + random_()) * step)
        card_id = card_ids[int(random_() * len(card_ids))]
        account_id = account_of[card_id]
        category = categories[bisect.bisect_right(cumulative, random_() * total_weight)]
        mcc, names = MERCHANTS[category]
        cents = rng.randint(300, 25_000)
        kind, status, decline = "purchase", "posted", ""
        merchant = names[int(random_() * len(names))]
        if n % payment_every == payment_every - 1:
            kind, cents, card_id, category, mcc, merchant = "payment", -cents * 40, None, "other", "", ""
        else:
            roll = random_()
            if roll < 0.02:
                kind, cents = "refund", -cents
            elif roll < 0.035:
                status, decline = "declined", "over_monthly_limit"
            elif at >= pending_from:
                status = "pending"
        posted_at = min(at + dt.timedelta(hours=4 + 56 * random_()), now) if status == "posted" else None
        merchant_city, merchant_country = ("Columbus", "US") if merchant else ("", "")
        created = when(at)
        reward = None
        if kind == "purchase" and status == "posted":
            posted = when(posted_at)
            reward = (account_id, txn_id, "earn", "points", money(cents // 100 * 100), "", posted)
        else:
            posted = when(posted_at) if posted_at else None
        # In TXN_FIELDS order.
        yield (
            (
                txn_id,
                account_id,
                card_id,
                kind,
                status,
                money(cents),
                "USD",
                None,
                "",
                merchant,
                merchant_city,
                merchant_country,
                mcc,
                category,
                bool(merchant) and random_() < 0.6,
                f"bench-{txn_id:09d}",
                decline,
                created,
                posted,
                created,
            ),
            reward,
        )


def bulk_load(world: World, *, count: int, progress: Callable[[str], None]) -> tuple[int, int]:
    from django.core.management.color import no_style

    from cards.models import RewardEntry, Transaction

    first_id = (Transaction.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    first_reward = (RewardEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    txn_columns, txn_extra = _columns(Transaction, TXN_FIELDS)
    reward_columns, reward_extra = _columns(RewardEntry, REWARD_FIELDS)

    writer = _Writer([Transaction._meta.db_table, RewardEntry._meta.db_table])
    rewards: list[tuple] = []
    batch: list[tuple] = []
    reward_id, written = first_reward, 0
    for row, reward in _history(world, count, first_id):
        batch.append(row + txn_extra if txn_extra else row)
        if reward is not None:
            rewards.append((*reward, reward_id, *reward_extra))
            reward_id += 1
        if len(batch) >= BATCH:
            writer.write(Transaction._meta.db_table, txn_columns, batch)
            writer.write(RewardEntry._meta.db_table, reward_columns, rewards)
            written += len(batch)
            batch, rewards = [], []
            if written % 200_000 == 0:
                progress(f"  {written:,} transactions written")
    writer.write(Transaction._meta.db_table, txn_columns, batch)
    writer.write(RewardEntry._meta.db_table, reward_columns, rewards)
    if writer.indexes:
        progress(f"  {count:,} rows written; rebuilding the indexes")
    writer.finish()
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Transaction, RewardEntry]):
            cursor.execute(sql)
        if connection.vendor == "postgresql":
            # Statistics as autovacuum would gather them on a live server. SQLite is
            # left as the portal leaves it: Django never runs ANALYZE there.
            cursor.execute("ANALYZE")
    return count, reward_id - first_reward


class _Writer:
    """Batched inserts, one database transaction per batch. On SQLite the load runs
    without waiting for the disk and with the tables' secondary indexes dropped, which
    are then rebuilt in one sort each (several times faster than updating eight B-trees
    a row at a time); ``synchronous`` is restored before anything is measured."""

    def __init__(self, tables: list[str]) -> None:
        self.sqlite = connection.vendor == "sqlite"
        self.indexes: list[str] = []
        # Inside a transaction (a test) SQLite refuses to change `synchronous`: load plainly.
        self.fast = self.sqlite and not connection.in_atomic_block
        if self.fast:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous")
                self.synchronous = cursor.fetchone()[0]
                cursor.execute("PRAGMA synchronous = OFF")
                marks = ", ".join("?" * len(tables))
                cursor.execute(
                    f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "  # noqa: S608
                    f"AND tbl_name IN ({marks})",
                    tables,
                )
                for name, sql in cursor.fetchall():
                    self.indexes.append(sql)
                    cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")

    def write(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        quote = connection.ops.quote_name
        names = ", ".join(quote(column) for column in columns)
        with transaction.atomic(), connection.cursor() as cursor:
            if self.sqlite:
                marks = ", ".join("?" * len(columns))
                cursor.cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})", rows)  # noqa: S608
            else:
                with cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)

    def finish(self) -> None:
        if self.fast:
            with connection.cursor() as cursor:
                for sql in self.indexes:
                    cursor.execute(sql)
                cursor.execute(f"PRAGMA synchronous = {int(self.synchronous)}")
