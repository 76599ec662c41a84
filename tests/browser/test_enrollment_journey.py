"""A cardholder enrolls a card online, signs out, and signs in with the new login; then
someone mistypes a password five times and reads the lock page."""

import datetime as dt
import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import User
from tests.factories import CardholderFactory, UserFactory, issue_card, open_account

pytestmark = pytest.mark.browser

PASSWORD = "Harbour-Lights-2048"


def _latest_code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def test_enroll_a_card_then_sign_out_and_sign_in(browser_session):
    holder = CardholderFactory(
        legal_name="Nora Lindqvist",
        name_on_card="NORA LINDQVIST",
        date_of_birth=dt.date(1988, 4, 9),
        email="nora@example.com",
        phone="+12025550161",
    )
    issued = issue_card(account=open_account(holder=holder))
    page = browser_session.page

    browser_session.goto("/")
    page.get_by_role("main").get_by_role("link", name="Enroll").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enroll for online access")
    page.get_by_label("Card number").fill(f"{issued.pan[:4]} {issued.pan[4:10]} {issued.pan[10:]}")
    page.get_by_label("Card ID").fill(issued.card_id)
    page.get_by_label("Name as it appears on your card").fill("Nora Lindqvist")
    page.get_by_label("Date of birth").check()
    page.get_by_label("Day").fill("9")
    page.get_by_label("Month").fill("4")
    page.get_by_label("Year").fill("1988")
    browser_session.screenshot("enroll-card")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Create your login")
    page.get_by_label("Create a User ID").fill("nora.l88")
    page.get_by_label("Create a password").fill("password12")
    # The checklist runs the server's rules as the person types.
    expect(page.locator(".password-rules__item--fail").first).to_be_visible()
    page.get_by_label("Create a password").fill(PASSWORD)
    expect(page.locator(".password-rules__item--fail")).to_have_count(0)
    expect(page.locator(".password-rules__item--ok")).to_have_count(5)
    page.get_by_label("Confirm your password").fill(PASSWORD)
    browser_session.screenshot("enroll-login")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your contact details")
    page.get_by_label(re.compile(r"^Email to n\*\*\*@example\.com")).check()
    page.get_by_role("button", name="Send code").click()
    expect(page.get_by_text("We sent a 6-digit code to n***@example.com")).to_be_visible()
    page.get_by_label("Security code").fill(_latest_code())
    browser_session.screenshot("enroll-confirm")
    page.get_by_role("button", name="Finish enrolling").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your cards")
    expect(page.get_by_text(f"•••• {issued.card.last4}").first).to_be_visible()
    expect(page.get_by_text("Your User ID is nora.l88")).to_be_visible()
    assert User.objects.filter(username="nora.l88", cardholder=holder).exists()
    browser_session.assert_clean()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out")).to_be_visible()
    browser_session.sign_in(User.objects.get(username="nora.l88"), PASSWORD)
    expect(page.get_by_text(f"•••• {issued.card.last4}").first).to_be_visible()
    browser_session.assert_clean()
    page_text = page.content()
    assert issued.pan not in page_text


def test_three_wrong_passwords_from_a_new_browser_show_the_lock_page(browser_session):
    user = UserFactory()
    page = browser_session.page
    browser_session.goto("/account/login/")
    for attempt in range(3):
        page.get_by_label("User ID").fill(user.username)
        page.get_by_label("Password").fill(f"wrong-password-{attempt}")
        page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Account temporarily locked")
    expect(page.get_by_text("Your account is temporarily locked. Try again in 30 minutes")).to_be_visible()
    browser_session.screenshot("locked")
    browser_session.assert_clean()
