"""The transactions page (search, filters, keyset pages), the transaction detail page and
the CSV / OFX downloads."""

import csv
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cards import processing, selectors
from cards.models import Transaction
from tests.cards.conftest import event
from tests.factories import TransactionFactory, issue_card

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def iso(days: int) -> str:
    return (NOW - dt.timedelta(days=days)).date().isoformat()


def listed(html: str) -> list[str]:
    """Merchant names in the transaction table, in page order."""
    return re.findall(r'<a href="/cards/transactions/\d+/">([^<]+)</a>', html)


def get(client, user, **params):
    client.force_login(user)
    return client.get(reverse("cards:transactions"), params)


@pytest.fixture
def history(charge_card):
    """A handful of varied transactions on one card, newest first by name."""
    card = charge_card.card
    rows = [
        TransactionFactory(card=card, merchant_name="Alpha Cafe", category="dining", amount=Decimal("12.00"),
                           transacted_at=days_ago(1)),
        TransactionFactory(card=card, merchant_name="Beta Grocer", category="groceries", amount=Decimal("80.00"),
                           transacted_at=days_ago(5)),
        TransactionFactory(card=card, merchant_name="Gamma Air", category="travel", amount=Decimal("450.00"),
                           transacted_at=days_ago(20), status=Transaction.Status.PENDING),
        TransactionFactory(card=card, merchant_name="Beta Grocer Refund", category="groceries",
                           kind=Transaction.Kind.REFUND, amount=Decimal("-30.00"), transacted_at=days_ago(30)),
        TransactionFactory(card=card, merchant_name="Delta Old", category="dining", amount=Decimal("9.00"),
                           transacted_at=days_ago(100)),
    ]  # fmt: skip
    return charge_card, rows


# --- Search and filters ------------------------------------------------------------------------


def test_page_lists_the_last_90_days_newest_first(client, history):
    issued, _ = history
    html = get(client, issued.card.holder.user).content.decode()
    assert listed(html) == ["Alpha Cafe", "Beta Grocer", "Gamma Air", "Beta Grocer Refund"]
    assert "download transactions" in html


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "grocer"}, ["Beta Grocer", "Beta Grocer Refund"]),
        ({"category": "dining"}, ["Alpha Cafe"]),
        ({"status": "pending"}, ["Gamma Air"]),
        ({"amount_min": "25", "amount_max": "100"}, ["Beta Grocer", "Beta Grocer Refund"]),
        ({"amount_min": "$400.00"}, ["Gamma Air"]),
        ({"date_from": iso(25)}, ["Alpha Cafe", "Beta Grocer", "Gamma Air"]),
        ({"date_to": iso(4)}, ["Beta Grocer", "Gamma Air", "Beta Grocer Refund"]),
    ],
)  # fmt: skip
def test_filters_narrow_the_list(client, history, params, expected):
    issued, _ = history
    assert listed(get(client, issued.card.holder.user, **params).content.decode()) == expected


def test_card_filter_picks_one_card_of_the_account(client, history):
    issued, _ = history
    other = issue_card(account=issued.card.account, active=True).card
    TransactionFactory(card=other, merchant_name="Second Card Shop", transacted_at=days_ago(2))

    html = get(client, issued.card.holder.user, card=other.pk).content.decode()

    assert listed(html) == ["Second Card Shop"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "2024-13-45"}, "Enter a real date for “from”, like 2025-03-27"),
        ({"date_to": "yesterday"}, "Enter a real date for “to”, like 2025-03-27"),
        ({"date_from": iso(200)}, "For older transactions, see your statements"),
        ({"date_from": iso(0), "date_to": iso(3)},
         "The “to” date must be the same as or after the “from” date"),
        ({"amount_min": "lots"}, "Enter smallest amount as an amount, like 25.00"),
        ({"amount_min": "-5"}, "Enter smallest amount without a minus sign"),
        ({"amount_max": "1.005"}, "Enter largest amount in dollars and cents, like 25.00"),
        ({"amount_min": "50", "amount_max": "10"}, "The largest amount must be the same as or more than the smallest"),
        ({"amount_min": "NaN"}, "Enter smallest amount as an amount, like 25.00"),
        ({"amount_max": "1e999999"}, "Enter largest amount as an amount, like 25.00"),
        ({"card": "99999999"}, "Choose a card from the list"),
        ({"card": "x"}, "Choose a card from the list"),
        ({"category": "casino"}, "Choose a category from the list"),
        ({"status": "lost"}, "Choose a status from the list"),
        ({"q": "x" * 101}, "Ensure this value has at most 100 characters"),
    ],
)  # fmt: skip
def test_bad_filter_input_gets_a_clear_message_never_an_error(client, history, params, message):
    issued, _ = history
    response = get(client, issued.card.holder.user, **params)
    html = response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')

    assert response.status_code == 200
    assert "There is a problem" in html
    assert message in html
    assert listed(html) == []


