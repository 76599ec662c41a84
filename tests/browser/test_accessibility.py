"""Every page passes axe-core's WCAG 2.2 A and AA rules, on a phone and on a desktop
(UI.md, "Checks"). Each test first checks it is on the page it means to check."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, BrowserSession
from tests.factories import UserFactory, issue_card, open_account

pytestmark = pytest.mark.browser


@pytest.fixture(params=[PHONE, DESKTOP], ids=lambda viewport: f"{viewport['width']}px")
def axe_tab(request, axe_session: BrowserSession) -> BrowserSession:
    axe_session.page.set_viewport_size(request.param)
    return axe_session


def heading(tab: BrowserSession):
    return tab.page.get_by_role("heading", level=1)


def test_home_page_is_accessible(axe_tab):
    axe_tab.goto("/")
    expect(heading(axe_tab)).to_have_text("Your card account, online")
    axe_tab.assert_accessible()
    axe_tab.assert_clean()


def test_login_page_is_accessible(axe_tab):
    axe_tab.goto("/account/login/")
    expect(heading(axe_tab)).to_have_text("Log in to your account")
    axe_tab.assert_accessible()
    axe_tab.assert_clean()


def test_login_page_with_an_error_is_accessible(axe_tab):
    user = UserFactory()
    page = axe_tab.page
    axe_tab.goto("/account/login/")
    page.get_by_label("User ID").fill(user.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_focused()
    axe_tab.assert_accessible()
    axe_tab.assert_clean()


def test_card_list_is_accessible(axe_tab):
    user = UserFactory()
    issued = issue_card(account=open_account(holder=user.cardholder))
    axe_tab.sign_in(user)
    expect(heading(axe_tab)).to_have_text("Your cards")
    expect(axe_tab.page.get_by_text(f"•••• {issued.card.last4}")).to_be_visible()
    axe_tab.assert_accessible()
    axe_tab.assert_clean()


def test_page_not_found_is_accessible(axe_tab):
    response = axe_tab.goto("/no-such-page/")
    assert response.status == 404
    expect(heading(axe_tab)).to_have_text("Page not found")
    axe_tab.assert_accessible()
    axe_tab.assert_clean()


def test_locked_account_page_is_accessible(axe_tab, settings):
    user = UserFactory()
    page = axe_tab.page
    axe_tab.goto("/account/login/")
    # The test's browser is one the portal has never seen: the strictest limit applies.
    for attempt in range(settings.RISK_FAILURE_LIMIT_UNRECOGNIZED):
        page.get_by_label("User ID").fill(user.username)
        page.get_by_label("Password").fill(f"wrong-password-{attempt}")
        page.get_by_role("button", name="Log in").click()
    expect(heading(axe_tab)).to_have_text("Account temporarily locked")
    axe_tab.assert_accessible()
    axe_tab.assert_clean()


def test_session_timeout_warning_is_accessible(axe_tab, settings):
    # Opens at half the idle time (5 s), leaving 5 s to run axe before the sign-out.
    settings.SESSION_IDLE_TIMEOUT = 10
    axe_tab.sign_in(UserFactory())
    dialog = axe_tab.page.get_by_role("alertdialog", name="You'll be signed out soon")
    expect(dialog).to_be_visible(timeout=10_000)
    expect(dialog).to_contain_text("For your security, we'll sign you out in")
    axe_tab.assert_accessible()
    axe_tab.assert_clean()
