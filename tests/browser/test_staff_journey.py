"""A staff member at work in the staff console: a cardholder locked their User ID and
calls. The agent (customer service, with an authenticator app) signs in to /admin/ with
the app's code, finds the cardholder by User ID, records how they verified the caller,
and unlocks; the cardholder then signs in. The console's pages are screenshotted and
must not break the Content-Security-Policy."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.staff_roles import CUSTOMER_SERVICE
from security.models import IdentityVerification, SecurityEvent
from tests.browser.conftest import BrowserSession
from tests.factories import (
    STAFF_PASSWORD,
    CardholderFactory,
    UserFactory,
    app_code,
    issue_card,
    open_account,
    staff_member,
    two_step_app_on,
)

pytestmark = pytest.mark.browser


def heading(tab: BrowserSession):
    return tab.page.get_by_role("heading", level=1)


def click(page, role: str, name, **kwargs) -> None:
    # Wait for the page to finish loading: a click while it loads aborts its scripts.
    page.wait_for_load_state()
    page.get_by_role(role, name=name, **kwargs).click()


def lock_out(tab: BrowserSession, user) -> None:
    page = tab.page
    tab.goto("/account/login/")
    for attempt in range(3):
        page.get_by_label("User ID").fill(user.username)
        page.get_by_label("Password").fill(f"wrong-password-{attempt}")
        click(page, "button", "Log in")
    expect(heading(tab)).to_have_text("Account temporarily locked")


def staff_sign_in(tab: BrowserSession, agent, key: str) -> None:
    """Open /admin/: our sign-in page, the password, then the authenticator app's code."""
    page = tab.page
    tab.goto("/admin/")
    expect(heading(tab)).to_have_text("Log in to your account")
    page.get_by_label("User ID").fill(agent.username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    click(page, "button", "Log in")
    expect(page.get_by_text("Enter the 6-digit code from your authenticator app.")).to_be_visible()
    expect(page.get_by_label("Remember this device")).to_have_count(0)
    page.get_by_label("Security code").fill(app_code(key))
    click(page, "button", "Continue")
    expect(page.get_by_role("heading", name="Staff console", level=1)).to_be_visible()


def test_staff_verify_identity_and_unlock_a_locked_user_id(browser_session, axe_session):
    member = UserFactory(
        username="locked.caller",
        cardholder=CardholderFactory(legal_name="Rosa Locke", email="rosa@example.com"),
        email="rosa@example.com",
        phone="+12025550147",
        phone_verified_at=timezone.now(),
    )
    issued = issue_card(account=open_account(holder=member.cardholder))
    UserFactory.create_batch(3)  # other cardholders, whom the search must leave out
    agent = staff_member("service.agent", groups=(CUSTOMER_SERVICE,))
    key = two_step_app_on(agent)
    caller, staff_tab = axe_session, browser_session
    page = staff_tab.page

    # The cardholder locks their User ID.
    lock_out(caller, member)

    # The agent opens the console: our sign-in page, then the app's code.
    staff_sign_in(staff_tab, agent, key)
    staff_tab.screenshot("staff-console-index")

    # Finds the cardholder by User ID.
    click(page, "link", "Cardholders", exact=True)
    page.locator("#searchbar").fill(member.username)
    click(page, "button", "Search")
    results = page.locator("#result_list tbody tr")
    expect(results).to_have_count(1)
    expect(results).to_contain_text("Rosa Locke")
    expect(results).to_contain_text(f"•••• {issued.card.last4}")
    click(page, "link", "Rosa Locke")
    expect(heading(staff_tab)).to_have_text("Rosa Locke")
    expect(page.get_by_text("Locked after 3 wrong passwords")).to_be_visible()
    expect(page.get_by_text(f"•••• {issued.card.last4}", exact=True)).to_be_visible()
    assert issued.pan not in page.content()
    staff_tab.screenshot("staff-cardholder-locked")

    # Records how the caller was verified.
    click(page, "link", "Verify identity")
    expect(heading(staff_tab)).to_have_text(f"Verify identity: {member.username}")
    page.get_by_label("Phone call").check()
    page.get_by_label("Date of birth").check()
    page.get_by_label("Last 4 digits of the card").check()
    page.get_by_label("Note").fill("Called from the number on file.")
    staff_tab.screenshot("staff-verify-identity")
    click(page, "button", "Verify identity")
    expect(heading(staff_tab)).to_have_text("Rosa Locke")
    expect(page.get_by_text("Identity verification recorded for locked.caller")).to_be_visible()
    expect(page.get_by_text("Verified by you (phone call: Date of birth, Last 4 digits of the card)")).to_be_visible()

    # Unlocks, with a reason.
    click(page, "link", "Unlock", exact=True)
    expect(heading(staff_tab)).to_have_text(f"Unlock sign-in: {member.username}")
    page.get_by_label("Reason").fill("Verified on the phone; forgot password was not the problem")
    click(page, "button", "Unlock sign-in")
    expect(page.get_by_text("locked.caller can log in again.")).to_be_visible()
    expect(page.get_by_text("Not locked", exact=True)).to_be_visible()
    staff_tab.screenshot("staff-cardholder-unlocked")
    staff_tab.assert_clean()

    verification = IdentityVerification.objects.get(user=member)
    assert (verification.staff, verification.method) == (agent, "phone_call")
    unlocked = SecurityEvent.objects.get(kind="unlocked", user=member)
    assert unlocked.actor == agent

    # The cardholder can sign in again.
    caller.sign_in(member)
    expect(caller.page.get_by_role("banner").get_by_text("Rosa Locke")).to_be_visible()


def test_the_console_warns_before_signing_an_idle_staff_member_out(browser_session, settings):
    settings.SESSION_IDLE_TIMEOUT = 12  # the staff limit is the shorter of the two
    agent = staff_member("service.agent", groups=(CUSTOMER_SERVICE,))
    key = two_step_app_on(agent)
    page = browser_session.page
    staff_sign_in(browser_session, agent, key)
    dialog = page.get_by_role("alertdialog", name="You'll be signed out soon")

    expect(dialog).to_be_visible(timeout=10_000)
    expect(dialog.get_by_role("button", name="Stay signed in")).to_be_focused()
    browser_session.screenshot("staff-console-timeout")
    dialog.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()
    page.reload()

    expect(page.get_by_role("heading", name="Staff console", level=1)).to_be_visible()
    browser_session.assert_clean()
