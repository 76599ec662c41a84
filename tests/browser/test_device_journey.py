"""Device recognition as a person meets it: a new browser gets a code, "Remember this
device" skips it next time, clearing cookies brings it back; and after a password
reset the old password fails while the new one works."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import DEFAULT_PASSWORD, UserFactory, issue_card, open_account

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Lantern-Orchard-5521"


def texted_code() -> str:
    files = sorted(settings.SMS_FILE_PATH.iterdir())
    return re.search(r"\b(\d{6})\b", files[-1].read_text()).group(1)


def log_in(page, user, password):
    page.get_by_label("User ID").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_new_device_code_remember_then_no_code_then_removed_then_cookies_cleared(browser_session):
    user = UserFactory(phone="+12025550177", phone_verified_at=timezone.now())
    issued = issue_card(account=open_account(holder=user.cardholder))
    page = browser_session.page

    browser_session.goto("/account/login/")
    log_in(page, user, DEFAULT_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("We don't recognize this device")
    expect(page.get_by_text("We sent a 6-digit code to ***-***-0177")).to_be_visible()
    expect(page.get_by_text("this is a new device")).to_be_visible()
    browser_session.screenshot("device-code")
    page.get_by_label("Security code").fill(texted_code())
    page.get_by_label("Remember this device").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text(f"•••• {issued.card.last4}").first).to_be_visible()
    browser_session.assert_clean()

    page.get_by_role("button", name="Sign out").click()
    browser_session.goto("/account/login/")
    log_in(page, user, DEFAULT_PASSWORD)
    # Remembered: straight to the cards, no code.
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cards")

    # Removing the device on the security page takes effect on its next sign-in.
    browser_session.goto("/security/devices/")
    page.get_by_role("button", name=re.compile(r"^Remove ")).first.click()
    expect(page.get_by_text("Device removed")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state("networkidle")
    browser_session.goto("/account/login/")
    log_in(page, user, DEFAULT_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("We don't recognize this device")
    page.get_by_label("Security code").fill(texted_code())
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text(f"•••• {issued.card.last4}").first).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state("networkidle")
    page.context.clear_cookies()
    browser_session.goto("/account/login/")
    log_in(page, user, DEFAULT_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("We don't recognize this device")
    browser_session.assert_clean()


def test_after_a_password_reset_the_old_password_fails_and_the_new_one_works(browser_session):
    user = UserFactory(phone="+12025550178", phone_verified_at=timezone.now())
    holder = user.cardholder
    page = browser_session.page

    browser_session.goto("/account/login/")
    page.get_by_role("link", name="Forgot User ID or password?").click()
    page.get_by_label("I forgot my password").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("User ID").fill(user.username)
    page.get_by_label("Day").fill(str(holder.date_of_birth.day))
    page.get_by_label("Month").fill(str(holder.date_of_birth.month))
    page.get_by_label("Year").fill(str(holder.date_of_birth.year))
    page.get_by_label("Email").check()
    page.get_by_role("button", name="Continue").click()
    # The code is read from the development outbox, as a person trying the demo would.
    page.get_by_label("Security code").fill(re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1))
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm your new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password has been changed.")).to_be_visible()

    log_in(page, user, DEFAULT_PASSWORD)
    expect(page.get_by_text("User ID or password incorrect").first).to_be_visible()

    log_in(page, user, NEW_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("We don't recognize this device")
    page.get_by_label("Security code").fill(texted_code())
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cards")
    browser_session.assert_clean()
