"""A cardholder finds the statement from two years ago and downloads its PDF."""

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from cards import ledger
from cards.models import Transaction
from statements import cycles, services
from tests.factories import UserFactory, issue_card, open_account

pytestmark = pytest.mark.browser


def two_years_of_statements(user):
    """A charge account with a purchase and its payment every month, and its statements."""
    today = timezone.localdate()
    account = open_account(holder=user.cardholder, opened_on=today - dt.timedelta(days=800))
    card = issue_card(account=account).card
    last = cycles.last_close_before(account.statement_day, today)
    closes = [cycles.add_months(last, -months) for months in range(25, -1, -1)]
    for number, close in enumerate(closes):
        bought = timezone.make_aware(dt.datetime.combine(close - dt.timedelta(days=6), dt.time(12)))
        paid = timezone.make_aware(dt.datetime.combine(close + dt.timedelta(days=10), dt.time(9)))
        rows = [("purchase", "86.40", bought, card, "Blue Bottle Coffee")]
        if paid.date() < today:
            rows.append(("payment", "-86.40", paid, None, "Payment received, thank you"))
        for index, (kind, amount, when, on_card, name) in enumerate(rows):
            with transaction.atomic():
                ledger.transaction_record(
                    account=ledger.account_lock(account.pk),
                    detail="journey",
                    kind=kind,
                    status=Transaction.Status.POSTED,
                    amount=Decimal(amount),
                    card=on_card,
                    merchant_name=name,
                    network_id=f"journey-{number}-{index}",
                    transacted_at=when,
                    posted_at=when,
                )
    services.statements_backfill(account_ids=[account.pk])
    return closes[1]  # the close 24 months before the latest one


def test_cardholder_downloads_the_statement_from_two_years_ago(browser_session):
    user = UserFactory(email_verified_at=None)
    close = two_years_of_statements(user)
    page = browser_session.page
    browser_session.sign_in(user)

    browser_session.goto("/statements/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Statements")
    page.get_by_label("Year").select_option(str(close.year))
    page.get_by_role("button", name="Show statements").click()
    expect(page).to_have_url(re.compile(rf"year={close.year}"))
    closing = f"{close:%B} {close.day}, {close.year}"
    link = page.get_by_role("link", name=f"PDF statement closing {closing}")
    expect(link).to_be_visible()
    browser_session.screenshot("statements")
    browser_session.assert_clean()

    with page.expect_download() as download_info, page.expect_response(re.compile(r"/pdf/$")) as response_info:
        link.click()
    download = download_info.value
    response = response_info.value
    saved = Path(download.path())

    assert response.headers["content-type"] == "application/pdf"
    ending = user.cardholder.accounts.get().reference[-5:]
    assert download.suggested_filename == f"statement-{close:%Y-%m-%d}-account-{ending}.pdf"
    assert saved.stat().st_size == int(response.headers["content-length"])
    assert saved.stat().st_size > 5000
    assert saved.read_bytes().startswith(b"%PDF-")
    # The download ends the navigation (net::ERR_ABORTED), which the harness ignores.
    browser_session.assert_clean()


def test_statements_page_is_accessible(axe_session):
    user = UserFactory(email_verified_at=None)
    two_years_of_statements(user)
    axe_session.sign_in(user)

    axe_session.goto("/statements/")

    expect(axe_session.page.get_by_role("heading", level=1)).to_have_text("Statements")
    axe_session.assert_accessible()
    axe_session.page.set_viewport_size({"width": 390, "height": 844})
    axe_session.assert_accessible()
