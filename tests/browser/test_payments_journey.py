"""Paying, as a cardholder does it: schedule a payment and cancel it; pay now and see the
balance drop once the posting task has run (Celery runs eagerly in tests); add a bank
account after a code sent to the verified mobile; and every payments page passes axe."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from cards.models import CardAccount, Payment
from tests.browser.conftest import DESKTOP, PHONE, BrowserSession
from tests.cards.payments_helpers import bank_account, spend
from tests.factories import UserFactory, issue_card, open_account

pytestmark = pytest.mark.browser


def cardholder_owing(amount="300.00", **user_fields):
    # No verified contact: signs in without the device step (unless fields say otherwise).
    user = UserFactory(**({"email_verified_at": None} | user_fields))
    issued = issue_card(account=open_account(holder=user.cardholder))
    spend(issued, amount)
    return user, CardAccount.objects.get(pk=issued.card.account_id)


def heading(tab: BrowserSession):
    return tab.page.get_by_role("heading", level=1)


def press(page, target) -> None:
    """Click once the current page has loaded: leaving a page mid-load aborts its
    scripts, which the session reports as a failed request."""
    page.wait_for_load_state("load")
    target.click()


def on_page(tab: BrowserSession, title: str) -> None:
    """On the page titled ``title``, fully loaded (so a click that leaves it does not
    abort its scripts mid-load, which the session would report)."""
    expect(heading(tab)).to_have_text(title)
    tab.page.wait_for_load_state("load")


def test_schedule_a_payment_then_cancel_it(browser_session):
    user, account = cardholder_owing()
    bank_account(user)
    page = browser_session.page
    browser_session.sign_in(user)

    browser_session.goto("/payments/")
    on_page(browser_session, "Payments")
    expect(page.get_by_text("$300.00").first).to_be_visible()
    press(page, page.get_by_role("link", name=re.compile("^Make a payment")))
    on_page(browser_session, "Make a payment")
    page.get_by_label("Another amount").check()
    page.get_by_label("Other amount, in dollars").fill("125.50")
    page.get_by_label("On a later date").check()
    later = timezone.localdate() + timezone.timedelta(days=10)
    page.get_by_label("Day", exact=True).fill(str(later.day))
    page.get_by_label("Month", exact=True).fill(str(later.month))
    page.get_by_label("Year", exact=True).fill(str(later.year))
    browser_session.screenshot("payment-form")
    press(page, page.get_by_role("button", name="Continue"))

    on_page(browser_session, "Check your payment")
    expect(page.get_by_text("$125.50", exact=True)).to_be_visible()
    browser_session.screenshot("payment-review")
    press(page, page.get_by_role("button", name="Schedule payment"))

    expect(page.get_by_text(re.compile(r"Your payment of \$125.50 is scheduled for"))).to_be_visible()
    expect(page.get_by_text("Scheduled", exact=True)).to_be_visible()
    press(page, page.get_by_role("link", name="Cancel this payment"))
    on_page(browser_session, "Cancel this payment?")
    press(page, page.get_by_role("button", name="Cancel payment"))
    expect(page.get_by_text(re.compile(r"Your payment of \$125.50 on .* is cancelled"))).to_be_visible()
    expect(page.get_by_text("No payments scheduled.")).to_be_visible()
    assert Payment.objects.get().status == Payment.Status.CANCELLED
    browser_session.assert_clean()


def test_pay_now_and_the_balance_drops_after_the_task_runs(browser_session):
    user, account = cardholder_owing()
    bank_account(user)
    page = browser_session.page
    browser_session.sign_in(user)

    browser_session.goto(f"/payments/accounts/{account.pk}/pay/")
    page.get_by_label("Current balance: $300.00").check()
    press(page, page.get_by_role("button", name="Continue"))
    expect(page.get_by_role("button", name="Make payment")).to_be_visible()
    press(page, page.get_by_role("button", name="Make payment"))

    expect(page.get_by_text("Thank you. Your payment of $300.00 is on its way.")).to_be_visible()
    expect(page.locator(".tag").filter(has_text="Received")).to_be_visible()
    assert CardAccount.objects.get(pk=account.pk).posted_balance == Decimal("0.00")
    press(page, page.get_by_role("link", name="Back to payments"))
    expect(page.get_by_text("Nothing to pay right now.")).to_be_visible()
    browser_session.screenshot("payments-after")
    browser_session.assert_clean()


def test_paying_too_much_shows_a_clear_error(browser_session):
    user, account = cardholder_owing("80.00")
    bank_account(user)
    page = browser_session.page
    browser_session.sign_in(user)
    browser_session.goto(f"/payments/accounts/{account.pk}/pay/")
    page.get_by_label("Another amount").check()
    page.get_by_label("Other amount, in dollars").fill("95")
    press(page, page.get_by_role("button", name="Continue"))
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("You can pay up to $80.00")
    summary.get_by_role("link").first.click()
    expect(page.get_by_label("Other amount, in dollars")).to_be_focused()
    browser_session.assert_clean()


def test_add_a_bank_account_after_a_texted_code(browser_session):
    user, account = cardholder_owing(phone="+12025550163", phone_verified_at=timezone.now())
    page = browser_session.page
    browser_session.sign_in(user)

    browser_session.goto("/payments/bank-accounts/")
    press(page, page.get_by_role("link", name="Add a bank account"))
    on_page(browser_session, "Confirm it's you")
    press(page, page.get_by_role("button", name="Text a code to ***-***-0163"))
    on_page(browser_session, "Enter your code")
    newest = sorted(settings.SMS_FILE_PATH.iterdir())[-1].read_text()
    page.get_by_label("Security code").fill(re.search(r"\b(\d{6})\b", newest).group(1))
    press(page, page.get_by_role("button", name="Continue"))

    on_page(browser_session, "Add a bank account")
    page.get_by_label("Nickname (optional)").fill("Joint checking")
    page.get_by_label("Routing number").fill("021000021")
    page.get_by_label("Account number", exact=True).fill("55501234321")
    page.get_by_label("Account number again").fill("55501234321")
    press(page, page.get_by_role("button", name="Add bank account"))
    expect(page.get_by_text("Joint checking (bank account ending 4321) is ready to pay from.")).to_be_visible()
    expect(page.get_by_text("55501234321")).to_have_count(0)
    browser_session.assert_clean()


@pytest.fixture(params=[PHONE, DESKTOP], ids=lambda viewport: f"{viewport['width']}px")
def axe_tab(request, axe_session: BrowserSession) -> BrowserSession:
    axe_session.page.set_viewport_size(request.param)
    return axe_session


def test_payments_pages_are_accessible(axe_tab):
    user, account = cardholder_owing()
    method = bank_account(user)
    later = timezone.localdate() + timezone.timedelta(days=5)
    from cards import payments

    payment, _ = payments.payment_schedule(
        account=account,
        method=method,
        amount=Decimal("20.00"),
        scheduled_for=later,
        idempotency_key="axe-" + "k" * 24,
        actor=user,
    )
    page = axe_tab.page
    axe_tab.sign_in(user)
    for path, title in [
        ("/payments/", "Payments"),
        (f"/payments/accounts/{account.pk}/pay/", "Make a payment"),
        (f"/payments/{payment.pk}/", "Payment of $20.00"),
        (f"/payments/{payment.pk}/cancel/", "Cancel this payment?"),
        ("/payments/bank-accounts/", "Bank accounts you pay from"),
        (f"/payments/accounts/{account.pk}/autopay/", "Autopay"),
        ("/payments/confirm/", "Confirm it's you"),
    ]:
        axe_tab.goto(path)
        on_page(axe_tab, title)
        axe_tab.assert_accessible()
    axe_tab.goto(f"/payments/accounts/{account.pk}/pay/")
    press(page, page.get_by_role("button", name="Continue"))
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_focused()
    axe_tab.assert_accessible()
    page.get_by_label("Another amount").check()
    page.get_by_label("Other amount, in dollars").fill("10")
    press(page, page.get_by_role("button", name="Continue"))
    on_page(axe_tab, "Check your payment")
    axe_tab.assert_accessible()
    axe_tab.assert_clean()
