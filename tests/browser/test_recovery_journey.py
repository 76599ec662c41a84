"""Account recovery as a person does it: forgot password from details to a new
password, and forgot User ID. Every page passes axe-core at phone and desktop width,
and nothing breaks the Content-Security-Policy."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, BrowserSession
from tests.factories import UserFactory, issue_card, open_account

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Qz8wPx4tVb9kJm2r"


def accessible_at_both_widths(tab: BrowserSession) -> None:
    for viewport in (PHONE, DESKTOP):
        tab.page.set_viewport_size(viewport)
        tab.assert_accessible()


def heading(tab: BrowserSession):
    return tab.page.get_by_role("heading", level=1)


def test_forgot_password_journey_is_accessible_and_ends_at_log_in(axe_session):
    user = UserFactory()
    holder = user.cardholder
    tab, page = axe_session, axe_session.page

    tab.goto("/account/recover/")
    expect(heading(tab)).to_have_text("Get back into your account")
    accessible_at_both_widths(tab)
    page.get_by_label("I forgot my password").check()
    page.get_by_role("button", name="Continue").click()

    expect(heading(tab)).to_have_text("Reset your password")
    accessible_at_both_widths(tab)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_focused()
    accessible_at_both_widths(tab)

    page.get_by_label("User ID").fill(user.username)
    page.get_by_label("Day").fill(str(holder.date_of_birth.day))
    page.get_by_label("Month").fill(str(holder.date_of_birth.month))
    page.get_by_label("Year").fill(str(holder.date_of_birth.year))
    page.get_by_label("Email").check()
    page.get_by_role("button", name="Continue").click()

    expect(heading(tab)).to_have_text("Check your email")
    accessible_at_both_widths(tab)
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    page.get_by_label("Security code").fill(code)
    page.get_by_role("button", name="Continue").click()

    expect(heading(tab)).to_have_text("Create a new password")
    accessible_at_both_widths(tab)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm your new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()

    expect(heading(tab)).to_have_text("Log in to your account")
    expect(page.get_by_role("status")).to_contain_text("Your password has been changed.")
    page.get_by_label("User ID").fill(user.username)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # The new password is accepted; any second step the sign-in asks for still applies.
    expect(heading(tab)).not_to_have_text("Log in to your account")
    expect(page.get_by_text("User ID or password incorrect")).to_have_count(0)
    tab.assert_clean()


def test_forgot_user_id_pages_are_accessible(axe_session):
    user = UserFactory()
    issued = issue_card(account=open_account(holder=user.cardholder))
    tab, page = axe_session, axe_session.page

    tab.goto("/account/recover/user-id/")
    expect(heading(tab)).to_have_text("Find your User ID")
    accessible_at_both_widths(tab)
    page.get_by_label("With my card number and card ID").check()
    page.get_by_role("button", name="Continue").click()

    expect(heading(tab)).to_have_text("Find your User ID with your card")
    page.get_by_role("button", name="Email my User ID").click()
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_focused()
    accessible_at_both_widths(tab)
    page.get_by_label("Card number").fill(issued.pan)
    page.get_by_label("Card ID").fill(issued.card_id)
    page.get_by_role("button", name="Email my User ID").click()

    expect(heading(tab)).to_have_text("Check your email")
    accessible_at_both_widths(tab)
    assert user.username in mail.outbox[-1].body

    tab.goto("/account/recover/user-id/details/")
    page.get_by_role("button", name="Email my User ID").click()
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_focused()
    accessible_at_both_widths(tab)
    tab.assert_clean()


def test_only_the_chosen_identity_question_is_shown_and_the_csp_holds(browser_session):
    tab, page = browser_session, browser_session.page
    tab.goto("/account/recover/password/")
    date_of_birth, zip_code = page.get_by_label("Day"), page.get_by_label("Your ZIP code")
    expect(date_of_birth).to_be_visible()
    expect(zip_code).to_be_hidden()
    page.get_by_label("ZIP code", exact=True).check()
    expect(zip_code).to_be_visible()
    expect(date_of_birth).to_be_hidden()
    expect(page.get_by_label("ZIP code", exact=True)).to_have_attribute("aria-controls", re.compile("conditional"))
    tab.assert_clean()
