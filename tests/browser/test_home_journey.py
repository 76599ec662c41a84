"""A cardholder arrives on the home page, logs in (after one mistyped password) and sees
their cards."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import DEFAULT_PASSWORD, UserFactory, issue_card, open_account

pytestmark = pytest.mark.browser


def test_cardholder_logs_in_from_home_page_and_sees_their_card(browser_session):
    # No verified contact, so no "new device" step: that journey is test_device_journey.
    user = UserFactory(email_verified_at=None)
    issued = issue_card(account=open_account(holder=user.cardholder))
    page = browser_session.page

    response = browser_session.goto("/")
    # The console checks below would mean little if the page had no policy to violate.
    assert "style-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", level=1)).to_have_text("Your card account, online")
    browser_session.screenshot("home")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    browser_session.assert_clean()

    page.get_by_role("main").get_by_role("link", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/account/login/$"))
    user_id = page.get_by_label("User ID")
    password = page.get_by_label("Password")
    expect(user_id).to_have_attribute("autocomplete", "username")
    expect(password).to_have_attribute("autocomplete", "current-password")
    browser_session.screenshot("login")
    browser_session.assert_clean()

    user_id.fill(user.username)
    password.fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile(r"^Error: Log in"))
    browser_session.screenshot("login-error")
    browser_session.assert_clean()

    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/cards/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cards")
    expect(page.get_by_text(f"•••• {issued.card.last4}").first).to_be_visible()
    expect(page.get_by_role("banner")).to_contain_text(user.get_full_name())
    browser_session.screenshot("cards")
    browser_session.assert_clean()
