"""The demo world: its shape, its idempotency, its reset, and above all that the card
numbers and card IDs it prints are stored nowhere."""

import datetime as dt
import io
import json
import logging
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import Cardholder, User
from cards import cardnumbers, services
from cards.demo import world as demo_world
from cards.models import BusinessProgram, Card, CardAccount, CardProduct, EarnRate, RewardEntry, Transaction
from tests.factories import TransactionFactory, UserFactory, issue_card, open_account

pytestmark = pytest.mark.django_db

# A row of the not-yet-enrolled table: "3797 641412 47035  11/30   6710     Active ..."
CARD_ROW = re.compile(r"^(\d{4} \d{6} \d{5})\s+(\d{2})/(\d{2})\s+(\d{4})\s", re.MULTILINE)
ANY_GROUPED_PAN = re.compile(r"\d{4} \d{6} \d{5}")
LOGIN_ROW = re.compile(r"^(demo\.[a-z0-9]+) {2,}(\S+) {2,}", re.MULTILINE)
# Fields whose values are legitimately 4-digit codes; a card ID may coincide with one.
FOUR_DIGIT_FIELDS = {("cards.transaction", "mcc"), ("cards.card", "last4"), ("statements.statementline", "card_last4")}
COUNTED = (Cardholder, User, CardAccount, Card, Transaction, RewardEntry, BusinessProgram, CardProduct, EarnRate)


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--years", "1", *args, stdout=out)
    return out.getvalue()


