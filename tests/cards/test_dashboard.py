"""The dashboard: the card selector, the chosen account's figures, pending/declined and
recent transactions, spending by category, and the card controls behind it."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from cards import processing, selectors, services
from cards.models import Autopay, Card, PaymentMethod, Transaction
from statements.models import Statement
from tests.cards.conftest import event
from tests.factories import CardholderFactory, CardProductFactory, TransactionFactory, issue_card, open_account

pytestmark = pytest.mark.django_db


def send(issued, type_="authorization", **fields) -> dict:
    return processing.processor_event_handle(event=processing.event_parse(event(type_, card=issued, **fields))).body


def buy(issued, amount="25.00", *, mcc="5814", name="Corner Coffee", clear=True) -> dict:
    """An authorization (and its clearing): a purchase as the card network sends it."""
    answer = send(issued, amount=amount, merchant={"name": name, "mcc": mcc, "city": "New York", "country": "US"})
    if clear and answer["approved"]:
        send(issued, "clearing", network_id=answer["network_id"], amount=amount)
    return answer


def page(client, user, **params) -> str:
    client.force_login(user)
    response = client.get(reverse("cards:dashboard"), params)
    assert response.status_code == 200
    return response.content.decode()


def text(html: str) -> str:
    """The page's words, without tags, on one line."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- Figures ---------------------------------------------------------------------------------


def test_credit_card_shows_balance_pending_available_credit_and_limit(client, credit_card):
    buy(credit_card, "100.00")
    buy(credit_card, "40.00", clear=False)

    words = text(page(client, credit_card.card.holder.user))

    assert "Current balance $100.00" in words
    assert "Pending charges $40.00" in words
    assert "Available credit $860.00" in words
    assert "Credit limit $1,000.00" in words
    assert "No preset spending limit" not in words


def test_charge_card_shows_no_preset_limit_spend_this_cycle_and_balance_due_in_full(client, charge_card):
    buy(charge_card, "120.00")
    buy(charge_card, "30.00", clear=False)

    words = text(page(client, charge_card.card.holder.user))

    assert "Spending limit No preset spending limit" in words
    assert "Balance due in full $120.00" in words
    assert "Spend this cycle $150.00" in words
    assert "Pending charges $30.00" in words
    assert "Available credit" not in words


def test_payment_due_without_a_statement_gives_the_date_and_says_the_statement_is_coming(client, charge_card):
    account = charge_card.card.account
    cycle = selectors.billing_cycle(account=account)
    due = selectors.payment_due(account=account, cycle=cycle)

    words = text(page(client, charge_card.card.holder.user))

    assert f"Due date {due.due_date:%B} {due.due_date.day}, {due.due_date.year}" in words
    assert "Amount due Statement coming soon" in words
    assert "Minimum payment due" not in words


def test_payment_due_from_an_issued_statement_shows_its_amounts(client, credit_card):
    account = credit_card.card.account
    today = timezone.localdate()
    Statement.objects.create(
        account=account,
        period_start=today - dt.timedelta(days=40),
        period_end=today - dt.timedelta(days=10),
        opening_balance=Decimal("0.00"),
        closing_balance=Decimal("512.34"),
        minimum_due=Decimal("35.00"),
        due_date=today + dt.timedelta(days=15),
    )
    due = today + dt.timedelta(days=15)

    words = text(page(client, credit_card.card.holder.user))

    assert f"Due date {due:%B} {due.day}, {due.year}" in words
    assert "Statement balance $512.34" in words
    assert "Minimum payment due $35.00" in words
    assert "Statement coming soon" not in words


def test_autopay_status_is_shown(client, charge_card):
    user = charge_card.card.holder.user
    assert "Autopay Off" in text(page(client, user))
    method = PaymentMethod.objects.create(
        owner=user, nickname="Checking", routing_number="021000021", account_last4="6789", account_hash="x" * 64
    )
    Autopay.objects.create(account=charge_card.card.account, method=method, amount_kind="statement_balance")

    assert "Autopay On: statement balance" in text(page(client, user))


