"""The idle-session warning: shortly before the server signs an idle person out, a dialog
counts down and offers to keep them signed in (WCAG 2.2.1 Timing Adjustable).

The idle limit is cut to a few seconds through ``settings``: the live server answers
from another thread of this process, so it sees the override. The warning opens at half
the limit (at most 2 minutes before it), so with 6 seconds it opens after about 3.
"""

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import BrowserSession
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

SESSION_STATUS = "/account/session/"


def warning(page: Page):
    return page.get_by_role("alertdialog", name="You'll be signed out soon")


def seconds_left(session: BrowserSession) -> int:
    # The request the page makes, with the tab's cookies; it does not count as activity.
    response = session.page.request.get(session.url(SESSION_STATUS), headers={"Accept": "application/json"})
    assert response.ok
    return response.json()["seconds_left"]


def test_warning_counts_down_with_focus_on_stay_signed_in_and_escape_keeps_the_session(browser_session, settings):
    settings.SESSION_IDLE_TIMEOUT = 12  # long enough to look at the dialog and take screenshots
    page = browser_session.page
    browser_session.sign_in(UserFactory())
    nav_sign_out = page.get_by_role("banner").get_by_role("button", name="Sign out")
    nav_sign_out.focus()
    dialog = warning(page)
    expect(dialog).to_be_hidden()

    expect(dialog).to_be_visible(timeout=10_000)
    expect(dialog.get_by_role("button", name="Stay signed in")).to_be_focused()
    expect(dialog.get_by_role("button", name="Sign out")).to_be_visible()
    # Screen readers hear the time in words; the m:ss clock is for the eye.
    spoken = r"^For your security, we'll sign you out in \d seconds? because you haven't done anything for a while\.$"
    expect(dialog).to_have_accessible_description(re.compile(spoken))
    expect(dialog.locator("[data-countdown]")).to_have_text(re.compile(r"^0:0[1-6]$"))
    browser_session.screenshot("session-timeout")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(nav_sign_out).to_be_focused()
    assert seconds_left(browser_session) > 6
    browser_session.assert_clean()


def test_stay_signed_in_keeps_the_session_past_the_idle_limit(browser_session, settings):
    settings.SESSION_IDLE_TIMEOUT = 6
    page = browser_session.page
    user = UserFactory()
    browser_session.sign_in(user)
    dialog = warning(page)

    expect(dialog).to_be_visible(timeout=10_000)
    dialog.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()
    # Past the limit counted from the last page load, within the one counted from "Stay".
    page.wait_for_timeout(4_000)
    page.reload()

    expect(page).to_have_url(re.compile(r"/cards/$"))
    expect(page.get_by_role("banner")).to_contain_text(user.get_full_name())
    browser_session.assert_clean()


def test_letting_the_warning_run_out_lands_on_sign_in_with_the_reason(browser_session, settings):
    settings.SESSION_IDLE_TIMEOUT = 6
    page = browser_session.page
    browser_session.sign_in(UserFactory())

    expect(warning(page)).to_be_visible(timeout=10_000)

    expect(page).to_have_url(re.compile(r"/account/login/\?next=/cards/$"), timeout=15_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in to your account")
    expect(page.get_by_role("status")).to_contain_text("For your security you were signed out after")
    # Signed out, the page has no warning to give.
    expect(page.locator("dialog")).to_have_count(0)
    # The page learnt it was signed out from the status URL's 401.
    browser_session.assert_clean(expected=(f"401 for fetch {browser_session.url(SESSION_STATUS)}",))


def test_activity_in_another_tab_postpones_the_warning(browser_session, settings):
    settings.SESSION_IDLE_TIMEOUT = 6
    page = browser_session.page
    browser_session.sign_in(UserFactory())
    loaded = time.monotonic()
    dialog = warning(page)

    other_tab = page.context.new_page()
    page.wait_for_timeout(max(0, 2 - (time.monotonic() - loaded)) * 1000)
    other_tab.goto(browser_session.url("/cards/"))
    # This tab's own clock says "warn" at 3 s; the server says another 4 or 5 seconds.
    page.wait_for_timeout(max(0, 4.2 - (time.monotonic() - loaded)) * 1000)
    assert not dialog.is_visible()

    expect(dialog).to_be_visible(timeout=10_000)
    other_tab.close()
    browser_session.assert_clean()