def printed_cards(output: str) -> list[dict]:
    return [
        {"grouped": grouped, "pan": grouped.replace(" ", ""), "expiry": (int(mm), 2000 + int(yy)), "card_id": cid}
        for grouped, mm, yy, cid in CARD_ROW.findall(output)
    ]


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def strings_in(value):
    """Every string inside a dumped field value, however nested (JSON fields)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def test_printed_card_numbers_and_card_ids_verify_against_unenrolled_cards():
    cards = printed_cards(seed())
    assert len(cards) >= 4
    for printed in cards:
        card = services.card_find_by_number(pan=printed["grouped"])
        assert card is not None
        assert (card.expiry_month, card.expiry_year) == printed["expiry"]
        assert cardnumbers.card_id_matches(
            pan=printed["pan"],
            expiry_month=card.expiry_month,
            expiry_year=card.expiry_year,
            card_id=printed["card_id"],
        )
        assert not User.objects.filter(cardholder_id=card.holder_id).exists()


def test_database_dump_contains_no_printed_card_number_or_card_id():
    output = seed()
    cards = printed_cards(output)
    assert cards
    numbers = {form for printed in cards for form in (printed["pan"], printed["grouped"])}
    numbers |= {f"{p['pan'][:4]}-{p['pan'][4:10]}-{p['pan'][10:]}" for p in cards}
    card_ids = {printed["card_id"] for printed in cards}

    dump = io.StringIO()
    call_command("dumpdata", format="json", stdout=dump)
    text = dump.getvalue()
    assert '"model": "cards.transaction"' in text  # the dump really holds the world
    assert [number for number in numbers if number in text] == []

    found = [
        (obj["model"], name, value)
        for obj in json.loads(text)
        for name, field_value in obj["fields"].items()
        for value in strings_in(field_value)
        if value in card_ids and (obj["model"], name) not in FOUR_DIGIT_FIELDS
    ]
    assert found == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="iterdump is SQLite's")
def test_sqlite_dump_contains_no_printed_card_number():
    cards = printed_cards(seed())
    connection.ensure_connection()
    sql = "\n".join(connection.connection.iterdump())
    assert "cards_transaction" in sql
    assert [p["pan"] for p in cards if p["pan"] in sql or p["grouped"] in sql] == []


def test_card_numbers_never_reach_the_logs(caplog):
    caplog.set_level(logging.DEBUG)
    cards = printed_cards(seed())
    logged = caplog.text + " ".join(repr(record.args) for record in caplog.records)
    assert cards
    assert [p for p in cards if p["pan"] in logged or p["grouped"] in logged] == []


def test_second_run_changes_nothing_and_says_how_to_get_numbers_again():
    first = seed()
    before = row_counts()
    second = seed()
    assert row_counts() == before
    assert "already in this database" in second
    assert "seed_demo --reset" in second
    assert ANY_GROUPED_PAN.search(second) is None
    assert LOGIN_ROW.findall(second) == LOGIN_ROW.findall(first)


def test_reset_rebuilds_the_world_with_fresh_card_numbers():
    first = printed_cards(seed())
    before = row_counts()
    output = seed("--reset")
    second = printed_cards(output)
    assert "Deleted the old demo world" in output
    assert row_counts() == before
    assert len(second) == len(first)
    assert {p["pan"] for p in first}.isdisjoint({p["pan"] for p in second})
    assert all(services.card_find_by_number(pan=p["pan"]) is None for p in first)
    assert all(services.card_find_by_number(pan=p["pan"]) is not None for p in second)


def test_reset_leaves_everything_outside_the_demo_world_alone():
    user = UserFactory(cardholder__email="someone@example.com")
    issued = issue_card(account=open_account(holder=user.cardholder))
    TransactionFactory(card=issued.card)
    seed()
    seed("--reset")
    assert User.objects.filter(pk=user.pk).exists()
    assert Card.objects.filter(pk=issued.card.pk).exists()
    assert Transaction.objects.filter(card=issued.card).count() == 1


def test_reset_also_removes_a_login_someone_enrolled_on_a_demo_card():
    seed()
    holder = Cardholder.objects.get(legal_name="Daniel Okafor")
    UserFactory(username="daniel.tries", cardholder=holder)
    seed("--reset")
    assert not User.objects.filter(username="daniel.tries").exists()
    assert Cardholder.objects.filter(legal_name="Daniel Okafor").count() == 1


def test_failed_build_leaves_nothing_behind(monkeypatch):
    def explode(self, items):
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo_world._Builder, "_write", explode)
    with pytest.raises(RuntimeError):
        seed()
    assert not demo_world.world_exists()
    assert Card.objects.count() == 0


def test_world_has_personal_cards_of_every_kind():
    seed()
    supplementary = Card.objects.select_related("account").get(role=Card.Role.SUPPLEMENTARY)
    assert supplementary.holder_id != supplementary.account.primary_cardholder_id
    assert supplementary.account.product.kind == CardProduct.Kind.CREDIT
    assert supplementary.account.credit_limit > 0 and supplementary.account.product.annual_rate > 0
    both = User.objects.get(username="demo.both").cardholder
    kinds = set(Card.objects.filter(holder=both).values_list("account__product__kind", flat=True))
    assert kinds == {CardProduct.Kind.CHARGE, CardProduct.Kind.CREDIT}
    assert Card.objects.filter(status=Card.Status.INACTIVE, activated_at__isnull=True).count() == 1
    assert EarnRate.objects.filter(product__code="gold-charge").count() >= 2


def test_world_has_a_business_program_with_administrators_and_employee_cards():
    seed()
    program = BusinessProgram.objects.get(name="Northwind Logistics")
    assert set(program.administrators.values_list("username", flat=True)) == {"demo.admin1", "demo.admin2"}
    employee_cards = Card.objects.filter(role=Card.Role.EMPLOYEE)
    assert 25 <= employee_cards.count() <= 35
    assert not employee_cards.filter(monthly_limit__isnull=True).exists()
    assert not employee_cards.exclude(account__business_program=program).exists()
    assert program.accounts.filter(product__segment=CardProduct.Segment.BUSINESS).count() >= 2


def test_world_has_unenrolled_cardholders_and_verified_demo_logins():
    output = seed()
    unenrolled = Cardholder.objects.filter(user__isnull=True, cards__isnull=False).distinct()
    assert unenrolled.count() >= 4
    logins = LOGIN_ROW.findall(output)
    assert {"demo.gold", "demo.cash", "demo.both", "demo.admin1", "demo.admin2", "demo.staff"} <= dict(logins).keys()
    for username, password in logins:
        user = User.objects.get(username=username)
        assert user.check_password(password)
        assert user.email and user.email_verified_at is not None
    for user in User.objects.filter(cardholder__isnull=False).select_related("cardholder"):
        assert (user.email, user.phone) == (user.cardholder.email, user.cardholder.phone)
        assert user.phone_verified_at is not None
    staff = User.objects.get(username="demo.staff")
    assert staff.is_staff and staff.is_superuser


def test_world_has_varied_transactions():
    seed()
    pending = Transaction.objects.filter(status=Transaction.Status.PENDING)
    assert pending.exists()
    assert not pending.filter(posted_at__isnull=False).exists()
    foreign = Transaction.objects.exclude(original_currency="")
    assert foreign.filter(original_amount__isnull=False).count() == foreign.count() > 0
    assert {"EUR", "GBP", "JPY"} & set(foreign.values_list("original_currency", flat=True))
    purchases = Transaction.objects.filter(kind=Transaction.Kind.PURCHASE)
    assert purchases.filter(card_present=True).exists() and purchases.filter(card_present=False).exists()
    assert purchases.values("category").distinct().count() >= 8
    payments = Transaction.objects.filter(kind=Transaction.Kind.PAYMENT, account__business_program__isnull=True)
    assert payments.exists()
    assert not payments.filter(card__isnull=False).exists() and not payments.filter(amount__gte=0).exists()


def test_rewards_are_earned_once_for_each_posted_purchase_at_the_product_rate():
    seed()
    earns = RewardEntry.objects.filter(kind=RewardEntry.Kind.EARN).select_related("transaction")
    assert earns.exists()
    assert not earns.exclude(transaction__kind=Transaction.Kind.PURCHASE).exists()
    assert not earns.exclude(transaction__status=Transaction.Status.POSTED).exists()
    dining = earns.filter(
        transaction__category="dining", account__product__code="gold-charge", transaction__amount__gte=10
    ).first()
    assert dining.quantity == (dining.transaction.amount * 4).quantize(1)


def test_years_must_be_at_least_one():
    with pytest.raises(CommandError):
        call_command("seed_demo", "--years", "0", stdout=io.StringIO())


def test_printable_card_repr_shows_only_the_last_four_digits():
    card = demo_world.PrintableCard(
        holder="Ann Example",
        date_of_birth=dt.date(1980, 1, 2),
        postal_code="10011",
        product="Gold Card",
        role="Basic card member",
        status="Active",
        pan="379764123456789",
        expiry="08/29",
        card_id="4821",
    )
    assert "379764123456789" not in repr(card) and "4821" not in repr(card) and "6789" in repr(card)
    assert "379764123456789" not in repr(demo_world.DemoWorld(logins=[], cards=[card], unprinted_unenrolled=0))


def test_balances_shown_to_users_match_the_seeded_rows():
    from cards.ledger import ledger_verify
    from cards.models import CardAccount

    seed()
    checked, mismatches = ledger_verify()
    assert checked == CardAccount.objects.count() > 0
    assert mismatches == []
    assert CardAccount.objects.exclude(posted_balance=0).exists()