def test_rewards_balance_and_earned_this_cycle(client, charge_card):
    buy(charge_card, "100.00", mcc="5814")  # dining earns 3X: 300 points
    buy(charge_card, "50.00", mcc="5411")  # groceries at the 1X base: 50 points

    words = text(page(client, charge_card.card.holder.user))

    assert "Points balance 350 points" in words
    assert "Earned this cycle 350 points" in words


# --- Transactions on the dashboard -------------------------------------------------------------


def test_pending_and_declined_list_shows_the_decline_reason_in_words(client, charge_card):
    user = charge_card.card.holder.user
    buy(charge_card, "18.00", name="Pending Pizza", clear=False)
    services.card_freeze(actor=user, card=charge_card.card)
    assert buy(charge_card, "9.00", name="Frozen Fries")["reason_code"] == "card_frozen"

    html = page(client, user)
    pending = html[html.index('id="pending-title"') : html.index('id="recent-title"')]

    assert "Pending Pizza" in pending
    assert "Frozen Fries" in pending
    assert "This card is frozen" in pending
    assert "Declined" in pending


def test_recent_transactions_are_posted_ones_from_the_last_90_days(client, charge_card):
    card = charge_card.card
    TransactionFactory(card=card, merchant_name="Yesterday Books", transacted_at=timezone.now() - dt.timedelta(days=1))
    TransactionFactory(
        card=card, merchant_name="Ancient Antiques", transacted_at=timezone.now() - dt.timedelta(days=95)
    )

    html = page(client, card.holder.user)
    recent = html[html.index('id="recent-title"') : html.index('id="spending-title"')]

    assert "Yesterday Books" in recent
    assert "Ancient Antiques" not in html


def test_spending_by_category_is_a_chart_with_the_numbers_in_a_table(client, charge_card):
    buy(charge_card, "60.00", mcc="5814")  # dining
    buy(charge_card, "40.00", mcc="5411")  # groceries
    send(charge_card, "refund", amount="10.00", merchant={"name": "Grocer", "mcc": "5411"})

    html = page(client, charge_card.card.holder.user)
    section = html[html.index('id="spending-title"') : html.index('id="more-title"')]

    assert '<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart"' in section
    assert 'role="img"' in section
    assert "Dining: $60.00; Groceries: $30.00. Total: $90.00." in section
    table = text(section[section.index("<table") :])
    assert "Dining $60.00 Groceries $30.00 Total $90.00" in table


def test_no_spending_yet_says_so_instead_of_an_empty_chart(client, charge_card):
    html = page(client, charge_card.card.holder.user)
    assert "No spending yet this cycle" in html
    assert "bar-chart" not in html


# --- The card selector --------------------------------------------------------------------------


def test_selector_lists_every_card_with_product_last4_status_and_remembers_the_choice(client, credit_card):
    owner = credit_card.card.holder.user
    supp = issue_card(
        account=credit_card.card.account, holder=CardholderFactory(legal_name="Robin Example"), role="supplementary"
    ).card
    other_account = open_account(holder=owner.cardholder)
    charge = issue_card(account=other_account, active=False).card

    html = page(client, owner, card=charge.pk)
    assert html.count('class="card-picker__item"') == 3
    assert f'href="/cards/?card={charge.pk}" aria-current="true"' in html
    assert "Supplementary card member: Robin Example" in html
    assert "Not activated" in html
    assert f"•••• {supp.last4}" in html

    # Remembered for the session: the next visit without a choice shows the charge card.
    again = client.get(reverse("cards:dashboard")).content.decode()
    assert f'href="/cards/?card={charge.pk}" aria-current="true"' in again
    assert "No preset spending limit" in again
    assert client.session["cards.selected_card"] == charge.pk


def test_a_remembered_card_that_is_no_longer_visible_falls_back_to_the_users_own(client, roles):
    owner = roles.users["owner"]
    client.force_login(owner)
    session = client.session
    session["cards.selected_card"] = roles.cards["stranger"].pk
    session.save()

    html = client.get(reverse("cards:dashboard")).content.decode()

    assert f'href="/cards/?card={roles.cards["basic"].pk}" aria-current="true"' in html


