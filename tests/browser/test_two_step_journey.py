"""Two-step verification and contact details as a person meets them: turn on an
authenticator app, sign out, sign in with the app's code; change the email address,
confirm it with the emailed code, and the old address is told. Every page on the way
passes axe (WCAG 2.2 AA) at phone and desktop width, and is screenshotted."""

import base64
import re

import pytest
from django.core import mail
from django.utils import timezone
from django_otp.oath import totp
from playwright.sync_api import expect

from security import backup_codes
from tests.browser.conftest import DESKTOP, PHONE, BrowserSession
from tests.factories import DEFAULT_PASSWORD, UserFactory, issue_card, open_account, two_step_app_on

pytestmark = pytest.mark.browser


def app_code(setup_key: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for this setup key (RFC 6238, as django-otp
    computes it). ``steps_ahead=1``: the next 30-second code."""
    key = setup_key.replace(" ", "")
    secret = base64.b32decode(key + "=" * (-len(key) % 8))
    return f"{totp(secret, step=30, digits=6, drift=steps_ahead):06d}"


def heading(tab: BrowserSession):
    return tab.page.get_by_role("heading", level=1)


def check_page(tab: BrowserSession, name: str) -> None:
    """axe at both widths, and screenshots to look at."""
    original = tab.page.viewport_size
    for viewport in (PHONE, DESKTOP):
        tab.page.set_viewport_size(viewport)
        tab.assert_accessible()
    tab.page.set_viewport_size(original)
    tab.screenshot(name)


def member_with_card():
    user = UserFactory(
        email="robin@example.com", phone="+12025550155", phone_verified_at=timezone.now(), display_name="Robin"
    )
    issue_card(account=open_account(holder=user.cardholder))
    return user


def go(page, role: str, name) -> None:
    """Click a link or button that opens a page, once this page has finished loading:
    a click while it loads aborts its deferred scripts, which assert_clean reports."""
    page.wait_for_load_state()
    page.get_by_role(role, name=name).click()


def visit(tab: BrowserSession, path: str) -> None:
    tab.page.wait_for_load_state()
    tab.goto(path)


def confirm_with_password(page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it's you")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    go(page, "button", "Continue")


def test_turn_on_the_app_then_sign_in_with_its_code(browser_session):
    user = member_with_card()
    page = browser_session.page
    browser_session.sign_in(user)

    visit(browser_session, "/security/")
    go(page, "link", "Turn on")
    expect(heading(browser_session)).to_have_text("Two-step verification")
    go(page, "link", "Turn on the authenticator app")
    confirm_with_password(page)
    expect(heading(browser_session)).to_have_text("Set up your authenticator app")
    expect(page.get_by_role("img", name=re.compile("QR code to add"))).to_be_visible()
    setup_key = page.locator(".setup-key code").inner_text()
    page.get_by_label("Code from your app").fill(app_code(setup_key))
    go(page, "button", "Turn on")
    expect(heading(browser_session)).to_have_text("Save your backup codes")
    expect(page.locator(".backup-codes__item")).to_have_count(10)
    go(page, "link", "I've saved my codes")
    expect(page.get_by_text("On", exact=True)).to_be_visible()
    browser_session.assert_clean()

    go(page, "button", "Sign out")
    texts_before = len(mail.outbox)
    visit(browser_session, "/account/login/")
    page.get_by_label("User ID").fill(user.username)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    go(page, "button", "Log in")
    expect(page.get_by_text("Enter the 6-digit code from your authenticator app.")).to_be_visible()
    # The app is asked, not the phone or email on file.
    assert len(mail.outbox) == texts_before
    # The current 30-second code was spent turning the app on: the app's next one.
    page.get_by_label("Security code").fill(app_code(setup_key, steps_ahead=1))
    go(page, "button", "Continue")
    expect(page.get_by_role("banner").get_by_text(user.get_full_name())).to_be_visible()
    browser_session.assert_clean()


def test_change_email_confirm_with_the_code_and_the_old_address_is_told(browser_session):
    user = member_with_card()
    page = browser_session.page
    browser_session.sign_in(user)

    visit(browser_session, "/security/")
    go(page, "link", "Change contact details")
    expect(heading(browser_session)).to_have_text("Contact details")
    go(page, "link", "Change email address")
    confirm_with_password(page)
    expect(heading(browser_session)).to_have_text("Change your email address")
    page.get_by_label("New email address").fill("robin.new@example.com")
    go(page, "button", "Send a code")
    expect(heading(browser_session)).to_have_text("Confirm your new email address")
    sent = [m for m in mail.outbox if m.to == ["robin.new@example.com"]][-1]
    page.get_by_label("Security code").fill(re.search(r"\b(\d{6})\b", sent.body).group(1))
    go(page, "button", "Confirm")
    expect(page.get_by_role("status").filter(has_text="Your email address is now r***@example.com")).to_be_visible()
    expect(page.get_by_text("robin.new@example.com")).to_be_visible()
    told = [m for m in mail.outbox if m.subject == "Your email address was changed"]
    assert [m.to for m in told] == [["robin@example.com"]]
    browser_session.assert_clean()


def test_two_step_and_contact_pages_are_accessible(axe_session):
    user = member_with_card()
    tab, page = axe_session, axe_session.page
    tab.sign_in(user)

    visit(tab, "/security/two-step/")
    expect(heading(tab)).to_have_text("Two-step verification")
    check_page(tab, "two-step")

    visit(tab, "/security/two-step/app/")
    expect(heading(tab)).to_have_text("Confirm it's you")
    check_page(tab, "confirm-identity")
    page.get_by_label("Password").fill("not-the-password")
    go(page, "button", "Continue")
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_visible()
    check_page(tab, "confirm-identity-error")
    confirm_with_password(page)

    expect(heading(tab)).to_have_text("Set up your authenticator app")
    check_page(tab, "two-step-app")
    page.get_by_label("Code from your app").fill("12")
    go(page, "button", "Turn on")
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_visible()
    check_page(tab, "two-step-app-error")
    setup_key = page.locator(".setup-key code").inner_text()
    page.get_by_label("Code from your app").fill(app_code(setup_key))
    go(page, "button", "Turn on")
    expect(heading(tab)).to_have_text("Save your backup codes")
    check_page(tab, "backup-codes")

    visit(tab, "/security/two-step/app/remove/")
    expect(heading(tab)).to_have_text("Turn off two-step verification")
    check_page(tab, "two-step-off")

    visit(tab, "/security/contact/")
    expect(heading(tab)).to_have_text("Contact details")
    check_page(tab, "contact")
    visit(tab, "/security/contact/phone/")
    page.get_by_label("New mobile number").fill("12")
    go(page, "button", "Send a code")
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_visible()
    check_page(tab, "contact-edit-error")
    page.get_by_label("New mobile number").fill("202 555 0101")
    go(page, "button", "Send a code")
    expect(heading(tab)).to_have_text("Confirm your new mobile number")
    check_page(tab, "contact-confirm")
    tab.assert_clean()


def test_the_app_code_step_at_sign_in_is_accessible(axe_session):
    user = member_with_card()
    two_step_app_on(user)
    backup_codes.codes_generate(user=user)
    page = axe_session.page
    visit(axe_session, "/account/login/")
    page.get_by_label("User ID").fill(user.username)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    go(page, "button", "Log in")
    expect(page.get_by_text("Enter the 6-digit code from your authenticator app.")).to_be_visible()
    expect(page.get_by_role("button", name="Use a backup code")).to_be_visible()
    check_page(axe_session, "sign-in-app-code")
    go(page, "button", "Use a backup code")
    expect(page.get_by_label("Backup code")).to_be_visible()
    check_page(axe_session, "sign-in-backup-code")
    axe_session.assert_clean()
