"""The load test's data set, on the database named by ``DATABASE_URL`` (``portal_load``).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_load .venv/bin/python load/dataset.py \
        --cardholders 250 --out var/load/users.json

For each of N cardholders: an enrolled login (verified email, one shared password, joined
months ago), a personal charge account opened five months ago with one active card, a
bank account to pay from, a remembered browser (``TrustedDevice``; the raw cookie token
goes to the output file only, its SHA-256 to the database, as ``security.devices`` does),
the "every purchase" email alert turned on (so processor traffic fills the outbox), and
a few months of posted purchases with their closed statements. PDFs are not rendered
here: the first download of a statement asks a Celery worker for it, as in production
after a cycle close, and the load report shows how often that happened.

People, accounts, cards and bank accounts go through the real services; the history is
bulk-inserted and the ledger caches and statements derived from it afterwards, as
``seed_demo`` does. The output (read by load/locustfile.py and load/check.py) holds the
test logins' secrets: it is written under var/ (ignored by git) with mode 0600.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import secrets
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Cardholder, User  # noqa: E402
from cards import ledger, payments, services  # noqa: E402
from cards.models import AlertPreference, Card, CardProduct, Transaction  # noqa: E402
from security.models import TrustedDevice  # noqa: E402
from statements.models import Statement  # noqa: E402
from statements.services import statements_backfill  # noqa: E402

PASSWORD = "Load-test-passphrase-2041"  # passes the policy; these logins exist only in portal_load
ROUTING_NUMBER = "021000021"  # a valid ABA checksum
USER_AGENT_DEVICE = "Chrome on Windows"
MERCHANTS = (
    ("Whole Foods Market", "5411", "groceries"),
    ("Shell Oil", "5541", "fuel"),
    ("Olive Garden", "5812", "dining"),
    ("Amazon.com", "5942", "shopping"),
    ("Uber Trip", "4121", "transport"),
    ("CVS Pharmacy", "5912", "health"),
    ("Netflix", "4899", "entertainment"),
    ("Verizon Wireless", "4814", "utilities"),
)
SEED = 20261128


def _product() -> CardProduct:
    product, _ = CardProduct.objects.get_or_create(
        code="load-gold",
        defaults={
            "name": "Gold Card",
            "kind": CardProduct.Kind.CHARGE,
            "segment": CardProduct.Segment.PERSONAL,
            "rewards_kind": CardProduct.RewardsKind.POINTS,
            "base_earn_rate": Decimal("1.0000"),
        },
    )
    return product


def _person(index: int, rng: random.Random, password_hash: str, today: dt.date, product: CardProduct) -> dict:
    username = f"load{index:04d}"
    email = f"{username}@load.example.com"
    joined = timezone.now() - dt.timedelta(days=200 + rng.randint(0, 100))
    holder = Cardholder.objects.create(
        legal_name=f"Load Tester {index:04d}",
        name_on_card=f"LOAD TESTER {index:04d}",
        date_of_birth=dt.date(1960 + rng.randint(0, 40), rng.randint(1, 12), rng.randint(1, 28)),
        postal_code=f"{rng.randint(10000, 99999)}",
        email=email,
        created_at=joined - dt.timedelta(days=30),
    )
    user = User.objects.create(
        username=username,
        password=password_hash,
        cardholder=holder,
        email=email,
        email_verified_at=joined,
        date_joined=joined,
    )
    account = services.account_open(
        product=product,
        primary_cardholder=holder,
        statement_day=1 + index % 28,
        opened_on=today - dt.timedelta(days=150),
    )
    card = services.card_issue(
        account=account,
        holder=holder,
        role=Card.Role.BASIC,
        expiry_month=1 + index % 12,
        expiry_year=today.year + 3,
        active=True,
    ).card
    method = payments.payment_method_add(
        user=user, nickname="Checking", routing_number=ROUTING_NUMBER, account_number=f"{7000000 + index}"
    )
    token = secrets.token_urlsafe(32)
    TrustedDevice.objects.create(
        user=user,
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        name=USER_AGENT_DEVICE,
        first_used_at=joined,
        last_network="127.0.0.0/24",
    )
    AlertPreference.objects.create(user=user, kind=AlertPreference.Kind.PURCHASE, email=True)
    return {
        "username": username,
        "user_id": user.pk,
        "device_token": token,
        "account_id": account.pk,
        "card_id": card.pk,
        "card_token": card.processor_token,
        "method_id": method.pk,
    }


def _history(people: list[dict], *, per_card: int, today: dt.date, rng: random.Random) -> int:
    """Posted purchases over the last ~140 days, bulk-inserted."""
    rows = []
    start = timezone.now() - dt.timedelta(days=140)
    for person in people:
        for n in range(per_card):
            name, mcc, category = MERCHANTS[rng.randrange(len(MERCHANTS))]
            when = start + dt.timedelta(seconds=rng.randint(0, 139 * 86400))
            rows.append(
                Transaction(
                    account_id=person["account_id"],
                    card_id=person["card_id"],
                    kind=Transaction.Kind.PURCHASE,
                    status=Transaction.Status.POSTED,
                    amount=Decimal(f"{rng.uniform(3, 180):.2f}"),
                    currency="USD",
                    merchant_name=name,
                    merchant_city="New York",
                    merchant_country="US",
                    mcc=mcc,
                    category=category,
                    card_present=rng.random() < 0.7,
                    network_id=f"load-{person['card_id']}-{n}",
                    transacted_at=when,
                    posted_at=when,
                    created_at=when,
                )
            )
    Transaction.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cardholders", type=int, default=250)
    parser.add_argument("--transactions-per-card", type=int, default=150)
    parser.add_argument("--out", default=str(ROOT / "var" / "load" / "users.json"))
    options = parser.parse_args(argv)
    if options.cardholders < 1 or options.transactions_per_card < 1:
        parser.error("--cardholders and --transactions-per-card must be at least 1")
    if User.objects.filter(username__startswith="load").exists():
        parser.error("this database already has load users: load/run.sh recreates it before seeding")

    started = time.monotonic()
    rng = random.Random(SEED)  # noqa: S311 - test data, not secrets
    today = timezone.localdate()
    # One Argon2id hash for every login (they share the password): hashing 250 of them
    # would cost ~8 s and prove nothing.
    password_hash = make_password(PASSWORD)
    product = _product()
    people = []
    for first in range(0, options.cardholders, 50):
        with transaction.atomic():
            for index in range(first + 1, min(first + 50, options.cardholders) + 1):
                people.append(_person(index, rng, password_hash, today, product))
    made_people = time.monotonic()
    count = _history(people, per_card=options.transactions_per_card, today=today, rng=rng)
    account_ids = [person["account_id"] for person in people]
    ledger.ledger_rebuild(account_ids=account_ids)
    statements = statements_backfill(account_ids=account_ids)
    by_account: dict[int, list[int]] = {}
    for statement_id, account_id in Statement.objects.filter(account_id__in=account_ids).values_list(
        "pk", "account_id"
    ):
        by_account.setdefault(account_id, []).append(statement_id)
    samples: dict[int, list[int]] = {}
    for txn_id, account_id in Transaction.objects.filter(account_id__in=account_ids).values_list("pk", "account_id"):
        bucket = samples.setdefault(account_id, [])
        if len(bucket) < 10:
            bucket.append(txn_id)
    for person in people:
        person["statement_ids"] = by_account.get(person["account_id"], [])
        person["transaction_ids"] = samples.get(person["account_id"], [])

    out = Path(options.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch(mode=0o600)
    out.write_text(json.dumps({"password": PASSWORD, "users": people}))
    print(
        f"load data: {len(people)} cardholders with a remembered device, card and bank account "
        f"({made_people - started:.1f}s); {count:,} transactions; {statements} statements (PDFs not rendered); "
        f"{time.monotonic() - started:.1f}s in all -> {out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
