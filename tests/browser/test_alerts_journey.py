"""Alerts as a cardholder sets them: ask for an email about purchases over $50, then a
$60 purchase arrives from the card processor and the email is in the development outbox
(Celery runs eagerly in tests, so delivery follows the commit). The page passes axe."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from cards.models import AlertPreference
from tests.browser.conftest import DESKTOP, PHONE, BrowserSession
from tests.cards.conftest import event
from tests.cards.payments_helpers import handle
from tests.factories import UserFactory, issue_card, open_account

pytestmark = pytest.mark.browser


def heading(tab: BrowserSession):
    return tab.page.get_by_role("heading", level=1)


def test_an_alert_over_50_dollars_emails_about_a_60_dollar_purchase(browser_session):
    user = UserFactory(email_verified_at=None, email="alex@example.com")
    issued = issue_card(account=open_account(holder=user.cardholder))
    page = browser_session.page
    browser_session.sign_in(user)

    browser_session.goto("/alerts/")
    expect(heading(browser_session)).to_have_text("Alerts")
    expect(page.get_by_text("New device sign-in")).to_be_visible()
    page.get_by_label("Email for purchases over an amount").check()
    page.get_by_label("Alert me about purchases over").fill("50")
    browser_session.screenshot("alerts")
    page.wait_for_load_state("load")
    page.get_by_role("button", name="Save alert choices").click()
    expect(page.get_by_text("Your alert choices are saved.")).to_be_visible()
    assert AlertPreference.objects.get(user=user, kind="purchase_over").threshold == 50

    sent_before = len(mail.outbox)
    handle(event(card=issued, amount="45.00"))  # under the amount: no alert
    handle(event(card=issued, amount="60.00"))  # the processor's authorization, committed
    [message] = mail.outbox[sent_before:]
    assert message.to == ["alex@example.com"]
    assert message.subject == "Purchase alert: $60.00 at Corner Coffee"
    assert f"card ending {issued.card.last4}" in message.body
    assert issued.pan not in message.body
    browser_session.assert_clean()


@pytest.fixture(params=[PHONE, DESKTOP], ids=lambda viewport: f"{viewport['width']}px")
def axe_tab(request, axe_session: BrowserSession) -> BrowserSession:
    axe_session.page.set_viewport_size(request.param)
    return axe_session


def test_alerts_page_is_accessible_with_and_without_errors(axe_tab):
    user = UserFactory(email_verified_at=None)
    issue_card(account=open_account(holder=user.cardholder))
    page = axe_tab.page
    axe_tab.sign_in(user)
    axe_tab.goto("/alerts/")
    expect(heading(axe_tab)).to_have_text("Alerts")
    axe_tab.assert_accessible()
    page.get_by_label("Email for purchases over an amount").check()
    page.wait_for_load_state("load")
    page.get_by_role("button", name="Save alert choices").click()
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_focused()
    axe_tab.assert_accessible()
    axe_tab.assert_clean()
