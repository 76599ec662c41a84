"""A business program administrator signs in, reads the program overview, sets an
employee's monthly limit (after a mistake), freezes a card and downloads a spend report;
the business pages pass axe-core on a phone and on a desktop."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cards.models import Card
from tests.browser.conftest import DESKTOP, PHONE, BrowserSession
from tests.factories import (
    BusinessProgramFactory,
    CardholderFactory,
    CardProductFactory,
    TransactionFactory,
    UserFactory,
    issue_card,
    open_account,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def program_admin():
    """An administrator (no card of their own) of a program with three employee cards
    and some spending this month."""
    admin = UserFactory(cardholder=None, email_verified_at=None, display_name="Grace Whitfield")
    program = BusinessProgramFactory(name="Northwind Logistics")
    program.administrators.add(admin)
    account = open_account(holder=CardholderFactory(), product=CardProductFactory(business=True), program=program)
    cards = {}
    for name, limit in (("Jamal Carter", "500.00"), ("Emily Watson", "2000.00"), ("Mike Kowalczyk", None)):
        holder = CardholderFactory(legal_name=name)
        cards[name] = issue_card(
            account=account,
            holder=holder,
            role=Card.Role.EMPLOYEE,
            monthly_limit=Decimal(limit) if limit else None,
        ).card
    now = timezone.now()
    for name, amount, category, merchant in (
        ("Jamal Carter", "420.00", "travel", "Skyways Airlines"),
        ("Emily Watson", "86.40", "dining", "Corner Bistro"),
        ("Emily Watson", "112.00", "fuel", "QuickFuel"),
        ("Mike Kowalczyk", "64.10", "fuel", "Gas & Go"),
    ):
        TransactionFactory(
            card=cards[name], amount=Decimal(amount), category=category, merchant_name=merchant, transacted_at=now
        )
    return admin, program, cards


def test_administrator_sets_a_limit_freezes_a_card_and_downloads_a_report(browser_session, program_admin):
    admin, program, cards = program_admin
    jamal = cards["Jamal Carter"]
    page = browser_session.page
    browser_session.sign_in(admin)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Business").click()
    expect(page).to_have_url(re.compile(rf"/business/{program.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Program overview")
    expect(page.get_by_role("img", name=re.compile(r"^Spend by employee in"))).to_be_visible()
    near_limit = page.get_by_role("table", name=re.compile("Cards that have used 80%"))
    expect(near_limit).to_contain_text("Jamal Carter")
    expect(near_limit).to_contain_text("84%")
    browser_session.screenshot("business-overview")
    browser_session.assert_clean()

    # Set Jamal's monthly limit: a typo first, then the amount.
    page.get_by_role("navigation", name="Business administration").get_by_role("link", name="Employee cards").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Employee cards")
    browser_session.screenshot("business-cards")
    page.get_by_role("link", name=f"Manage Jamal Carter's card •••• {jamal.last4}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jamal Carter")
    page.get_by_role("link", name="Change the monthly limit").click()
    limit = page.get_by_label("Monthly spending limit, in dollars")
    expect(limit).to_have_value("500.00")
    limit.fill("7OO")
    page.get_by_role("button", name="Save limit").click()
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile(r"^Error: "))
    browser_session.screenshot("business-limit-error")
    summary.get_by_role("link", name=re.compile("Enter the monthly limit as an amount")).click()
    expect(limit).to_be_focused()
    limit.fill("750")
    page.get_by_role("button", name="Save limit").click()
    expect(page.get_by_role("status")).to_contain_text("The monthly limit on Jamal Carter's card")
    expect(page.get_by_role("status")).to_contain_text("$750.00")
    jamal.refresh_from_db()
    assert jamal.monthly_limit == Decimal("750.00")
    browser_session.assert_clean()

    # Freeze the card.
    page.get_by_role("button", name="Freeze card").click()
    expect(page.get_by_role("status")).to_contain_text("is frozen: new purchases are declined")
    expect(page.get_by_role("button", name="Unfreeze card")).to_be_visible()
    jamal.refresh_from_db()
    assert jamal.status == Card.Status.FROZEN and jamal.frozen_by == admin
    browser_session.screenshot("business-card-frozen")
    browser_session.assert_clean()

    # A report of this month by category, then its CSV.
    page.get_by_role("navigation", name="Business administration").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Spend reports")
    page.get_by_role("radio", name="Category").check()
    page.get_by_role("button", name="Show report").click()
    expect(page.get_by_role("heading", level=2, name=re.compile("^Spend by category"))).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("Travel")
    browser_session.screenshot("business-report")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download every transaction in these dates (CSV)").click()
    download = download_info.value
    assert download.suggested_filename.startswith("northwind-logistics-transactions-")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0][:3] == ["Date", "Employee", "Card (last 4 digits)"]
    assert {row[2] for row in rows[1:]} == {card.last4 for card in cards.values()}
    assert all(card.first6 not in ",".join(row) for row in rows for card in cards.values())
    browser_session.assert_clean()


def test_a_bad_report_date_is_explained_on_the_page(browser_session, program_admin):
    admin, program, _ = program_admin
    page = browser_session.page
    browser_session.sign_in(admin)
    browser_session.goto(f"/business/{program.pk}/reports/")
    page.get_by_role("group", name="From").get_by_label("Day").fill("31")
    page.get_by_role("group", name="From").get_by_label("Month").fill("2")
    page.get_by_role("button", name="Show report").click()
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Enter a real start date, for example 1 3 2025")
    expect(page.get_by_role("heading", level=2, name=re.compile("^Spend by"))).to_have_count(0)
    browser_session.screenshot("business-report-error")
    browser_session.assert_clean()


def test_card_forms_look_right(browser_session, program_admin):
    """Screenshots of the pages the journey above does not open, for people to look at."""
    admin, program, cards = program_admin
    page = browser_session.page
    browser_session.sign_in(admin)
    browser_session.goto(f"/business/cards/{cards['Emily Watson'].pk}/categories/")
    page.get_by_role("checkbox", name="Travel").check()
    page.get_by_role("button", name="Save blocked categories").click()
    expect(page.get_by_role("status")).to_contain_text("Purchases in Travel are now blocked")
    browser_session.screenshot("business-card-blocked")
    browser_session.goto(f"/business/cards/{cards['Emily Watson'].pk}/close/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Close Emily Watson's card")
    browser_session.screenshot("business-card-close")
    browser_session.goto(f"/business/{program.pk}/cards/request/")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_focused()
    browser_session.screenshot("business-card-request-errors")
    browser_session.assert_clean()


@pytest.fixture(params=[PHONE, DESKTOP], ids=lambda viewport: f"{viewport['width']}px")
def axe_tab(request, axe_session: BrowserSession, program_admin) -> BrowserSession:
    axe_session.page.set_viewport_size(request.param)
    axe_session.sign_in(program_admin[0])
    return axe_session


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/business/{program}/", "Program overview"),
        ("/business/{program}/cards/", "Employee cards"),
        ("/business/{program}/reports/", "Spend reports"),
        ("/business/cards/{card}/", "Jamal Carter"),
        ("/business/cards/{card}/limit/", "Set the monthly spending limit"),
        ("/business/cards/{card}/categories/", "Block merchant categories"),
        ("/business/cards/{card}/close/", "Close Jamal Carter's card"),
        ("/business/{program}/cards/request/", "Request a new employee card"),
    ],
)
def test_business_pages_are_accessible(axe_tab, program_admin, path, heading):
    _, program, cards = program_admin
    axe_tab.goto(path.format(program=program.pk, card=cards["Jamal Carter"].pk))
    expect(axe_tab.page.get_by_role("heading", level=1)).to_contain_text(heading)
    axe_tab.assert_accessible()
    axe_tab.assert_clean()


def test_business_form_errors_are_accessible(axe_tab, program_admin):
    _, program, _ = program_admin
    page = axe_tab.page
    axe_tab.goto(f"/business/{program.pk}/cards/request/")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_focused()
    axe_tab.assert_accessible()
    axe_tab.assert_clean()
