"""Disputing a charge, end to end: the cardholder disputes it with a receipt attached,
staff resolve it from the admin's dispute queue, and the cardholder sees the outcome and
the credit. Every disputes page passes axe."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from cards.models import CardAccount, Dispute, Transaction
from tests.browser.conftest import DESKTOP, PHONE, BrowserSession
from tests.cards.payments_helpers import spend, staff_console_login
from tests.factories import UserFactory, issue_card, open_account

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def cardholder_with_charge():
    user = UserFactory(email_verified_at=None)
    issued = issue_card(account=open_account(holder=user.cardholder))
    spend(issued, "80.00", merchant={"name": "Gadget Store", "mcc": "5732", "city": "Austin", "country": "US"})
    return user, Transaction.objects.get(card=issued.card)


def heading(tab: BrowserSession):
    return tab.page.get_by_role("heading", level=1)


def on_page(tab: BrowserSession, title) -> None:
    expect(heading(tab)).to_have_text(title)
    tab.page.wait_for_load_state("load")


def press(page, target) -> None:
    page.wait_for_load_state("load")
    target.click()


def test_dispute_a_charge_staff_resolve_it_cardholder_sees_the_outcome(browser_session, browser, live_server, tmp_path):
    user, charge = cardholder_with_charge()
    receipt = tmp_path / "receipt.pdf"
    receipt.write_bytes(PDF)
    page = browser_session.page
    browser_session.sign_in(user)

    browser_session.goto(f"/disputes/new/{charge.pk}/")
    on_page(browser_session, "Dispute a charge")
    expect(page.get_by_text("Gadget Store")).to_be_visible()
    page.get_by_label("I didn't receive what I paid for").check()
    page.get_by_label("Tell us what happened").fill("I ordered headphones on the 2nd and they never arrived.")
    page.get_by_label("Attach files").set_input_files(str(receipt))
    browser_session.screenshot("dispute-form")
    press(page, page.get_by_role("button", name="Submit dispute"))
    on_page(browser_session, "Dispute: Gadget Store")
    expect(page.get_by_text("We received your dispute. We'll email you at each step.")).to_be_visible()
    expect(page.get_by_role("link", name="receipt.pdf")).to_be_visible()
    browser_session.assert_clean()

    # Staff, in their own browser, work the queue in the staff console. Their sign-in
    # (password and authenticator app) has its own tests: here the session is made for
    # them and handed to the browser as its cookie.
    agent = Client()
    staff_console_login(agent)
    staff_context = browser.new_context(viewport=DESKTOP)
    staff_context.set_default_timeout(10_000)
    staff_context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": agent.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    staff = staff_context.new_page()
    staff.goto(f"{live_server.url}/admin/cards/dispute/")
    expect(staff.get_by_role("heading", level=1)).to_have_text("Select dispute to view")
    staff.locator("#result_list tbody tr").first.get_by_role("link").first.click()  # the oldest open dispute
    staff.get_by_role("link", name="Resolve in the cardholder's favour").click()
    staff.get_by_label("Note to the cardholder").fill("The merchant could not show delivery. The credit is yours.")
    staff.get_by_role("button", name="Resolve in the cardholder's favour").click()
    expect(staff.get_by_text("Resolved in the cardholder's favour. The cardholder has been told.")).to_be_visible()
    staff_context.close()

    page.reload()
    on_page(browser_session, "Dispute: Gadget Store")
    expect(page.get_by_text("Resolved in your favour.", exact=False).first).to_be_visible()
    expect(page.get_by_text("The merchant could not show delivery. The credit is yours.")).to_be_visible()
    browser_session.screenshot("dispute-resolved")
    dispute = Dispute.objects.get()
    assert dispute.status == "resolved" and dispute.resolution_credit.amount == Decimal("-80.00")
    assert CardAccount.objects.get(pk=charge.account_id).posted_balance == Decimal("0.00")
    press(page, page.get_by_role("link", name="Back to disputes"))
    expect(page.locator(".tag").filter(has_text="Resolved in your favour")).to_be_visible()
    browser_session.assert_clean()


@pytest.fixture(params=[PHONE, DESKTOP], ids=lambda viewport: f"{viewport['width']}px")
def axe_tab(request, axe_session: BrowserSession) -> BrowserSession:
    axe_session.page.set_viewport_size(request.param)
    return axe_session


def test_disputes_pages_are_accessible(axe_tab):
    user, charge = cardholder_with_charge()
    page = axe_tab.page
    axe_tab.sign_in(user)
    axe_tab.goto("/disputes/")
    on_page(axe_tab, "Disputes")
    axe_tab.assert_accessible()
    axe_tab.goto(f"/disputes/new/{charge.pk}/")
    on_page(axe_tab, "Dispute a charge")
    axe_tab.assert_accessible()
    press(page, page.get_by_role("button", name="Submit dispute"))
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_focused()
    axe_tab.assert_accessible()
    page.get_by_label("Something else").check()
    page.get_by_label("Tell us what happened").fill("This charge is not mine at all.")
    press(page, page.get_by_role("button", name="Submit dispute"))
    on_page(axe_tab, re.compile("^Dispute: "))
    axe_tab.assert_accessible()
    axe_tab.assert_clean()
