"""A cardholder signs in, reads their balances, pending and posted transactions and the
spending chart, freezes their card, sees the next purchase declined because of it, and
unfreezes it. Then the cardholder pages pass axe at phone and desktop widths."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from cards import processing
from cards.models import Card, CardProduct, EarnRate
from cards.rewards import reward_entry_add
from tests.browser.conftest import DESKTOP, PHONE, BrowserSession
from tests.cards.conftest import event
from tests.factories import CardholderFactory, CardProductFactory, UserFactory, issue_card, open_account

pytestmark = pytest.mark.browser


def send(issued, type_="authorization", **fields) -> dict:
    """A processor event, applied as the webhook would apply it."""
    return processing.processor_event_handle(event=processing.event_parse(event(type_, card=issued, **fields))).body


def buy(issued, amount: str, name: str, mcc: str, *, clear: bool = True) -> dict:
    answer = send(issued, amount=amount, merchant={"name": name, "mcc": mcc, "city": "Chicago", "country": "US"})
    if clear:
        send(issued, "clearing", network_id=answer["network_id"], amount=amount)
    return answer


@pytest.fixture
def cardholder():
    """A credit card member with a supplementary card, some posted and pending spending
    and enough points to redeem."""
    user = UserFactory(email_verified_at=None)
    product = CardProductFactory(
        code="everyday-credit",
        name="Everyday Credit Card",
        kind=CardProduct.Kind.CREDIT,
        rewards_kind=CardProduct.RewardsKind.POINTS,
        annual_rate=Decimal("21.99"),
        card_colour="#1f6fb2",
    )
    EarnRate.objects.create(product=product, category="dining", rate=Decimal("3.0000"))
    account = open_account(holder=user.cardholder, product=product, credit_limit=Decimal("2500.00"))
    issued = issue_card(account=account)
    supplementary = issue_card(
        account=account, holder=CardholderFactory(legal_name="Sam Example"), role=Card.Role.SUPPLEMENTARY
    )
    buy(issued, "84.20", "Lakeside Grocers", "5411")
    buy(issued, "46.75", "Blue Door Bistro", "5812")
    buy(supplementary, "32.10", "City Fuel", "5541")
    buy(issued, "129.00", "Northline Rail", "4112", clear=False)
    send(issued, "refund", amount="12.00", merchant={"name": "Lakeside Grocers", "mcc": "5411"})
    reward_entry_add(account=account, kind="earn", unit="points", quantity=Decimal("2400"))
    return user, issued


def test_cardholder_sees_balances_freezes_a_card_and_sees_the_decline(browser_session, cardholder):
    user, issued = cardholder
    page = browser_session.page

    browser_session.sign_in(user)
    expect(page).to_have_url(re.compile(r"/cards/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cards")
    summary = page.locator(".account-summary")
    expect(summary).to_contain_text(f"•••• {issued.card.last4}")
    expect(summary.get_by_text("Current balance")).to_be_visible()
    expect(summary).to_contain_text("$151.05")  # 84.20 + 46.75 + 32.10 - 12.00
    expect(summary).to_contain_text("$129.00")  # pending
    expect(summary).to_contain_text("$2,219.95")  # 2,500.00 - 151.05 - 129.00
    pending = page.locator("section", has=page.get_by_role("heading", name="Pending and declined"))
    expect(pending.get_by_role("link", name="Northline Rail")).to_be_visible()
    recent = page.locator("section", has=page.get_by_role("heading", name="Recent transactions"))
    expect(recent.get_by_role("link", name="Blue Door Bistro")).to_be_visible()
    expect(recent.get_by_role("link", name="City Fuel")).to_be_visible()
    chart = page.get_by_role("img", name=re.compile(r"^Spending by category"))
    expect(chart).to_be_visible()
    expect(page.locator(".spending__table")).to_contain_text("Dining")
    browser_session.screenshot("dashboard")
    browser_session.assert_clean()

    page.get_by_role("button", name="Freeze card").click()
    expect(page.get_by_role("status").filter(has_text="is frozen")).to_be_visible()
    expect(page.get_by_role("button", name="Unfreeze card")).to_be_visible()
    assert Card.objects.get(pk=issued.card.pk).status == Card.Status.FROZEN

    declined = buy(issued, "19.99", "Corner Bookshop", "5942", clear=False)
    assert declined["reason_code"] == "card_frozen"
    page.reload()
    row = pending.get_by_role("row").filter(has_text="Corner Bookshop")
    expect(row).to_contain_text("Declined")
    expect(row).to_contain_text("This card is frozen")
    browser_session.screenshot("dashboard-frozen")

    row.get_by_role("link", name="Corner Bookshop").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Corner Bookshop")
    expect(page.locator(".txn-head")).to_contain_text("This card is frozen")
    browser_session.screenshot("transaction-declined")
    page.go_back()

    page.get_by_role("button", name="Unfreeze card").click()
    expect(page.get_by_role("status").filter(has_text="is unfrozen")).to_be_visible()
    expect(page.get_by_role("button", name="Freeze card")).to_be_visible()
    assert buy(issued, "19.99", "Corner Bookshop", "5942", clear=False)["approved"] is True
    browser_session.assert_clean()


def test_cardholder_searches_transactions_and_redeems_points(browser_session, cardholder):
    user, issued = cardholder
    page = browser_session.page
    browser_session.sign_in(user)

    page.get_by_role("navigation", name="Account pages").get_by_role("link", name="Transactions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Transactions")
    page.get_by_label("Merchant").fill("lakeside")
    page.get_by_role("button", name="Search").click()
    table = page.locator(".txn-table tbody")
    expect(table.get_by_role("row")).to_have_count(2)
    browser_session.screenshot("transactions")

    page.get_by_text("Filter by date, card, category, status or amount").click()
    page.get_by_label("Smallest amount").fill("lots")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_focused()
    expect(page.get_by_role("link", name="Enter smallest amount as an amount, like 25.00")).to_be_visible()
    browser_session.screenshot("transactions-error")

    page.get_by_role("navigation", name="Account pages").get_by_role("link", name="Rewards").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rewards")
    page.get_by_label("Points to redeem").fill("2000")
    page.get_by_role("button", name="Redeem").click()
    expect(
        page.get_by_role("status").filter(has_text="You redeemed 2,000 points for a $20.00 statement credit")
    ).to_be_visible()
    expect(page.locator(".rewards-table")).to_contain_text("Points redeemed for a statement credit")
    browser_session.screenshot("rewards")
    browser_session.assert_clean()


# --- Accessibility ------------------------------------------------------------------------------


@pytest.fixture(params=[PHONE, DESKTOP], ids=lambda viewport: f"{viewport['width']}px")
def axe_tab(request, axe_session: BrowserSession, cardholder) -> BrowserSession:
    axe_session.page.set_viewport_size(request.param)
    axe_session.sign_in(cardholder[0])
    axe_session.page.wait_for_load_state("networkidle")
    return axe_session


def test_dashboard_is_accessible(axe_tab):
    axe_tab.goto("/cards/")
    expect(axe_tab.page.get_by_role("img", name=re.compile("^Spending by category"))).to_be_visible()
    axe_tab.assert_accessible()
    axe_tab.assert_clean()


def test_transactions_page_is_accessible_also_with_errors(axe_tab):
    axe_tab.goto("/cards/transactions/")
    expect(axe_tab.page.get_by_role("heading", level=1)).to_have_text("Transactions")
    axe_tab.assert_accessible()
    # Let the page's own loads (the favicon) finish, so leaving it aborts nothing.
    axe_tab.page.wait_for_load_state("networkidle")
    axe_tab.goto("/cards/transactions/?date_from=2020-01-01&amount_min=lots&status=pending")
    expect(axe_tab.page.get_by_role("alert").filter(has_text="There is a problem")).to_be_visible()
    axe_tab.assert_accessible()
    axe_tab.assert_clean()


def test_transaction_detail_is_accessible(axe_tab):
    axe_tab.goto("/cards/transactions/")
    axe_tab.page.get_by_role("link", name="Blue Door Bistro").click()
    expect(axe_tab.page.get_by_role("heading", name="Status history")).to_be_visible()
    axe_tab.assert_accessible()
    axe_tab.assert_clean()


def test_rewards_page_is_accessible(axe_tab):
    axe_tab.goto("/cards/rewards/")
    expect(axe_tab.page.get_by_label("Points to redeem")).to_be_visible()
    axe_tab.assert_accessible()
    axe_tab.assert_clean()


def test_export_and_report_lost_pages_are_accessible(axe_tab, cardholder):
    axe_tab.goto("/cards/transactions/export/")
    expect(axe_tab.page.get_by_role("heading", level=1)).to_have_text("Download transactions")
    axe_tab.assert_accessible()
    axe_tab.page.wait_for_load_state("networkidle")
    axe_tab.goto(f"/cards/{cardholder[1].card.pk}/lost-or-stolen/")
    expect(axe_tab.page.get_by_role("heading", level=1)).to_have_text("Report your card lost or stolen")
    axe_tab.assert_accessible()
    axe_tab.assert_clean()