def test_many_cards_fold_the_selector_behind_a_summary(client, credit_card):
    for _ in range(7):
        issue_card(account=credit_card.card.account, holder=CardholderFactory(), role="supplementary")
    html = page(client, credit_card.card.holder.user)
    assert "Change card" in html
    assert html.count('class="card-picker__item"') == 8


def test_user_without_cards_sees_the_empty_state(client, user):
    user.cardholder = None
    user.save(update_fields=["cardholder"])
    assert "There are no cards to show yet" in page(client, user)


# --- What a supplementary or employee cardholder sees ----------------------------------------------


def test_supplementary_holder_sees_only_their_own_cards_activity_not_the_account(client, roles):
    basic, supp = roles.issued["basic"], roles.issued["supp"]
    buy(basic, "500.00", name="Owner Only Outlet")
    buy(supp, "20.00", name="Supp Sandwiches")
    buy(supp, "5.00", name="Supp Pending Snack", clear=False)
    TransactionFactory(
        card=None,
        account=basic.card.account,
        kind=Transaction.Kind.PAYMENT,
        amount=Decimal("-300.00"),
        merchant_name="Owner Payment",
    )

    html = page(client, roles.users["supplementary"])
    words = text(html)

    assert "Supp Sandwiches" in html
    assert "Supp Pending Snack" in html
    assert "Owner Only Outlet" not in html
    assert "Owner Payment" not in html
    assert f"?card={basic.card.pk}" not in html
    assert "Your spending this cycle $25.00" in words
    assert "Your pending charges $5.00" in words
    for account_figure in ("Balance due in full", "Current balance", "Next payment", "Points balance", "Autopay"):
        assert account_figure not in words
    assert "The basic card member manages the account's balance, payments and rewards." in words


def test_employee_sees_their_monthly_limit_and_what_is_left(client, roles):
    buy(roles.issued["employee"], "120.00", name="Client Lunch")
    buy(roles.issued["colleague"], "80.00", name="Colleague Cab")

    html = page(client, roles.users["employee"])
    words = text(html)

    assert "Monthly spending limit $500.00" in words
    assert "Spent this month $120.00" in words
    assert "Left to spend this month $380.00" in words
    assert "Colleague Cab" not in html
    assert "Your company's card program administrator manages the account's balance and payments." in words


def test_program_administrator_sees_the_whole_business_account(client, roles):
    buy(roles.issued["employee"], "120.00", name="Client Lunch")
    buy(roles.issued["colleague"], "80.00", name="Colleague Cab")

    html = page(client, roles.users["admin"], card=roles.cards["colleague"].pk)
    words = text(html)

    assert "Client Lunch" in html
    assert "Colleague Cab" in html
    assert "Balance due in full $200.00" in words
    assert "Points balance" in words


# --- Card controls ----------------------------------------------------------------------------------


def test_freeze_then_unfreeze_from_the_dashboard(client, charge_card):
    user, card = charge_card.card.holder.user, charge_card.card
    client.force_login(user)

    response = client.post(reverse("cards:freeze", args=[card.pk]), follow=True)
    assert Card.objects.get(pk=card.pk).status == Card.Status.FROZEN
    words = text(response.content.decode())
    assert f"Your card ending {card.last4} is frozen." in words
    assert "Unfreeze card" in words
    assert buy(charge_card, "5.00")["reason_code"] == "card_frozen"

    response = client.post(reverse("cards:unfreeze", args=[card.pk]), follow=True)
    assert Card.objects.get(pk=card.pk).status == Card.Status.ACTIVE
    assert f"Your card ending {card.last4} is unfrozen." in text(response.content.decode())
    assert buy(charge_card, "5.00")["approved"] is True


