"""The live password checklist beside "new password" fields.

The script loads with ``defer``, so a person (or the browser's password manager) can put
a password in the field before the script is running. The list must then still be
checked against the server's rules, not sit unticked beside a filled field.
"""

import pytest
from playwright.sync_api import Route, expect

from tests.factories import UserFactory

pytestmark = pytest.mark.browser

SCRIPT = "**/password-rules*.js"


def test_a_password_typed_before_the_checklist_loaded_is_checked(browser_session):
    page = browser_session.page
    browser_session.sign_in(UserFactory())

    # Hold the checklist back: the page loads with an empty script in its place.
    def empty(route: Route) -> None:
        route.fulfill(status=200, content_type="text/javascript", body="")

    page.route(SCRIPT, empty)
    browser_session.goto("/security/password/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.get_by_label("New password", exact=True).fill("password12")
    expect(page.locator(".password-rules__item--fail")).to_have_count(0)

    # Now the real script arrives, after the typing.
    page.unroute(SCRIPT)
    src = page.locator("script[src*='password-rules']").get_attribute("src")
    page.add_script_tag(url=src)
    expect(page.locator(".password-rules__item--fail").first).to_be_visible()

    # And it keeps up with typing from then on.
    page.get_by_label("New password", exact=True).fill("Quiet-Harbour-Lanterns-77")
    expect(page.locator(".password-rules__item--fail")).to_have_count(0)
    expect(page.locator(".password-rules__item--ok").first).to_be_visible()
    browser_session.assert_clean()