@pytest.mark.parametrize("cursor", ["garbage", "1.2.3", "99999999999999999.1", "-5.3", "1700000000000000.abc"])
def test_a_broken_page_link_shows_the_newest_transactions(client, history, cursor):
    issued, _ = history
    response = get(client, issued.card.holder.user, before=cursor)
    assert response.status_code == 200
    assert listed(response.content.decode())[0] == "Alpha Cafe"


# --- Keyset pagination --------------------------------------------------------------------------


def test_keyset_pages_walk_every_transaction_once_even_with_equal_times(client, charge_card, settings):
    card = charge_card.card
    same_moment = days_ago(3)
    made = Transaction.objects.bulk_create(
        [
            TransactionFactory.build(card=card, account=card.account, merchant_name=f"Shop {n:03d}",
                                     transacted_at=same_moment if n % 3 else days_ago(3 + n / 100))
            for n in range(130)
        ]
    )  # fmt: skip
    client.force_login(card.holder.user)

    seen, url, pages = [], reverse("cards:transactions"), 0
    while url:
        html = client.get(url).content.decode()
        seen += listed(html)
        pages += 1
        older = re.search(r'href="(\?[^"]*before=[^"]+)">Older', html)
        url = reverse("cards:transactions") + older.group(1).replace("&amp;", "&") if older else None

    assert pages == 3
    assert sorted(seen) == sorted(t.merchant_name for t in made)
    assert len(seen) == len(set(seen))


def test_newer_link_goes_back_to_the_same_page(client, charge_card):
    card = charge_card.card
    Transaction.objects.bulk_create(
        [TransactionFactory.build(card=card, account=card.account, merchant_name=f"Shop {n:03d}",
                                  transacted_at=days_ago(n / 10)) for n in range(120)]
    )  # fmt: skip
    client.force_login(card.holder.user)
    first = client.get(reverse("cards:transactions")).content.decode()
    older = re.search(r'href="(\?[^"]*before=[^"]+)">Older', first).group(1).replace("&amp;", "&")
    second = client.get(reverse("cards:transactions") + older).content.decode()
    newer = re.search(r'href="(\?[^"]*after=[^"]+)">Newer', second).group(1).replace("&amp;", "&")

    back = client.get(reverse("cards:transactions") + newer).content.decode()

    assert listed(back) == listed(first)
    assert listed(second)[0] == "Shop 050"


def test_deep_pages_use_a_keyset_not_an_offset(client, charge_card):
    card = charge_card.card
    Transaction.objects.bulk_create(
        [TransactionFactory.build(card=card, account=card.account, transacted_at=days_ago(n / 100)) for n in range(60)]
    )
    cursor = selectors.Cursor(at=days_ago(0.3), id=10**6).encode()
    client.force_login(card.holder.user)

    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("cards:transactions"), {"before": cursor})

    listing = [q["sql"] for q in queries if 'FROM "cards_transaction"' in q["sql"] and "LIMIT" in q["sql"]]
    assert listing
    assert not any("OFFSET" in sql for sql in listing)


