"""Who reaches which cardholder page: each URL × each role (tests/cards/conftest.py
``roles``). A card or transaction that is not yours and one that does not exist are the
same 404; anonymous visitors are sent to sign in."""

from decimal import Decimal

import pytest
from django.urls import reverse

from cards.models import Transaction
from tests.factories import TransactionFactory

pytestmark = pytest.mark.django_db

MISSING = 10**9

# The cards each role may open (see the roles fixture).
SEES_CARDS = {
    "owner": {"basic", "supp"},
    "supplementary": {"supp"},
    "employee": {"employee"},
    "admin": {"employee", "colleague"},
    "other_admin": {"outsider"},
    "stranger": {"stranger"},
}
# Accounts they manage: the whole account, rewards included.
MANAGES_CARDS = {
    "owner": {"basic", "supp"},
    "supplementary": set(),
    "employee": set(),
    "admin": {"employee", "colleague"},
    "other_admin": {"outsider"},
    "stranger": {"stranger"},
}
# Transactions: one on each card, and a payment on the owner's account (no card).
SEES_TRANSACTIONS = {role: set(cards) for role, cards in SEES_CARDS.items()} | {"owner": {"basic", "supp", "payment"}}

CARD_URLS = [
    ("dashboard", "get"),
    ("freeze", "post"),
    ("unfreeze", "post"),
    ("report_lost", "get"),
    ("report_lost", "post"),
]


@pytest.fixture
def transactions(roles):
    made = {name: TransactionFactory(card=card, merchant_name=f"Shop {name}") for name, card in roles.cards.items()}
    made["payment"] = TransactionFactory(
        card=None,
        account=roles.cards["basic"].account,
        kind=Transaction.Kind.PAYMENT,
        amount=Decimal("-100.00"),
        merchant_name="Payment received",
        category="other",
    )
    return made


def card_url(name: str, card_id: int) -> str:
    if name == "dashboard":
        return reverse("cards:dashboard") + f"?card={card_id}"
    return reverse(f"cards:{name}", args=[card_id])


def outcome(response) -> str:
    return "404" if response.status_code == 404 else f"ok {response.status_code // 100}xx"


def request(client, method: str, url: str, data=None):
    return client.post(url, data or {}) if method == "post" else client.get(url)


@pytest.mark.parametrize("role", list(SEES_CARDS))
@pytest.mark.parametrize(("name", "method"), CARD_URLS)
def test_card_pages_open_only_cards_the_role_may_see_and_404_otherwise(client, roles, role, name, method):
    client.force_login(roles.users[role])
    targets = {card: obj.pk for card, obj in roles.cards.items()} | {"missing": MISSING}

    observed = {card: outcome(request(client, method, card_url(name, pk))) for card, pk in targets.items()}

    success = "ok 2xx" if method == "get" else "ok 3xx"
    expected = {card: success if card in SEES_CARDS[role] else "404" for card in targets}
    assert observed == expected


@pytest.mark.parametrize("role", list(SEES_TRANSACTIONS))
def test_transaction_detail_opens_only_transactions_the_role_may_see(client, roles, transactions, role):
    client.force_login(roles.users[role])
    targets = {name: txn.pk for name, txn in transactions.items()} | {"missing": MISSING}

    observed = {name: outcome(client.get(reverse("cards:transaction", args=[pk]))) for name, pk in targets.items()}

    assert observed == {name: "ok 2xx" if name in SEES_TRANSACTIONS[role] else "404" for name in targets}


@pytest.mark.parametrize("role", list(MANAGES_CARDS))
def test_redeeming_rewards_is_only_for_those_who_manage_the_account(client, roles, role):
    client.force_login(roles.users[role])
    targets = {card: obj.pk for card, obj in roles.cards.items()} | {"missing": MISSING}

    observed = {
        card: outcome(client.post(reverse("cards:rewards"), {"card": pk, "quantity": "1000", "idempotency_key": "x"}))
        for card, pk in targets.items()
    }

    # A manager's post reaches the form (200: here with "not enough points").
    assert observed == {card: "ok 2xx" if card in MANAGES_CARDS[role] else "404" for card in targets}


@pytest.mark.parametrize("role", list(SEES_CARDS))
def test_pages_without_an_id_show_each_role_only_their_cards(client, roles, role):
    client.force_login(roles.users[role])
    html = client.get(reverse("cards:dashboard")).content.decode()

    # Cards in the selector (shown from two cards on), or the chosen card's own controls.
    listed = {
        card
        for card, obj in roles.cards.items()
        if f'?card={obj.pk}"' in html or reverse("cards:report_lost", args=[obj.pk]) in html
    }
    pages = [reverse(f"cards:{name}") for name in ("transactions", "transactions_export", "rewards")]
    assert listed == SEES_CARDS[role]
    assert [client.get(url).status_code for url in pages] == [200, 200, 200]


@pytest.mark.parametrize("role", list(SEES_TRANSACTIONS))
def test_transactions_page_lists_only_what_the_chosen_card_lets_the_role_see(client, roles, transactions, role):
    client.force_login(roles.users[role])
    html = client.get(reverse("cards:transactions")).content.decode()

    listed = {name for name, txn in transactions.items() if reverse("cards:transaction", args=[txn.pk]) in html}
    # The default choice is the user's own card, else the first card they manage:
    # for the owner that is the whole account, for the others their own scope.
    assert listed == SEES_TRANSACTIONS[role]


def test_anonymous_visitors_are_sent_to_sign_in_from_every_page(client, roles, transactions):
    card = roles.cards["basic"].pk
    urls = [("get", reverse("cards:dashboard")), ("get", card_url("dashboard", card))]
    urls += [(method, card_url(name, card)) for name, method in CARD_URLS if name != "dashboard"]
    urls += [("get", reverse("cards:transaction", args=[transactions["basic"].pk]))]
    urls += [("get", reverse(f"cards:{name}")) for name in ("transactions", "transactions_export", "rewards")]
    urls += [("post", reverse("cards:rewards"))]

    responses = [request(client, method, url) for method, url in urls]

    assert [r.status_code for r in responses] == [302] * len(urls)
    assert all(r["Location"].startswith(reverse("two_factor:login")) for r in responses)


def test_card_activation_is_open_to_anyone_holding_the_card(client):
    assert client.get(reverse("cards:activate")).status_code == 200


@pytest.mark.parametrize("raw", ["abc", "-1", "1.5", "9" * 30, ""])
def test_a_malformed_card_choice_is_404_not_an_error(client, roles, raw):
    client.force_login(roles.users["owner"])
    assert client.get(reverse("cards:dashboard"), {"card": raw}).status_code == 404


@pytest.mark.parametrize(("name", "method"), [("freeze", "get"), ("unfreeze", "get"), ("dashboard", "post")])
def test_card_controls_refuse_the_wrong_method(client, roles, name, method):
    client.force_login(roles.users["owner"])
    url = card_url(name, roles.cards["basic"].pk)
    assert request(client, method, url).status_code == 405
