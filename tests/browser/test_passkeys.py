"""Passkeys as a person meets them, in Chromium with a CDP virtual authenticator (this
device's built-in one, with user verification: the stand-in for Face ID, Touch ID or
Windows Hello): sign in, add a passkey on the security page, sign out, sign back in with
it and land on the cards; a device that does not confirm it's you is refused."""

import pytest
from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import expect

from accounts.models import User
from security.models import SecurityEvent
from tests.factories import UserFactory, issue_card, open_account

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _passkeys_at_the_live_server(settings, live_server):
    # The live server listens on a random port; the browser's origin must be allowed.
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    assert live_server.url.startswith("http://localhost:")


def add_authenticator(page) -> tuple:
    """This device's own authenticator, which can verify its user (biometric or PIN) and
    says yes without a prompt."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def cardholder() -> tuple[User, str]:
    # No verified contact, so the password alone signs in (the code step has its own journeys).
    user = UserFactory(email_verified_at=None)
    issued = issue_card(account=open_account(holder=user.cardholder))
    return user, issued.card.last4


def add_passkey(session, user) -> tuple:
    """Sign in with the password, then add a passkey from the security page. The device's
    authenticator appears only now: on a login page, Chromium's virtual authenticator
    answers passkey autofill at once (no passkey yet: an error), where a real browser
    waits for the person to pick one."""
    page = session.page
    session.sign_in(user)
    authenticator = add_authenticator(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Security").click()
    page.get_by_role("link", name="Manage passkeys").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Passkeys")
    expect(page.get_by_text("You have no passkeys yet.")).to_be_visible()
    page.get_by_role("button", name="Add a passkey for this device").click()
    expect(page.get_by_text("Passkey added.")).to_be_visible()
    expect(page.get_by_role("button", name="Remove")).to_have_count(1)
    # The reloaded page has finished its scripts (they draw the button) before moving on.
    expect(page.get_by_role("button", name="Add a passkey for this device")).to_be_enabled()
    return authenticator


def settle(page) -> None:
    """Let the page finish loading (its icon comes last) before leaving it: leaving
    earlier cancels those loads, which the session reports as failed requests."""
    page.wait_for_load_state("networkidle")


def presence(cdp, authenticator_id: str, *, automatic: bool) -> None:
    cdp.send("WebAuthn.setAutomaticPresenceSimulation", {"authenticatorId": authenticator_id, "enabled": automatic})


def without_passkey_autofill(page) -> None:
    """As in a browser with passkeys but no passkey autofill: only the button. Otherwise
    the virtual authenticator, which needs no person to pick a suggestion, would answer
    the autofill request as soon as the log-in page opens (tested on its own below)."""
    page.add_init_script("PublicKeyCredential.isConditionalMediationAvailable = async () => false;")


def release(page, held: list) -> None:
    """Let the one request held by a route go on, once the route has it."""
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    held[0].continue_()


def sign_out_to_login(session) -> None:
    page = session.page
    settle(page)
    page.get_by_role("button", name="Sign out").click()
    settle(page)
    session.goto("/account/login/")
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_visible()


def test_add_a_passkey_sign_out_and_sign_in_with_it(browser_session):
    user, last4 = cardholder()
    page = browser_session.page
    without_passkey_autofill(page)

    add_passkey(browser_session, user)
    assert WebAuthnCredential.objects.filter(user=user, discoverable=True).count() == 1
    browser_session.screenshot("passkeys")
    browser_session.assert_clean()

    sign_out_to_login(browser_session)
    browser_session.screenshot("login-passkey")
    page.get_by_role("button", name="Sign in with a passkey").click()

    # Straight to the cards: no password, no code.
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cards")
    expect(page.get_by_text(f"•••• {last4}").first).to_be_visible()
    event = SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.SIGN_IN_SUCCEEDED).latest("created_at")
    assert event.detail["method"] == "passkey"
    assert WebAuthnCredential.objects.get(user=user).last_used_at is not None
    browser_session.assert_clean()


def test_passkey_autofill_in_the_user_id_field_signs_in(browser_session):
    user, _ = cardholder()
    page = browser_session.page
    add_passkey(browser_session, user)
    settle(page)
    page.get_by_role("button", name="Sign out").click()
    settle(page)

    # The authenticator answers the autofill request at once, as if the person picked
    # their passkey from the User ID field's suggestions. A person takes a moment, in
    # which the page finishes loading: the answer is held until it has.
    held = []
    page.route("**/account/passkeys/authentication/complete/**", lambda route: held.append(route))
    with page.expect_request("**/authentication/complete/**"), page.expect_response("**/favicon.svg"):
        browser_session.goto("/account/login/")
    release(page, held)

    expect(page.get_by_role("heading", level=1)).to_have_text("Your cards")
    event = SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.SIGN_IN_SUCCEEDED).latest("created_at")
    assert event.detail["method"] == "passkey"
    browser_session.assert_clean()


def test_a_device_that_cannot_confirm_its_user_is_refused(browser_session):
    user, _ = cardholder()
    page = browser_session.page
    without_passkey_autofill(page)
    cdp, authenticator_id = add_passkey(browser_session, user)
    sign_out_to_login(browser_session)
    browser_session.assert_clean()

    # The fingerprint or face does not match (or the PIN is wrong).
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": authenticator_id, "isUserVerified": False})
    page.get_by_role("button", name="Sign in with a passkey").click()

    expect(page.get_by_role("status").filter(has_text="We couldn't confirm it's you")).to_be_visible()
    expect(page.get_by_text("log in with your User ID and password")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in to your account")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    browser_session.screenshot("login-passkey-refused")
    assert not SecurityEvent.objects.filter(
        user=user, kind=SecurityEvent.Kind.SIGN_IN_SUCCEEDED, detail__method="passkey"
    ).exists()
    # The library logs the browser's refusal to the console; nothing else may go wrong.
    browser_session.assert_clean(expected=("NotAllowedError",))


def test_passkey_pages_are_accessible(axe_session):
    user, _ = cardholder()
    page = axe_session.page

    axe_session.sign_in(user)
    cdp, authenticator_id = add_authenticator(page)
    axe_session.goto("/security/passkeys/")
    page.get_by_role("button", name="Add a passkey for this device").wait_for()
    axe_session.assert_accessible()

    page.get_by_role("button", name="Add a passkey for this device").click()
    expect(page.get_by_text("Passkey added.")).to_be_visible()
    axe_session.assert_accessible()

    page.get_by_role("link", name="Rename").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rename passkey")
    axe_session.assert_accessible()
    page.get_by_label("Name").fill("My laptop")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_role("cell", name="My laptop", exact=True)).to_be_visible()

    # Autofill waits in the User ID field, as in a real browser until the person picks a
    # suggestion: the authenticator answers nothing while presence is not automatic.
    presence(cdp, authenticator_id, automatic=False)
    sign_out_to_login(axe_session)
    expect(page.get_by_label("User ID")).to_have_attribute("autocomplete", "username webauthn")
    axe_session.assert_accessible()