def test_cursor_round_trips_to_the_microsecond():
    at = dt.datetime(2026, 3, 27, 14, 5, 9, 123456, tzinfo=dt.UTC)
    assert selectors.Cursor.decode(selectors.Cursor(at=at, id=42).encode()) == selectors.Cursor(at=at, id=42)


# --- Detail ---------------------------------------------------------------------------------------


def send(issued, type_="authorization", **fields) -> dict:
    return processing.processor_event_handle(event=processing.event_parse(event(type_, card=issued, **fields))).body


def test_detail_shows_merchant_card_status_history_foreign_amount_rate_and_rewards(client, charge_card):
    answer = send(
        charge_card,
        amount="108.50",
        original_amount="100.00",
        original_currency="EUR",
        merchant={"name": "Café de Flore", "mcc": "5812", "city": "Paris", "country": "FR"},
    )
    send(charge_card, "clearing", network_id=answer["network_id"], amount="108.50")
    client.force_login(charge_card.card.holder.user)

    html = client.get(reverse("cards:transaction", args=[answer["transaction_id"]])).content.decode()
    words = " ".join(re.sub(r"<[^>]+>", " ", html).split())

    assert "Café de Flore" in words
    assert "Paris, FR" in words
    assert "Category Dining" in words
    assert f"•••• {charge_card.card.last4}" in words
    assert charge_card.pan not in html
    assert "Foreign amount EUR 100.00" in words or "Foreign amount €100.00" in words
    assert "Exchange rate 1 EUR = 1.0850 USD" in words
    assert "Rewards earned 325 points" in words  # 3X on dining, rounded down
    history = words[words.index("Status history") :]
    assert history.index("Pending") < history.index("Authorized") < history.index("Posted")


def test_detail_of_a_declined_purchase_gives_the_reason_in_words(client, charge_card):
    from cards import services

    user = charge_card.card.holder.user
    services.card_freeze(actor=user, card=charge_card.card)
    answer = send(charge_card, amount="9.99")
    client.force_login(user)

    html = client.get(reverse("cards:transaction", args=[answer["transaction_id"]])).content.decode()

    head = html[html.index('class="txn-head"') : html.index('class="detail-grid"')]
    assert re.search(r">Declined</span>\s*<strong[^>]*>This card is frozen</strong>", head)
    assert "Unfreeze the card" in html


# --- Downloads ------------------------------------------------------------------------------------


def export(client, user, **params):
    client.force_login(user)
    return client.get(reverse("cards:transactions_export"), params)


