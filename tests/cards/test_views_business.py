"""Business administration pages: who may open them, what they show, and that every
change goes through the card services (nothing changes on bad input)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cards import services
from cards.forms import new_idempotency_key
from cards.models import Card, CardRequest, Transaction
from cards.selectors import month_start
from security.models import SecurityEvent
from tests.factories import (
    BusinessProgramFactory,
    CardholderFactory,
    CardProductFactory,
    TransactionFactory,
    UserFactory,
    issue_card,
    open_account,
)

pytestmark = pytest.mark.django_db

LOGIN_URL = "/account/login/"


def employee_card(account, *, name: str | None = None, limit: str | None = "500.00", holder=None) -> Card:
    holder = holder or CardholderFactory(**({"legal_name": name} if name else {}))
    return issue_card(
        account=account,
        holder=holder,
        role=Card.Role.EMPLOYEE,
        monthly_limit=Decimal(limit) if limit else None,
    ).card


def last_month_day() -> dt.datetime:
    return month_start() - dt.timedelta(days=3)


@pytest.fixture
def world():
    """Program A (administered by `admin`) with two employee cards, one of them the
    `employee` login's; program B with its own administrator and card; a personal
    cardholder; a staff agent who may change any card in the admin."""
    admin, other_admin = UserFactory(cardholder=None), UserFactory(cardholder=None)
    employee = UserFactory()
    program, other_program = BusinessProgramFactory(name="Acme Freight"), BusinessProgramFactory(name="Globex")
    program.administrators.add(admin)
    other_program.administrators.add(other_admin)
    product = CardProductFactory(business=True)
    account = open_account(holder=CardholderFactory(), product=product, program=program)
    other_account = open_account(holder=CardholderFactory(), product=product, program=other_program)
    card = employee_card(account, holder=employee.cardholder, limit="500.00")
    colleague = employee_card(account, name="Zoe Colleague", limit=None)
    other_card = employee_card(other_account, name="Other Person")
    cardholder = UserFactory()
    personal = issue_card(account=open_account(holder=cardholder.cardholder)).card
    staff = UserFactory(cardholder=None, is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="change_card"))
    return {
        "admin": admin,
        "other_admin": other_admin,
        "employee": employee,
        "cardholder": cardholder,
        "staff": staff,
        "program": program,
        "other_program": other_program,
        "account": account,
        "card": card,
        "colleague": colleague,
        "other_card": other_card,
        "personal": personal,
    }


def signed_in(client, user):
    client.force_login(user)
    return client


def status_events():
    return SecurityEvent.objects.filter(kind=SecurityEvent.Kind.CARD_STATUS_CHANGED)


def refreshed(card: Card) -> Card:
    return Card.objects.get(pk=card.pk)


# --- Access: every URL × every role --------------------------------------------------------

# (name, method, which id, what the administrator gets) — ids are filled from the world:
# "program" or "card". Forms posted empty answer 200 with their errors, or act and
# redirect (an empty limit removes it, no ticked category unblocks all).
PAGES = [
    ("business:overview", "get", "program", 200),
    ("business:cards", "get", "program", 200),
    ("business:card_request", "get", "program", 200),
    ("business:card_request", "post", "program", 200),
    ("business:reports", "get", "program", 200),
    ("business:report_csv", "get", "program", 200),
    ("business:transactions_csv", "get", "program", 200),
    ("business:card", "get", "card", 200),
    ("business:card_limit", "get", "card", 200),
    ("business:card_limit", "post", "card", 302),
    ("business:card_categories", "get", "card", 200),
    ("business:card_categories", "post", "card", 302),
    ("business:card_freeze", "post", "card", 302),
    ("business:card_unfreeze", "post", "card", 302),
    ("business:card_close", "get", "card", 200),
    ("business:card_close", "post", "card", 302),
]
PAGE_IDS = [f"{method.upper()} {name}" for name, method, _, _ in PAGES]


def url_for(world, name: str, kind: str, *, program=None, card=None) -> str:
    if kind == "program":
        return reverse(name, args=[(program or world["program"]).pk])
    return reverse(name, args=[(card or world["card"]).pk])


@pytest.mark.parametrize(("name", "method", "kind", "_"), PAGES, ids=PAGE_IDS)
@pytest.mark.parametrize("role", ["other_admin", "employee", "cardholder", "staff"])
def test_only_the_programs_administrator_reaches_its_pages_others_get_404(client, world, name, method, kind, _, role):
    before = (refreshed(world["card"]).status, refreshed(world["card"]).monthly_limit, CardRequest.objects.count())
    response = getattr(signed_in(client, world[role]), method)(url_for(world, name, kind), {})
    assert response.status_code == 404
    after = (refreshed(world["card"]).status, refreshed(world["card"]).monthly_limit, CardRequest.objects.count())
    assert after == before
    assert not status_events().exists()


@pytest.mark.parametrize(("name", "method", "kind", "_"), PAGES, ids=PAGE_IDS)
def test_anonymous_visitors_are_sent_to_sign_in(client, world, name, method, kind, _):
    url = url_for(world, name, kind)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{LOGIN_URL}?next=")


@pytest.mark.parametrize(("name", "method", "kind", "status"), PAGES, ids=PAGE_IDS)
def test_the_administrator_reaches_every_page(client, world, name, method, kind, status):
    response = getattr(signed_in(client, world["admin"]), method)(url_for(world, name, kind))
    assert response.status_code == status
    assert response.get("Location", "/business/").startswith("/business/")


@pytest.mark.parametrize(("name", "method", "kind", "_"), PAGES, ids=PAGE_IDS)
def test_another_programs_ids_and_missing_ids_are_both_404_for_an_administrator(client, world, name, method, kind, _):
    client = signed_in(client, world["admin"])
    theirs = url_for(world, name, kind, program=world["other_program"], card=world["other_card"])
    missing = reverse(name, args=[10**9])
    assert getattr(client, method)(theirs).status_code == 404
    assert getattr(client, method)(missing).status_code == 404
    assert refreshed(world["other_card"]).status == Card.Status.ACTIVE


def test_business_pages_never_open_a_personal_card_even_the_administrators_own(client, world):
    world["program"].administrators.add(world["cardholder"])  # an administrator with a personal card
    client = signed_in(client, world["cardholder"])
    assert client.get(reverse("business:overview", args=[world["program"].pk])).status_code == 200
    assert client.get(reverse("business:card", args=[world["personal"].pk])).status_code == 404


def test_business_home_is_404_for_non_administrators_and_a_sign_in_redirect_for_visitors(client, world):
    assert client.get(reverse("business:index")).status_code == 302
    for role in ("employee", "cardholder", "staff"):
        assert signed_in(client, world[role]).get(reverse("business:index")).status_code == 404


def test_business_home_opens_the_administrators_program(client, world):
    response = signed_in(client, world["admin"]).get(reverse("business:index"))
    assert response["Location"] == reverse("business:overview", args=[world["program"].pk])


def test_freeze_and_unfreeze_answer_405_to_get_for_an_administrator(client, world):
    client = signed_in(client, world["admin"])
    assert client.get(reverse("business:card_freeze", args=[world["card"].pk])).status_code == 405
    assert refreshed(world["card"]).status == Card.Status.ACTIVE


# --- Program switcher ------------------------------------------------------------------------


def test_administrator_of_two_programs_switches_between_them(client, world):
    world["other_program"].administrators.add(world["admin"])
    client = signed_in(client, world["admin"])
    page = client.get(reverse("business:cards", args=[world["program"].pk]))
    assert 'id="program-switcher"' in page.text
    response = client.get(reverse("business:switch"), {"program": world["other_program"].pk, "section": "cards"})
    assert response["Location"] == reverse("business:cards", args=[world["other_program"].pk])
    # Remembered for the session: business home opens the program chosen last.
    assert client.get(reverse("business:index"))["Location"] == reverse(
        "business:overview", args=[world["other_program"].pk]
    )


def test_switching_to_a_program_one_does_not_administer_is_404(client, world):
    client = signed_in(client, world["admin"])
    assert "program-switcher" not in client.get(reverse("business:overview", args=[world["program"].pk])).text
    assert client.get(reverse("business:switch"), {"program": world["other_program"].pk}).status_code == 404
    assert client.get(reverse("business:switch"), {"program": "x"}).status_code == 404


# --- The header's Business link ------------------------------------------------------------


def test_business_link_shows_for_administrators_only(client, world):
    link = f'href="{reverse("business:index")}"'
    assert link in signed_in(client, world["admin"]).get(reverse("security:overview")).text
    assert link not in signed_in(client, world["employee"]).get(reverse("security:overview")).text


def test_business_link_costs_no_query_once_known(client, world):
    client = signed_in(client, world["cardholder"])
    client.get(reverse("security:overview"))
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("security:overview"))
    assert not [q["sql"] for q in queries if "businessprogram" in q["sql"]]


def test_business_link_appears_as_soon_as_someone_is_made_an_administrator(client, world):
    link = f'href="{reverse("business:index")}"'
    client = signed_in(client, world["cardholder"])
    assert link not in client.get(reverse("security:overview")).text
    world["program"].administrators.add(world["cardholder"])
    assert link in client.get(reverse("security:overview")).text
    world["cardholder"].administered_programs.clear()
    assert link not in client.get(reverse("security:overview")).text


# --- Overview --------------------------------------------------------------------------------


def test_overview_shows_spend_by_employee_category_and_card_with_charts(client, world):
    card, colleague = world["card"], world["colleague"]
    TransactionFactory(card=card, amount=Decimal("120.00"), category="dining", merchant_name="Corner Coffee")
    TransactionFactory(card=card, amount=Decimal("300.00"), category="fuel", merchant_name="Gas Stop")
    TransactionFactory(card=colleague, amount=Decimal("75.25"), category="dining", transacted_at=last_month_day())
    TransactionFactory(card=world["other_card"], amount=Decimal("999.00"), merchant_name="Other Program Shop")
    response = signed_in(client, world["admin"]).get(reverse("business:overview", args=[world["program"].pk]))
    assert response.status_code == 200
    page = response.text
    overview = response.context["overview"]
    assert overview.total_this_month == Decimal("420.00")
    assert overview.total_last_month == Decimal("75.25")
    by_employee = {line.label: (line.this_month, line.last_month) for line in overview.by_employee}
    assert by_employee == {
        card.holder.legal_name: (Decimal("420.00"), Decimal("0.00")),
        "Zoe Colleague": (Decimal("0.00"), Decimal("75.25")),
    }
    assert {line.label: line.this_month for line in overview.by_category} == {
        "Dining": Decimal("120.00"),
        "Fuel": Decimal("300.00"),
    }
    assert [(m.name, m.total) for m in overview.top_merchants] == [
        ("Gas Stop", Decimal("300.00")),
        ("Corner Coffee", Decimal("120.00")),
    ]
    assert page.count('role="img"') == 3
    assert "$420.00" in page and "$75.25" in page
    assert "Other Program Shop" not in page and "$999.00" not in page


def test_overview_lists_cards_at_80_percent_of_their_limit(client, world):
    TransactionFactory(card=world["card"], amount=Decimal("410.00"))  # 82% of $500
    response = signed_in(client, world["admin"]).get(reverse("business:overview", args=[world["program"].pk]))
    near = response.context["overview"].near_limit
    assert [(item.card.pk, item.percent_used) for item in near] == [(world["card"].pk, 82)]
    assert "82%" in response.text


def test_overview_of_a_program_without_spending_says_so(client, world):
    response = signed_in(client, world["admin"]).get(reverse("business:overview", args=[world["program"].pk]))
    assert "No card has used 80% of its monthly limit" in response.text
    assert "Nothing to show yet." in response.text


# --- Query counts do not grow with cards ---------------------------------------------------


def add_cards(world, count: int) -> None:
    for index in range(count):
        card = employee_card(world["account"], name=f"Employee {index:02d}")
        TransactionFactory(card=card, amount=Decimal("20.00"), category="fuel", merchant_name=f"Shop {index}")
        TransactionFactory(card=card, amount=Decimal("10.00"), transacted_at=last_month_day())


# Every signed-in page: the user and the session save (3 with its savepoint); the
# session-activity touch runs once a minute, not on these repeat requests. Then the
# administrator's programs and the page's own reads (overview: cards, the two months'
# spend; card list: cards, spend, requests).
SIGNED_IN_PAGE = 4
OVERVIEW_QUERIES = SIGNED_IN_PAGE + 1 + 2
CARD_LIST_QUERIES = SIGNED_IN_PAGE + 1 + 3


@pytest.mark.parametrize("extra_cards", [0, 48])
def test_overview_query_count_is_the_same_with_1_card_and_with_50(
    client, world, extra_cards, django_assert_num_queries
):
    add_cards(world, extra_cards)
    client = signed_in(client, world["admin"])
    url = reverse("business:overview", args=[world["program"].pk])
    client.get(url)  # the header's flag is cached from here on
    with django_assert_num_queries(OVERVIEW_QUERIES):
        response = client.get(url)
    assert response.context["overview"].card_count == 2 + extra_cards


@pytest.mark.parametrize("extra_cards", [0, 48])
def test_card_list_query_count_is_the_same_with_1_card_and_with_50(
    client, world, extra_cards, django_assert_num_queries
):
    add_cards(world, extra_cards)
    CardRequest.objects.create(
        account=world["account"],
        requested_by=world["admin"],
        legal_name="New Hire",
        name_on_card="NEW HIRE",
        date_of_birth=dt.date(1990, 1, 1),
        postal_code="43215",
        email="new@example.com",
    )
    client = signed_in(client, world["admin"])
    url = reverse("business:cards", args=[world["program"].pk])
    client.get(url)
    with django_assert_num_queries(CARD_LIST_QUERIES):
        response = client.get(url)
    assert len(response.context["usage"]) == 2 + extra_cards
    assert "New Hire" in response.text


# --- Employee cards list -----------------------------------------------------------------


def test_card_list_shows_holder_last4_status_limit_and_spend(client, world):
    TransactionFactory(card=world["card"], amount=Decimal("125.00"))
    TransactionFactory(card=world["card"], amount=Decimal("50.00"), status=Transaction.Status.DECLINED)
    response = signed_in(client, world["admin"]).get(reverse("business:cards", args=[world["program"].pk]))
    page = response.text
    card = world["card"]
    assert card.holder.legal_name in page and f"•••• {card.last4}" in page
    assert "$500.00" in page and "$125.00" in page and "25% of limit" in page
    assert "No limit" in page  # the colleague's card
    # Another program's card: named by its holder and its own page, since two random
    # card numbers share their last 4 one time in a few thousand.
    other = world["other_card"]
    assert other.holder.legal_name not in page
    assert reverse("business:card", args=[other.pk]) not in page
    assert card.first6 not in page


# --- Monthly limit -------------------------------------------------------------------------


def limit_url(world) -> str:
    return reverse("business:card_limit", args=[world["card"].pk])


def test_setting_a_monthly_limit_goes_through_the_service_and_names_the_actor(client, world):
    response = signed_in(client, world["admin"]).post(limit_url(world), {"monthly_limit": "$2,500"}, follow=True)
    assert refreshed(world["card"]).monthly_limit == Decimal("2500.00")
    assert "is now $2,500.00" in response.text
    event = status_events().get()
    assert event.actor == world["admin"] and event.user == world["employee"]
    assert event.detail["action"] == "monthly_limit" and event.detail["to"] == "2500.00"


def test_an_empty_monthly_limit_removes_it(client, world):
    signed_in(client, world["admin"]).post(limit_url(world), {"monthly_limit": ""})
    assert refreshed(world["card"]).monthly_limit is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("lots", "Enter the monthly limit as an amount in dollars, like 2500 or 2500.00"),
        ("-5", "Enter the monthly limit as an amount in dollars, like 2500 or 2500.00"),
        ("0", "The monthly limit must be more than $0.00"),
        ("12.345", "Enter the monthly limit in dollars and cents, with at most 2 digits after the point"),
        ("2000000", "The monthly limit can be at most $1,000,000.00"),
    ],
)
def test_a_bad_monthly_limit_is_explained_and_changes_nothing(client, world, typed, message):
    response = signed_in(client, world["admin"]).post(limit_url(world), {"monthly_limit": typed})
    assert response.status_code == 200
    assert message in response.text
    assert "There is a problem" in response.text
    assert response.text.count(message) == 2  # the summary and beside the field
    assert refreshed(world["card"]).monthly_limit == Decimal("500.00")
    assert not status_events().exists()


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (Card.Status.CLOSED, "This card is closed, so its spending controls can&#x27;t be changed."),
        (
            Card.Status.LOST_STOLEN,
            "This card was reported lost or stolen, so its spending controls can&#x27;t be changed.",
        ),
    ],
)
def test_the_controls_of_a_closed_or_lost_card_cannot_be_changed_and_the_page_says_why(client, world, status, message):
    Card.objects.filter(pk=world["card"].pk).update(status=status)
    client = signed_in(client, world["admin"])
    card_page = reverse("business:card", args=[world["card"].pk])
    limit = client.post(limit_url(world), {"monthly_limit": "9000"}, follow=True)
    categories = client.post(
        reverse("business:card_categories", args=[world["card"].pk]), {"categories": ["travel"]}, follow=True
    )
    assert limit.redirect_chain == categories.redirect_chain == [(card_page, 302)]
    assert message in limit.text and message in categories.text
    assert (refreshed(world["card"]).monthly_limit, refreshed(world["card"]).blocked_categories) == (
        Decimal("500.00"),
        [],
    )
    assert not status_events().exists()
    page = client.get(card_page).text
    assert limit_url(world) not in page
    assert reverse("business:card_categories", args=[world["card"].pk]) not in page
    assert client.get(limit_url(world)).url == card_page


def test_the_page_of_a_lost_card_sends_the_administrator_to_its_replacement(client, world):
    issued = services.card_report_lost_stolen(actor=world["employee"], card=world["card"])
    client = signed_in(client, world["admin"])
    response = client.post(limit_url(world), {"monthly_limit": "100"}, follow=True)
    assert f"Change them on its replacement, the card ending {issued.card.last4}." in response.text
    assert "It applies from the next purchase" not in response.text
    assert refreshed(issued.card).monthly_limit == Decimal("500.00")
    replacement_page = client.get(reverse("business:card", args=[issued.card.pk])).text
    assert reverse("business:card_limit", args=[issued.card.pk]) in replacement_page


def test_limits_apply_to_employee_cards_only(client, world):
    basic = issue_card(account=world["account"], holder=world["account"].primary_cardholder).card
    response = signed_in(client, world["admin"]).post(
        reverse("business:card_limit", args=[basic.pk]), {"monthly_limit": "100"}, follow=True
    )
    assert "Monthly limits apply to employee cards only." in response.text
    assert refreshed(basic).monthly_limit is None


# --- Blocked categories ------------------------------------------------------------------


def test_blocking_and_unblocking_categories(client, world):
    client = signed_in(client, world["admin"])
    url = reverse("business:card_categories", args=[world["card"].pk])
    response = client.post(url, {"categories": ["travel", "entertainment"]}, follow=True)
    assert refreshed(world["card"]).blocked_categories == ["entertainment", "travel"]
    assert "Purchases in Entertainment, Travel are now blocked" in response.text
    page = client.get(url).text
    assert re.search(r'<input type="checkbox" name="categories" value="travel"[^>]* checked>', page)
    assert not re.search(r'<input type="checkbox" name="categories" value="dining"[^>]* checked>', page)
    client.post(url, {})
    assert refreshed(world["card"]).blocked_categories == []
    assert [e.detail["action"] for e in status_events()] == ["blocked_categories", "blocked_categories"]
    assert all(e.actor == world["admin"] for e in status_events())


def test_an_unknown_category_is_refused_and_changes_nothing(client, world):
    response = signed_in(client, world["admin"]).post(
        reverse("business:card_categories", args=[world["card"].pk]), {"categories": ["travel", "casinos"]}
    )
    assert response.status_code == 200
    assert "Choose categories from the list" in response.text
    assert refreshed(world["card"]).blocked_categories == []
    assert not status_events().exists()


# --- Freeze, unfreeze, close ---------------------------------------------------------------


def test_freeze_then_unfreeze_from_the_card_page(client, world):
    client = signed_in(client, world["admin"])
    card_page = reverse("business:card", args=[world["card"].pk])
    assert "Freeze card" in client.get(card_page).text
    response = client.post(reverse("business:card_freeze", args=[world["card"].pk]), follow=True)
    assert refreshed(world["card"]).status == Card.Status.FROZEN
    assert refreshed(world["card"]).frozen_by == world["admin"]
    assert "is frozen: new purchases are declined" in response.text
    assert "Unfreeze card" in response.text
    client.post(reverse("business:card_unfreeze", args=[world["card"].pk]))
    assert refreshed(world["card"]).status == Card.Status.ACTIVE
    assert [(e.detail["action"], e.actor) for e in status_events().order_by("pk")] == [
        ("freeze", world["admin"]),
        ("unfreeze", world["admin"]),
    ]


def test_freezing_a_card_the_employee_froze_takes_the_freeze_over(client, world):
    services.card_freeze(actor=world["employee"], card=world["card"])
    response = signed_in(client, world["admin"]).post(
        reverse("business:card_freeze", args=[world["card"].pk]), follow=True
    )
    assert "is frozen: new purchases are declined" in response.text
    assert refreshed(world["card"]).frozen_by == world["admin"]
    client.force_login(world["employee"])
    client.post(reverse("cards:unfreeze", args=[world["card"].pk]))
    assert refreshed(world["card"]).status == Card.Status.FROZEN


def test_a_card_the_fraud_team_froze_offers_the_administrator_a_call_not_an_unfreeze_button(client, world, settings):
    analyst = UserFactory(cardholder=None, is_staff=True, is_superuser=True)
    services.card_freeze(actor=analyst, card=world["card"], reason="suspected fraud")
    page = signed_in(client, world["admin"]).get(reverse("business:card", args=[world["card"].pk])).text
    assert reverse("business:card_unfreeze", args=[world["card"].pk]) not in page
    assert "Our fraud team froze it" in page
    assert settings.SUPPORT_PHONE in page


def test_freezing_a_closed_card_is_refused_with_a_message(client, world):
    Card.objects.filter(pk=world["card"].pk).update(status=Card.Status.CLOSED)
    response = signed_in(client, world["admin"]).post(
        reverse("business:card_freeze", args=[world["card"].pk]), follow=True
    )
    assert "Only an active card can be frozen." in response.text
    assert refreshed(world["card"]).status == Card.Status.CLOSED


def test_closing_asks_for_confirmation_first(client, world):
    client = signed_in(client, world["admin"])
    url = reverse("business:card_close", args=[world["card"].pk])
    page = client.get(url)
    assert "Closing a card can't be undone." in page.text
    assert refreshed(world["card"]).status == Card.Status.ACTIVE
    response = client.post(url, follow=True)
    assert refreshed(world["card"]).status == Card.Status.CLOSED
    assert response.request["PATH_INFO"] == reverse("business:cards", args=[world["program"].pk])
    assert "is closed" in response.text
    assert status_events().get().detail["action"] == "close"


def test_the_basic_card_of_a_business_account_cannot_be_closed_here(client, world):
    basic = issue_card(account=world["account"], holder=world["account"].primary_cardholder).card
    response = signed_in(client, world["admin"]).post(reverse("business:card_close", args=[basic.pk]), follow=True)
    assert "The basic card closes with the account" in response.text
    assert refreshed(basic).status == Card.Status.ACTIVE


# --- Requesting a new employee card ----------------------------------------------------------


def request_data(world, **overrides) -> dict:
    data = {
        "account": world["account"].pk,
        "legal_name": "Dana  Newhire",
        "name_on_card": "dana newhire",
        "dob_day": "4",
        "dob_month": "7",
        "dob_year": "1990",
        "postal_code": "43215",
        "email": "dana@example.com",
        "phone": "614 555 0123",
        "monthly_limit": "1500",
        "blocked_categories": ["travel"],
        "idempotency_key": new_idempotency_key(),  # drawn into the page with the form
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def form_key(client, url: str) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', client.get(url).text).group(1)


def test_requesting_a_new_employee_card_queues_it_for_staff(client, world):
    url = reverse("business:card_request", args=[world["program"].pk])
    response = signed_in(client, world["admin"]).post(url, request_data(world), follow=True)
    card_request = CardRequest.objects.get()
    assert (card_request.legal_name, card_request.name_on_card) == ("Dana Newhire", "DANA NEWHIRE")
    assert card_request.date_of_birth == dt.date(1990, 7, 4)
    assert card_request.phone == "+16145550123"
    assert card_request.monthly_limit == Decimal("1500.00")
    assert card_request.blocked_categories == ["travel"]
    assert card_request.requested_by == world["admin"]
    assert card_request.status == CardRequest.Status.REQUESTED
    assert "We&#x27;ve received your request for a card for Dana Newhire" in response.text
    assert "Cards waiting to be issued" in response.text
    assert status_events().get().detail["action"] == "employee_card_requested"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"legal_name": ""}, "Enter the employee&#x27;s full name"),
        ({"name_on_card": "D@NA"}, "The name on the card can have letters"),
        ({"dob_day": "31", "dob_month": "2"}, "Enter a real date of birth, for example 27 3 1985"),
        ({"dob_day": "", "dob_month": "", "dob_year": ""}, "Enter the employee&#x27;s date of birth"),
        ({"dob_month": "x"}, "Enter the date of birth using numbers"),
        ({"dob_year": str(timezone.localdate().year - 10)}, "The employee must be 18 or older"),
        ({"postal_code": "ABC"}, "Enter a ZIP code of 5 digits"),
        ({"email": "not-an-email"}, "Enter an email address in the right format"),
        ({"phone": "12"}, "Enter a phone number with 10 to 15 digits"),
        ({"monthly_limit": "0"}, "The monthly limit must be more than $0.00"),
        ({"blocked_categories": ["casinos"]}, "Choose categories from the list"),
    ],
)
def test_a_bad_card_request_is_explained_and_nothing_is_queued(client, world, overrides, message):
    url = reverse("business:card_request", args=[world["program"].pk])
    response = signed_in(client, world["admin"]).post(url, request_data(world, **overrides))
    assert response.status_code == 200
    assert message in response.text
    assert not CardRequest.objects.exists()


def test_sending_the_card_request_form_twice_queues_one_card(client, world):
    url = reverse("business:card_request", args=[world["program"].pk])
    client = signed_in(client, world["admin"])
    data = request_data(world, idempotency_key=form_key(client, url))
    first = client.post(url, data, follow=True)
    second = client.post(url, data, follow=True)  # a double click, or the browser sending it again
    assert CardRequest.objects.count() == 1
    for response in (first, second):
        assert response.redirect_chain == [(reverse("business:cards", args=[world["program"].pk]), 302)]
        assert "We&#x27;ve received your request for a card for Dana Newhire" in response.text
    assert status_events().count() == 1
    assert form_key(client, url) != data["idempotency_key"]  # the next form is a new request


def test_a_card_request_without_its_form_key_is_refused_and_can_be_sent_again(client, world):
    url = reverse("business:card_request", args=[world["program"].pk])
    client = signed_in(client, world["admin"])
    response = client.post(url, request_data(world, idempotency_key=None))
    assert response.status_code == 200
    assert "This form has expired. Check the details and send the request again" in response.text
    assert not CardRequest.objects.exists()
    fresh = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', response.text).group(1)
    client.post(url, request_data(world, idempotency_key=fresh))
    assert CardRequest.objects.get().idempotency_key == fresh


def test_a_name_that_is_longer_in_capitals_is_refused_not_cut(client, world):
    url = reverse("business:card_request", args=[world["program"].pk])
    client = signed_in(client, world["admin"])
    typed = "Maria Großmann-Straßburger"  # 26 as typed, 28 printed: "ß" is "SS"
    response = client.post(url, request_data(world, name_on_card=typed))
    assert response.status_code == 200
    assert response.text.count("The name on the card can be at most 26 characters") == 2
    assert not CardRequest.objects.exists()
    client.post(url, request_data(world, name_on_card="Alexandra Montgomery-Smyth"))  # 26 letters and signs
    assert CardRequest.objects.get().name_on_card == "ALEXANDRA MONTGOMERY-SMYTH"


def test_a_card_cannot_be_requested_on_another_programs_account(client, world):
    other_account = world["other_card"].account
    url = reverse("business:card_request", args=[world["program"].pk])
    response = signed_in(client, world["admin"]).post(url, request_data(world, account=other_account.pk))
    assert response.status_code == 200
    assert "Choose an account from the list" in response.text
    assert not CardRequest.objects.exists()


# --- Reports --------------------------------------------------------------------------------


def report_query(start: dt.date, end: dt.date, group_by: str = "employee") -> dict:
    return {
        "start_day": start.day,
        "start_month": start.month,
        "start_year": start.year,
        "end_day": end.day,
        "end_month": end.month,
        "end_year": end.year,
        "group_by": group_by,
    }


@pytest.fixture
def spending(world):
    card, colleague = world["card"], world["colleague"]
    when = timezone.make_aware(dt.datetime(2025, 3, 10, 12, 0))
    TransactionFactory(card=card, amount=Decimal("100.00"), category="dining", transacted_at=when)
    TransactionFactory(card=card, amount=Decimal("50.00"), category="fuel", transacted_at=when)
    TransactionFactory(
        card=card, kind=Transaction.Kind.REFUND, amount=Decimal("-20.00"), category="dining", transacted_at=when
    )
    TransactionFactory(card=colleague, amount=Decimal("30.00"), category="dining", transacted_at=when.replace(month=4))
    TransactionFactory(card=colleague, amount=Decimal("999.00"), status="declined", transacted_at=when)
    TransactionFactory(card=world["other_card"], amount=Decimal("777.00"), transacted_at=when)
    return world


def test_report_by_employee_category_and_month(client, spending):
    client = signed_in(client, spending["admin"])
    url = reverse("business:reports", args=[spending["program"].pk])
    march, april_end = dt.date(2025, 3, 1), dt.date(2025, 4, 30)

    rows = client.get(url, report_query(march, april_end)).context["report"].rows
    assert [(r.label, r.purchases, r.spend, r.refunds, r.net) for r in rows] == [
        (spending["card"].holder.legal_name, 2, Decimal("150.00"), Decimal("-20.00"), Decimal("130.00")),
        ("Zoe Colleague", 1, Decimal("30.00"), Decimal("0.00"), Decimal("30.00")),
    ]
    assert rows[0].cards == (spending["card"].last4,)

    rows = client.get(url, report_query(march, april_end, "category")).context["report"].rows
    assert [(r.label, r.spend, r.refunds) for r in rows] == [
        ("Dining", Decimal("130.00"), Decimal("-20.00")),
        ("Fuel", Decimal("50.00"), Decimal("0.00")),
    ]

    response = client.get(url, report_query(march, april_end, "month"))
    rows = response.context["report"].rows
    assert [(r.label, r.net) for r in rows] == [("March 2025", Decimal("130.00")), ("April 2025", Decimal("30.00"))]
    assert "$777.00" not in response.text


def test_report_range_includes_both_end_days_in_local_time(client, spending):
    client = signed_in(client, spending["admin"])
    url = reverse("business:reports", args=[spending["program"].pk])
    day = dt.date(2025, 3, 10)
    assert client.get(url, report_query(day, day)).context["report"].total.spend == Decimal("150.00")
    assert (
        client.get(url, report_query(day + dt.timedelta(days=1), day + dt.timedelta(days=2))).context["report"].rows
        == []
    )


def test_reports_page_shows_this_month_by_employee_until_asked(client, world):
    TransactionFactory(card=world["card"], amount=Decimal("12.34"))
    response = signed_in(client, world["admin"]).get(reverse("business:reports", args=[world["program"].pk]))
    report = response.context["report"]
    assert (report.start, report.end, report.group_by) == (
        timezone.localdate().replace(day=1),
        timezone.localdate(),
        "employee",
    )
    assert "$12.34" in response.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start_day": "31", "start_month": "2"}, "Enter a real start date, for example 1 3 2025"),
        ({"end_day": "", "end_month": "", "end_year": ""}, "Enter the end date"),
        ({"end_year": ""}, "Enter the end date as day, month and year"),
        ({"start_month": "13"}, "Enter a real start date"),
        ({"start_year": "soon"}, "Enter the start date using numbers"),
        ({"start_year": "2026", "end_year": "2025"}, "The end date must be the same as or after the start date"),
        ({"group_by": "planet"}, "Choose how to group the report"),
    ],
)
def test_bad_report_dates_are_explained_and_no_report_is_shown(client, world, query, message):
    params = report_query(dt.date(2025, 3, 1), dt.date(2025, 3, 31)) | query
    response = signed_in(client, world["admin"]).get(reverse("business:reports", args=[world["program"].pk]), params)
    assert response.status_code == 200
    assert message in response.text
    assert response.context["report"] is None
    assert "<title>Error: " in response.text


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="acme-freight-')
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_report_csv_matches_the_table(client, spending):
    url = reverse("business:report_csv", args=[spending["program"].pk])
    rows = csv_rows(
        signed_in(client, spending["admin"]).get(url, report_query(dt.date(2025, 3, 1), dt.date(2025, 4, 30)))
    )
    card = spending["card"]
    assert rows == [
        ["Employee", "Cards (last 4 digits)", "Purchases", "Spend", "Refunds", "Net", "Currency"],
        [card.holder.legal_name, card.last4, "2", "150.00", "-20.00", "130.00", "USD"],
        ["Zoe Colleague", spending["colleague"].last4, "1", "30.00", "0.00", "30.00", "USD"],
        ["Total", "", "3", "180.00", "-20.00", "160.00", "USD"],
    ]


def test_transactions_csv_shows_cards_as_last_4_only_and_defuses_formulas(client, spending):
    card = spending["card"]
    TransactionFactory(
        card=card,
        amount=Decimal("5.00"),
        merchant_name='=HYPERLINK("http://evil")',
        transacted_at=timezone.make_aware(dt.datetime(2025, 3, 11, 9, 30)),
    )
    url = reverse("business:transactions_csv", args=[spending["program"].pk])
    response = signed_in(client, spending["admin"]).get(url, report_query(dt.date(2025, 3, 1), dt.date(2025, 3, 31)))
    rows = csv_rows(response)
    assert rows[0][:4] == ["Date", "Employee", "Card (last 4 digits)", "Merchant"]
    body = rows[1:]
    assert [row[9] for row in body] == ["100.00", "50.00", "-20.00", "5.00"]
    assert {row[2] for row in body} == {card.last4}
    assert body[-1][0] == "2025-03-11 09:30"
    assert body[-1][3] == '\'=HYPERLINK("http://evil")'
    text = "\n".join(",".join(row) for row in rows)
    assert card.first6 not in text


def test_a_bad_range_on_a_csv_link_goes_back_to_the_report_page(client, world):
    url = reverse("business:report_csv", args=[world["program"].pk])
    params = report_query(dt.date(2025, 3, 1), dt.date(2025, 3, 31)) | {"start_day": "40"}
    response = signed_in(client, world["admin"]).get(url, params)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("business:reports", args=[world["program"].pk]) + "?")


def test_a_program_without_an_account_cannot_request_cards_and_is_told_why(client, world):
    empty = BusinessProgramFactory(name="Empty Co")
    empty.administrators.add(world["admin"])
    client = signed_in(client, world["admin"])
    url = reverse("business:card_request", args=[empty.pk])
    assert "has no account to bill a new card to yet" in client.get(url).text
    assert client.post(url, request_data(world)).status_code == 200
    assert not CardRequest.objects.exists()