def test_supplementary_holder_cannot_lift_the_basic_members_freeze_and_is_told_why(client, roles):
    supp = roles.cards["supp"]
    services.card_freeze(actor=roles.users["owner"], card=supp)
    client.force_login(roles.users["supplementary"])

    dashboard = text(client.get(reverse("cards:dashboard")).content.decode())
    assert "Unfreeze card" not in dashboard
    assert "It was frozen by the basic card member: ask them to unfreeze it." in dashboard

    response = client.post(reverse("cards:unfreeze", args=[supp.pk]), follow=True)
    assert f"Your card ending {supp.last4} was frozen by the basic card member: ask them to unfreeze it." in text(
        response.content.decode().replace("&#x27;", "'")
    )
    assert Card.objects.get(pk=supp.pk).status == Card.Status.FROZEN


def test_freezing_a_card_that_is_not_active_explains_instead_of_failing(client, charge_card):
    inactive = issue_card(account=charge_card.card.account, active=False).card
    client.force_login(charge_card.card.holder.user)

    response = client.post(reverse("cards:freeze", args=[inactive.pk]), follow=True)

    assert response.status_code == 200
    assert "Only an active card can be frozen." in response.content.decode()


def test_report_lost_explains_what_happens_before_anything_changes(client, charge_card):
    card = charge_card.card
    client.force_login(card.holder.user)

    words = text(client.get(reverse("cards:report_lost", args=[card.pk])).content.decode())

    assert "The card is blocked straight away" in words
    assert "Purchases made before you report it still go through" in words
    assert "replacement card with a new number" in words
    assert Card.objects.get(pk=card.pk).status == Card.Status.ACTIVE


def test_report_lost_blocks_the_card_and_issues_an_inactive_replacement(client, charge_card):
    card = charge_card.card
    pending = buy(charge_card, "30.00", clear=False)
    client.force_login(card.holder.user)

    response = client.post(reverse("cards:report_lost", args=[card.pk]), follow=True)

    replacement = Card.objects.get(replaces=card)
    assert Card.objects.get(pk=card.pk).status == Card.Status.LOST_STOLEN
    assert replacement.status == Card.Status.INACTIVE
    words = text(response.content.decode())
    assert f"A replacement card ending {replacement.last4} is on its way." in words
    assert f"Its replacement is the card ending {replacement.last4}" in words
    assert buy(charge_card, "5.00")["reason_code"] == "card_lost_stolen"
    # An authorization made before the report still settles.
    assert send(charge_card, "clearing", network_id=pending["network_id"], amount="30.00")["result"] == "posted"


def test_report_lost_twice_says_it_is_already_done(client, charge_card):
    card = charge_card.card
    client.force_login(card.holder.user)
    client.post(reverse("cards:report_lost", args=[card.pk]))

    page_again = client.get(reverse("cards:report_lost", args=[card.pk])).content.decode()
    client.post(reverse("cards:report_lost", args=[card.pk]))

    assert "has already been reported lost or stolen" in page_again
    assert Card.objects.filter(replaces=card).count() == 1


def test_inactive_card_offers_activation(client, charge_card):
    inactive = issue_card(account=charge_card.card.account, active=False).card
    html = page(client, charge_card.card.holder.user, card=inactive.pk)
    assert f'href="{reverse("cards:activate")}">Activate card</a>' in html


def test_signed_in_home_and_the_old_card_list_name_lead_to_the_dashboard(client, charge_card):
    client.force_login(charge_card.card.holder.user)
    assert client.get(reverse("portal:home"))["Location"] == reverse("cards:dashboard")
    assert reverse("cards:list") == reverse("cards:dashboard")


def test_dashboard_shows_no_card_number_beyond_the_last_four(client, charge_card):
    html = page(client, charge_card.card.holder.user)
    assert charge_card.pan not in html
    assert charge_card.pan[:6] not in html


def test_credit_product_other_than_default_still_renders(client):
    product = CardProductFactory(credit=True)
    holder = CardholderFactory()
    from tests.factories import UserFactory

    user = UserFactory(cardholder=holder)
    issue_card(account=open_account(holder=holder, product=product))
    assert "Available credit $5,000.00" in text(page(client, user))