def body(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


def test_export_page_offers_csv_and_ofx_for_the_last_90_days_by_default(client, history):
    issued, _ = history
    html = export(client, issued.card.holder.user).content.decode()
    assert 'value="csv"' in html
    assert 'value="ofx"' in html
    assert f'value="{(timezone.localdate() - dt.timedelta(days=90)).isoformat()}"' in html


def test_csv_has_a_header_decimal_amounts_and_last4_only(client, history):
    issued, _ = history
    Transaction.objects.filter(merchant_name="Alpha Cafe").update(merchant_name="=HYPERLINK(1)")
    today = timezone.localdate()

    response = export(
        client,
        issued.card.holder.user,
        date_from=(today - dt.timedelta(days=120)).isoformat(),
        date_to=today.isoformat(),
        file_format="csv",
    )
    text = body(response)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="transactions-')
    assert rows[0][:8] == ["Date", "Posted date", "Description", "Card", "Category", "Type", "Status", "Amount"]
    assert [row[2] for row in rows[1:]] == [
        "Delta Old",
        "Beta Grocer Refund",
        "Gamma Air",
        "Beta Grocer",
        "'=HYPERLINK(1)",
    ]
    assert [row[7] for row in rows[1:]] == ["9.00", "-30.00", "450.00", "80.00", "12.00"]
    assert {row[3] for row in rows[1:]} == {f"•••• {issued.card.last4}"}
    assert issued.pan not in text
    assert issued.pan[:6] not in text


def test_ofx_is_a_valid_credit_card_statement_of_posted_transactions(client, history):
    issued, _ = history
    today = timezone.localdate()

    response = export(
        client,
        issued.card.holder.user,
        date_from=(today - dt.timedelta(days=60)).isoformat(),
        date_to=today.isoformat(),
        file_format="ofx",
    )
    text = body(response)

    assert response["Content-Type"] == "application/x-ofx; charset=utf-8"
    assert text.startswith('<?xml version="1.0"')
    assert '<?OFX OFXHEADER="200" VERSION="220"' in text
    root = ET.fromstring(text.encode())
    statement = root.find("CREDITCARDMSGSRSV1/CCSTMTTRNRS/CCSTMTRS")
    assert statement.findtext("CURDEF") == "USD"
    assert statement.findtext("CCACCTFROM/ACCTID") == issued.card.account.reference
    transactions = statement.findall("BANKTRANLIST/STMTTRN")
    # Posted only (the pending one is left out), purchases negative as OFX expects.
    assert [(t.findtext("NAME"), t.findtext("TRNAMT"), t.findtext("TRNTYPE")) for t in transactions] == [
        ("Beta Grocer Refund", "30.00", "CREDIT"),
        ("Beta Grocer", "-80.00", "DEBIT"),
        ("Alpha Cafe", "-12.00", "DEBIT"),
    ]
    assert all(f"card ending {issued.card.last4}" in t.findtext("MEMO") for t in transactions)
    assert statement.findtext("LEDGERBAL/BALAMT") == f"{-issued.card.account.posted_balance:.2f}"
    assert issued.pan not in text


def test_ofx_parses_with_a_strict_ofx_library(client, charge_card):
    from ofxtools.Parser import OFXTree

    TransactionFactory(card=charge_card.card, merchant_name="A very long merchant name that OFX must cut & escape <>")
    today = timezone.localdate()
    response = export(
        client,
        charge_card.card.holder.user,
        date_from=(today - dt.timedelta(days=10)).isoformat(),
        date_to=today.isoformat(),
        file_format="ofx",
    )
    tree = OFXTree()
    tree.parse(io.BytesIO(body(response).encode()))
    ofx = tree.convert()

    statement = ofx.statements[0]
    assert statement.account.acctid == charge_card.card.account.reference
    assert [t.trnamt for t in statement.transactions] == [Decimal("-42.50")]
    assert statement.transactions[0].name == "A very long merchant name that O"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "", "date_to": "", "file_format": "csv"}, "Enter the first date to include"),
        ({"date_from": "2026-01-01", "date_to": "2025-01-01", "file_format": "csv"},
         "The “to” date must be the same as or after the “from” date"),
        ({"date_from": "2024-01-01", "date_to": "2025-06-01", "file_format": "csv"},
         "Choose dates no more than 366 days apart"),
        ({"date_from": "2024-01-01", "date_to": "2024-02-01", "file_format": "pdf"},
         "Choose a file type from the list"),
        ({"date_from": "not a date", "date_to": "2024-02-01", "file_format": "csv"}, "Enter a real date for “from”"),
    ],
)  # fmt: skip
def test_export_with_bad_dates_or_format_explains_instead_of_failing(client, history, params, message):
    issued, _ = history
    response = export(client, issued.card.holder.user, **params)
    html = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in html
    assert message in html


def test_supplementary_holder_exports_only_their_card_and_gets_no_ofx(client, roles):
    TransactionFactory(card=roles.cards["basic"], merchant_name="Owner Thing")
    TransactionFactory(card=roles.cards["supp"], merchant_name="Supp Thing")
    today = timezone.localdate()
    dates = {"date_from": (today - dt.timedelta(days=5)).isoformat(), "date_to": today.isoformat()}

    csv_text = body(export(client, roles.users["supplementary"], file_format="csv", **dates))
    ofx = export(client, roles.users["supplementary"], file_format="ofx", **dates)

    assert "Supp Thing" in csv_text
    assert "Owner Thing" not in csv_text
    assert "Choose a file type from the list" in ofx.content.decode()
