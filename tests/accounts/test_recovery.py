"""Account recovery: forgot password (details, code, new password) and forgot User ID."""

import datetime as dt
import json
import re
from datetime import timedelta
from html import unescape

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.views.recovery import SESSION_KEY
from cards import cardnumbers
from cards.models import CardCheckFailure
from security import codes
from security.masking import mask_email, mask_phone
from security.models import Notification, OneTimeCode, SecurityEvent
from tests.factories import DEFAULT_PASSWORD, CardholderFactory, UserFactory, issue_card, open_account

pytestmark = pytest.mark.django_db

START = "recovery:start"
RESET = "recovery:password"
CODE = "recovery:password_code"
NEW = "recovery:password_new"
USER_ID = "recovery:user_id"
BY_CARD = "recovery:user_id_card"
BY_DETAILS = "recovery:user_id_details"
SENT = "recovery:user_id_sent"
LOGIN = "two_factor:login"

NEW_PASSWORD = "Qz8wPx4tVb9kJm2r"
MATCH_WORDING = "If the details you gave match our records, we've sent a 6-digit code to the"
REMINDER_WORDING = "If the details match an account, we've emailed the User ID to the address on file."
# A fixed, Luhn-valid card number under the test BIN, so its card ID is fixed too.
FIXED_PAN = "379764" + "20481736" + cardnumbers.luhn_check_digit("37976420481736")


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """POST and deliver whatever the request put in the outbox."""

    def _post(client, name, data=None, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse(name), data or {}, **extra)

    return _post


@pytest.fixture
def member(cardholder_with_card):
    return cardholder_with_card[0]


@pytest.fixture
def card(monkeypatch):
    """(user, issued card) with a known card number, so no test depends on chance."""
    monkeypatch.setattr(cardnumbers, "generate_pan", lambda bin_prefix=None: FIXED_PAN)
    user = UserFactory()
    account = open_account(holder=user.cardholder)
    issued = issue_card(account=account, expiry_month=8, expiry_year=2031)
    assert issued.pan == FIXED_PAN
    return user, issued


def dob_fields(date):
    return {"verify_with": "dob", "dob_day": date.day, "dob_month": date.month, "dob_year": date.year}


def start_data(username, *, dob=None, postal=None, channel="email"):
    facts = {"verify_with": "postal", "postal_code": postal} if postal is not None else dob_fields(dob)
    return {"user_id": username, "channel": channel, **facts}


def last_code():
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def sms_bodies(settings):
    directory = settings.SMS_FILE_PATH
    return [p.read_text() for p in sorted(directory.iterdir())] if directory.exists() else []


def page_text(response):
    return unescape(response.content.decode())


def strip_tokens(html):
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def sign_in(client, username, password):
    return client.post(
        reverse(LOGIN),
        {"sign_in_view-current_step": "auth", "auth-username": username, "auth-password": password},
    )


def password_accepted(response):
    """The sign-in wizard took the password: it signed the person in, or moved on to
    the second step that the risk check asked for (recovery never skips it)."""
    step = re.search(r'name="sign_in_view-current_step" value="(\w+)"', page_text(response))
    return response.status_code == 302 or (response.status_code == 200 and step is not None and step[1] != "auth")


def wrong(code):
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.fixture
def at_new_password(client, member, post):
    """A client that has passed steps 1 and 2 for ``member``."""
    post(client, RESET, start_data(member.username, dob=member.cardholder.date_of_birth))
    assert post(client, CODE, {"code": last_code()})["Location"] == reverse(NEW)
    mail.outbox.clear()
    return client


# --- Start ---------------------------------------------------------------------------------


def test_start_page_asks_what_was_forgotten_and_sends_each_answer_on(client):
    html = page_text(client.get(reverse(START)))
    assert "What do you need help with?" in html
    assert client.post(reverse(START), {"need": "password"})["Location"] == reverse(RESET)
    assert client.post(reverse(START), {"need": "user_id"})["Location"] == reverse(USER_ID)
    missing = client.post(reverse(START), {})
    assert "Choose what you need help with" in page_text(missing)
    assert 'href="#id_need_0"' in page_text(missing)


def test_a_signed_in_person_is_sent_to_their_account(client, member):
    client.force_login(member)
    for name in (START, RESET, CODE, NEW, USER_ID, BY_CARD, BY_DETAILS, SENT):
        assert client.get(reverse(name))["Location"] == reverse("portal:home")


@pytest.mark.parametrize("name", [START, RESET, USER_ID, BY_CARD, BY_DETAILS, SENT])
def test_recovery_pages_are_not_cached_and_have_no_inline_styles_or_scripts(client, name):
    response = client.get(reverse(name))
    html = page_text(response)
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    assert "style=" not in html and "<style" not in html and "<script>" not in html


# --- Forgot password: step 1 -------------------------------------------------------------


def test_step_one_asks_user_id_one_fact_and_where_to_send_the_code(client):
    html = page_text(client.get(reverse(RESET)))
    assert "Reset your password" in html
    assert 'autocomplete="username"' in html
    assert "Date of birth" in html and 'autocomplete="bday-day"' in html and 'inputmode="numeric"' in html
    assert "ZIP code" in html and 'autocomplete="postal-code"' in html
    assert ">Email</label>" in html and ">Text message</label>" in html
    assert 'aria-describedby="id_channel-hint"' in html


def test_matching_details_send_a_code_by_email_and_go_to_step_two(client, member, post):
    response = post(client, RESET, start_data(member.username, dob=member.cardholder.date_of_birth))
    assert response.status_code == 302 and response["Location"] == reverse(CODE)
    assert [m.to for m in mail.outbox] == [[member.email]]
    assert "to reset your password" in mail.outbox[0].body
    html = page_text(client.get(reverse(CODE)))
    assert "Check your email" in html
    assert f"{MATCH_WORDING} email address on file." in html
    assert 'autocomplete="one-time-code"' in html
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.CODE_SENT)
    assert event.user == member and event.detail["to"] == mask_email(member.email)


def test_matching_zip_code_sends_a_code_by_text(client, member, post, settings):
    response = post(
        client, RESET, start_data(member.username.upper(), postal=member.cardholder.postal_code, channel="sms")
    )
    assert response["Location"] == reverse(CODE)
    assert mail.outbox == []
    [text] = sms_bodies(settings)
    assert member.phone in text and "to reset your password" in text
    html = page_text(client.get(reverse(CODE)))
    assert "Check your phone" in html
    assert f"{MATCH_WORDING} mobile number on file." in html


def test_unknown_user_id_and_wrong_facts_get_exactly_the_same_pages(member, post, settings):
    holder = member.cardholder
    cases = {
        "match": start_data(member.username, dob=holder.date_of_birth),
        "wrong_dob": start_data(member.username, dob=holder.date_of_birth - timedelta(days=1)),
        "wrong_zip": start_data(member.username, postal="00000"),
        "unknown": start_data("nobody.here", dob=holder.date_of_birth),
    }
    steps, pages = {}, {}
    for case, data in cases.items():
        client = Client()
        steps[case] = post(client, RESET, data)
        pages[case] = client.get(reverse(CODE))
    assert {(r.status_code, r["Location"]) for r in steps.values()} == {(302, reverse(CODE))}
    assert len({(p.status_code, strip_tokens(page_text(p))) for p in pages.values()}) == 1
    html = page_text(pages["match"])
    for shown in (member.email, mask_email(member.email), member.phone, mask_phone(member.phone), member.username):
        assert shown not in html
    # Only the real match was sent a code; every flow has one to be wrong about.
    assert len(mail.outbox) == 1
    assert OneTimeCode.objects.count() == 4
    reasons = sorted(e.detail["reason"] for e in SecurityEvent.objects.filter(kind="password_reset"))
    assert reasons == ["details_mismatch", "details_mismatch", "unknown_user_id"]


def test_wrong_code_answers_the_same_whether_or_not_the_details_matched(member, post, monkeypatch):
    monkeypatch.setattr(codes, "_generate_code", lambda: "246810")
    answers = []
    for username in (member.username, "nobody.here"):
        client = Client()
        post(client, RESET, start_data(username, dob=member.cardholder.date_of_birth))
        response = post(client, CODE, {"code": "135791"})
        answers.append((response.status_code, strip_tokens(page_text(response))))
    assert answers[0] == answers[1]
    assert "That code is not right. Check it and try again (4 tries left)." in answers[0][1]


def test_the_code_for_a_flow_that_matched_nothing_unlocks_nothing(member, client, post, monkeypatch):
    monkeypatch.setattr(codes, "_generate_code", lambda: "246810")
    post(client, RESET, start_data("nobody.here", dob=member.cardholder.date_of_birth))
    response = post(client, CODE, {"code": "246810"})
    assert response.status_code == 200
    assert "That code is not right" in page_text(response)
    assert client.get(reverse(NEW))["Location"] == reverse(RESET)


def test_an_inactive_login_is_never_sent_a_code(client, member, post):
    member.is_active = False
    member.save(update_fields=["is_active"])
    response = post(client, RESET, start_data(member.username, dob=member.cardholder.date_of_birth))
    assert response["Location"] == reverse(CODE)
    assert mail.outbox == []


BAD_STEP_ONE = [
    ({"user_id": ""}, "Enter your User ID"),
    ({"user_id": "x" * 25}, "Your User ID is 20 characters or fewer"),
    ({"verify_with": ""}, "Choose how to confirm your identity"),
    ({"verify_with": "shoe size"}, "Choose how to confirm your identity"),
    ({"dob_day": "", "dob_month": "", "dob_year": ""}, "Enter your date of birth"),
    ({"dob_month": ""}, "Enter your date of birth as day, month and year"),
    ({"dob_day": "31", "dob_month": "2", "dob_year": "1980"}, "Enter a real date of birth, for example 27 3 1985"),
    ({"dob_day": "1", "dob_month": "1", "dob_year": "2999"}, "Enter a real date of birth"),
    ({"dob_day": "first"}, "Enter your date of birth using numbers"),
    ({"dob_month": "13"}, "Enter a real date of birth"),
    ({"verify_with": "postal", "postal_code": "  "}, "Enter your ZIP code"),
    ({"verify_with": "postal", "postal_code": "1" * 11}, "Enter a ZIP code like 10001 or 10001-2345"),
    ({"channel": ""}, "Choose where to send your code"),
    ({"channel": "fax"}, "Choose where to send your code"),
]


@pytest.mark.parametrize(("change", "message"), BAD_STEP_ONE)
def test_bad_input_on_step_one_says_what_to_fix_and_changes_nothing(client, member, post, change, message):
    data = {**start_data(member.username, dob=member.cardholder.date_of_birth), **change}
    response = post(client, RESET, data)
    html = page_text(response)
    assert response.status_code == 200
    assert "There is a problem" in html and message in html
    assert "<title>Error: Reset your password" in html
    assert not OneTimeCode.objects.exists() and not Notification.objects.exists()
    assert SESSION_KEY not in client.session


def test_the_error_summary_links_to_the_field_in_error(client, member, post):
    data = {**start_data(member.username, dob=member.cardholder.date_of_birth), "dob_day": "", "channel": ""}
    html = page_text(post(client, RESET, data))
    assert 'href="#id_dob_day"' in html and 'id="id_dob_day"' in html
    assert 'href="#id_channel_0"' in html and 'id="id_channel_0"' in html


def test_too_many_recovery_attempts_from_one_network_are_refused(client, member, post, settings):
    settings.RECOVERY_IP_LIMIT = 2
    data = start_data(member.username, dob=member.cardholder.date_of_birth)
    assert [post(Client(), RESET, data).status_code for _ in range(2)] == [302, 302]
    limited = post(client, RESET, data)
    assert limited.status_code == 429
    assert "There have been too many attempts from your network. Try again in an hour" in page_text(limited)
    assert len(mail.outbox) == 2
    assert post(Client(), RESET, data, REMOTE_ADDR="198.51.100.7").status_code == 302


def test_one_user_is_sent_only_a_few_reset_codes_an_hour(member, post, settings):
    settings.RECOVERY_CODES_PER_USER = 2
    data = start_data(member.username, dob=member.cardholder.date_of_birth)
    pages = []
    for _ in range(3):
        client = Client()
        post(client, RESET, data)
        pages.append(strip_tokens(page_text(client.get(reverse(CODE)))))
    assert len(mail.outbox) == 2
    assert len(set(pages)) == 1
    assert SecurityEvent.objects.filter(kind="password_reset", detail__reason="too_many_codes").count() == 1


# --- Forgot password: step 2 -------------------------------------------------------------


def test_step_two_without_step_one_goes_back_to_step_one(client):
    assert client.get(reverse(CODE))["Location"] == reverse(RESET)
    assert client.get(reverse(NEW))["Location"] == reverse(RESET)


@pytest.mark.parametrize(
    ("code", "message"),
    [("", "Enter the 6-digit code we sent you"), ("12345", "The code is 6 digits"), ("abcdef", "The code is 6 digits")],
)
def test_a_badly_typed_code_is_explained_and_uses_no_try(client, member, post, code, message):
    post(client, RESET, start_data(member.username, dob=member.cardholder.date_of_birth))
    response = post(client, CODE, {"code": code})
    assert response.status_code == 200 and message in page_text(response)
    assert OneTimeCode.objects.get().failed_attempts == 0


def test_a_wrong_code_counts_down_and_five_end_the_attempt(client, member, post):
    post(client, RESET, start_data(member.username, dob=member.cardholder.date_of_birth))
    code = last_code()
    for left in (4, 3, 2, 1):
        response = post(client, CODE, {"code": wrong(code)})
        tries = "try" if left == 1 else "tries"
        assert f"That code is not right. Check it and try again ({left} {tries} left)." in page_text(response)
    ended = post(client, CODE, {"code": wrong(code)})
    assert ended["Location"] == reverse(RESET)
    assert SESSION_KEY not in client.session
    page = page_text(client.get(reverse(RESET)))
    assert "Too many wrong codes. For your security, that reset attempt has ended. Start again." in page
    # The right code is no use now.
    assert post(client, CODE, {"code": code})["Location"] == reverse(RESET)
    assert SecurityEvent.objects.filter(kind="code_failed", user=member).count() == 5


def test_an_expired_code_is_refused(client, member, post):
    post(client, RESET, start_data(member.username, dob=member.cardholder.date_of_birth))
    OneTimeCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = post(client, CODE, {"code": last_code()})
    assert response.status_code == 200
    assert "That code has expired. Ask for a new code." in page_text(response)
    assert client.get(reverse(NEW))["Location"] == reverse(RESET)


def test_a_new_code_after_the_cooldown_replaces_the_old_one(client, member, post, monkeypatch):
    issued = iter(["111111", "222222"])
    monkeypatch.setattr(codes, "_generate_code", lambda: next(issued))
    post(client, RESET, start_data(member.username, dob=member.cardholder.date_of_birth))
    too_soon = post(client, CODE, {"action": "resend"})
    assert too_soon["Location"] == reverse(CODE)
    assert "before asking for another code" in page_text(client.get(reverse(CODE)))
    assert len(mail.outbox) == 1
    OneTimeCode.objects.update(created_at=timezone.now() - timedelta(minutes=1))
    post(client, CODE, {"action": "resend"})
    page = page_text(client.get(reverse(CODE)))
    assert "we've sent a new code to the email address on file" in page
    assert [last_code(), len(mail.outbox)] == ["222222", 2]
    assert "That code is not right" in page_text(post(client, CODE, {"code": "111111"}))
    assert post(client, CODE, {"code": "222222"})["Location"] == reverse(NEW)


def test_step_two_offers_a_new_code_and_another_way(client, member, post):
    post(client, RESET, start_data(member.username, dob=member.cardholder.date_of_birth, channel="sms"))
    html = page_text(client.get(reverse(CODE)))
    assert 'name="action" value="resend"' in html and "Send a new code" in html
    assert f'<a href="{reverse(RESET)}">Use another way</a>' in html
    again = page_text(client.get(reverse(RESET)))
    assert f'value="{member.username}"' in again


def test_a_correct_code_leads_to_the_new_password_step(client, member, post):
    post(client, RESET, start_data(member.username, dob=member.cardholder.date_of_birth))
    assert post(client, CODE, {"code": last_code()})["Location"] == reverse(NEW)
    html = page_text(client.get(reverse(NEW)))
    assert "Create a new password" in html
    assert html.count('autocomplete="new-password"') == 2
    assert client.get(reverse(CODE))["Location"] == reverse(NEW)


# --- Forgot password: step 3 -------------------------------------------------------------


def test_reset_changes_the_password_and_sends_the_person_to_log_in(at_new_password, member, post):
    client = at_new_password
    response = post(client, NEW, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response["Location"] == reverse(LOGIN)
    assert not response.wsgi_request.user.is_authenticated
    assert SESSION_KEY not in client.session
    page = page_text(client.get(reverse(LOGIN)))
    assert "Your password has been changed. Log in with your new password." in page
    old = sign_in(Client(), member.username, DEFAULT_PASSWORD)
    assert "User ID or password incorrect" in page_text(old) and not password_accepted(old)
    assert password_accepted(sign_in(Client(), member.username, NEW_PASSWORD))
    event = SecurityEvent.objects.get(kind="password_reset", outcome="success")
    assert event.user == member


def test_reset_ends_a_user_id_lock(at_new_password, member, post):
    other = Client()
    responses = [sign_in(other, member.username, f"wrong-password-{i}") for i in range(5)]
    assert responses[-1].status_code == 429
    post(at_new_password, NEW, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert not AccessAttempt.objects.exists()
    assert password_accepted(sign_in(other, member.username, NEW_PASSWORD))


def test_reset_signs_out_every_other_session(at_new_password, member, post):
    elsewhere = Client()
    elsewhere.force_login(member)
    assert elsewhere.get(reverse("cards:list")).status_code == 200
    post(at_new_password, NEW, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    after = elsewhere.get(reverse("cards:list"))
    assert after.status_code == 302 and after["Location"].startswith(reverse(LOGIN))


def test_reset_alerts_by_email_and_text_without_the_password_or_code(client, member, post, settings):
    post(client, RESET, start_data(member.username, dob=member.cardholder.date_of_birth))
    code = last_code()
    post(client, CODE, {"code": code})
    post(client, NEW, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    alert = mail.outbox[-1]
    assert alert.to == [member.email] and alert.subject == "Your password was changed"
    assert "Your password was changed" in alert.body and settings.SUPPORT_PHONE in alert.body
    text = sms_bodies(settings)[-1]
    assert member.phone in text and "Your password was changed" in text
    for message in (alert.body, alert.subject, text):
        assert NEW_PASSWORD not in message and code not in message


@pytest.mark.parametrize(
    ("password1", "password2", "message"),
    [
        ("", "", "Enter a new password"),
        (NEW_PASSWORD, "", "Enter your new password again"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "The passwords don't match"),
        ("qwerty123456", "qwerty123456", "That password is too common"),
        ("short1", "short1", "at least 12 characters"),
        ("onlyletterspassphrase", "onlyletterspassphrase", "both letters and numbers"),
        (DEFAULT_PASSWORD, DEFAULT_PASSWORD, "Choose a password you have not used before"),
    ],
)
def test_the_password_policy_is_enforced_and_nothing_changes(
    at_new_password, member, post, password1, password2, message
):
    response = post(at_new_password, NEW, {"password1": password1, "password2": password2})
    html = page_text(response)
    assert response.status_code == 200 and message in html and "There is a problem" in html
    member.refresh_from_db()
    assert member.check_password(DEFAULT_PASSWORD)
    assert not SecurityEvent.objects.filter(kind="password_reset", outcome="success").exists()
    assert mail.outbox == []


def test_a_password_with_the_user_id_is_refused(at_new_password, member, post):
    password = f"{member.username}X9y8"
    response = post(at_new_password, NEW, {"password1": password, "password2": password})
    assert "must not contain your User ID" in page_text(response)
    member.refresh_from_db()
    assert member.check_password(DEFAULT_PASSWORD)


def test_the_new_password_must_be_chosen_soon_after_the_code(at_new_password, member, post):
    session = at_new_password.session
    session[SESSION_KEY]["verified_at"] -= 11 * 60
    session.save()
    response = post(at_new_password, NEW, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response["Location"] == reverse(RESET)
    member.refresh_from_db()
    assert member.check_password(DEFAULT_PASSWORD)


def test_a_reset_attempt_expires(client, member, post):
    post(client, RESET, start_data(member.username, dob=member.cardholder.date_of_birth))
    session = client.session
    session[SESSION_KEY]["started_at"] -= 31 * 60
    session.save()
    assert post(client, CODE, {"code": last_code()})["Location"] == reverse(RESET)
    assert "that reset attempt has ended" in page_text(client.get(reverse(RESET)))


# --- Forgot User ID ----------------------------------------------------------------------------


def test_user_id_page_offers_card_or_personal_details(client):
    html = page_text(client.get(reverse(USER_ID)))
    assert "How would you like to find your User ID?" in html
    assert client.post(reverse(USER_ID), {"method": "card"})["Location"] == reverse(BY_CARD)
    assert client.post(reverse(USER_ID), {"method": "details"})["Location"] == reverse(BY_DETAILS)
    assert "Choose how to find your User ID" in page_text(client.post(reverse(USER_ID), {}))


def test_card_form_uses_card_autocomplete_and_numeric_keyboards(client):
    html = page_text(client.get(reverse(BY_CARD)))
    assert 'autocomplete="cc-number"' in html
    assert html.count('inputmode="numeric"') == 2


def test_user_id_by_card_emails_the_user_id(client, card, post):
    user, issued = card
    response = post(client, BY_CARD, {"card_number": issued.pan, "card_id": issued.card_id})
    assert response["Location"] == reverse(SENT)
    [email] = mail.outbox
    assert email.to == [user.email]
    assert f"Your User ID is: {user.username}" in email.body
    assert REMINDER_WORDING in page_text(client.get(reverse(SENT)))
    event = SecurityEvent.objects.get(kind="user_id_reminder")
    assert event.user == user and event.outcome == "success" and event.detail["route"] == "card"


UNKNOWN_PAN = "379764" + "99999999" + cardnumbers.luhn_check_digit("37976499999999")


@pytest.mark.parametrize(
    "given",
    [
        pytest.param(lambda pan, cid: (pan, f"{(int(cid) + 1) % 10000:04d}"), id="wrong_card_id"),
        pytest.param(lambda pan, cid: (UNKNOWN_PAN, cid), id="unknown_card"),
    ],
)
def test_user_id_by_card_reads_the_same_when_nothing_matches(client, card, post, given):
    _, issued = card
    pan, card_id = given(issued.pan, issued.card_id)
    response = post(client, BY_CARD, {"card_number": pan, "card_id": card_id})
    assert response["Location"] == reverse(SENT)
    assert mail.outbox == []
    assert SecurityEvent.objects.get(kind="user_id_reminder").detail["reason"] == "mismatch"


def test_user_id_by_card_sends_nothing_for_a_card_without_a_login(client, post):
    holder = CardholderFactory()
    issued = issue_card(account=open_account(holder=holder))
    response = post(client, BY_CARD, {"card_number": issued.pan, "card_id": issued.card_id})
    assert response["Location"] == reverse(SENT)
    assert mail.outbox == []


def test_wrong_card_ids_are_counted_and_lock_the_card(client, card, post):
    _, issued = card
    bad = f"{(int(issued.card_id) + 1) % 10000:04d}"
    responses = [post(client, BY_CARD, {"card_number": issued.pan, "card_id": bad}) for _ in range(5)]
    assert [r.status_code for r in responses[:4]] == [302] * 4
    assert CardCheckFailure.objects.filter(purpose="user_id_reminder").count() == 5
    locked = responses[4]
    assert "we have paused online services that ask for this card's details for 24 hours" in (page_text(locked))
    again = post(client, BY_CARD, {"card_number": issued.pan, "card_id": issued.card_id})
    assert "we have paused" in page_text(again)
    assert [m.subject for m in mail.outbox] == ["Someone tried to use your card details"]


def test_too_many_card_failures_from_one_network_are_refused(client, card, post, settings):
    settings.CARD_CHECK_IP_LIMIT = 2
    _, issued = card
    for _ in range(2):
        post(client, BY_CARD, {"card_number": UNKNOWN_PAN, "card_id": "1234"})
    limited = post(client, BY_CARD, {"card_number": issued.pan, "card_id": issued.card_id})
    assert limited.status_code == 429
    assert "There have been too many attempts from your network" in page_text(limited)
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"card_number": "", "card_id": "1234"}, "Enter your card number"),
        ({"card_number": "3797 64ab", "card_id": "1234"}, "Enter your card number using numbers only"),
        ({"card_number": "3797 6420", "card_id": "1234"}, "exactly as it appears on your card"),
        ({"card_number": FIXED_PAN[:-1] + str((int(FIXED_PAN[-1]) + 1) % 10), "card_id": "1234"}, "isn't valid"),
        ({"card_number": FIXED_PAN, "card_id": ""}, "Enter the 4-digit card ID"),
        ({"card_number": FIXED_PAN, "card_id": "123"}, "The card ID is 4 digits"),
        ({"card_number": FIXED_PAN, "card_id": "12a4"}, "The card ID is 4 digits, numbers only"),
    ],
)
def test_bad_card_input_says_what_to_fix_and_checks_nothing(client, card, post, data, message):
    response = post(client, BY_CARD, data)
    html = page_text(response)
    assert response.status_code == 200 and message in html
    assert not CardCheckFailure.objects.exists()
    assert mail.outbox == []


def test_no_card_number_or_card_id_appears_in_pages_emails_or_the_audit_trail(client, card, post):
    _, issued = card
    spaced = " ".join(issued.pan[i : i + 4] for i in range(0, 15, 4))
    wrong_id = f"{(int(issued.card_id) + 1) % 10000:04d}"
    assert issued.card_id != issued.pan[-4:]
    pages = [
        post(client, BY_CARD, {"card_number": spaced, "card_id": "12a4"}),
        post(client, BY_CARD, {"card_number": issued.pan, "card_id": ""}),
        post(client, BY_CARD, {"card_number": "", "card_id": issued.card_id}),
        post(client, BY_CARD, {"card_number": issued.pan, "card_id": wrong_id}),
        post(client, BY_CARD, {"card_number": issued.pan, "card_id": issued.card_id}),
    ]
    texts = [page_text(p) for p in pages] + [page_text(client.get(reverse(SENT)))]
    texts += [f"{m.subject}\n{m.body}" for m in mail.outbox]
    texts += [f"{n.subject}\n{n.body}" for n in Notification.objects.all()]
    texts += [
        json.dumps([e.detail, e.username_attempted, e.user_agent], ensure_ascii=False)
        for e in SecurityEvent.objects.all()
    ]
    assert len(mail.outbox) == 1
    for text in texts:
        assert issued.pan not in text and spaced not in text
        assert not re.search(rf"(?<![0-9]){issued.card_id}(?![0-9])", text)
        assert not re.search(rf"(?<![0-9]){wrong_id}(?![0-9])", text)


def test_user_id_by_personal_details_emails_the_user_id(client, member, post):
    holder = member.cardholder
    data = {
        "name": f"  {holder.legal_name.upper()} ",
        "postal_code": holder.postal_code,
        **dob_fields(holder.date_of_birth),
    }
    response = post(client, BY_DETAILS, data)
    assert response["Location"] == reverse(SENT)
    [email] = mail.outbox
    assert email.to == [member.email] and member.username in email.body
    assert SecurityEvent.objects.get(kind="user_id_reminder", outcome="success").detail == {"route": "details"}


def test_details_that_match_a_cardholder_without_a_login_send_nothing(client, post):
    holder = CardholderFactory()
    data = {"name": holder.legal_name, "postal_code": holder.postal_code, **dob_fields(holder.date_of_birth)}
    assert post(client, BY_DETAILS, data)["Location"] == reverse(SENT)
    assert mail.outbox == []


@pytest.mark.parametrize("field", ["name", "postal_code", "date_of_birth"])
def test_user_id_by_personal_details_reads_the_same_when_a_detail_is_wrong(client, member, post, field):
    holder = member.cardholder
    data = {"name": holder.legal_name, "postal_code": holder.postal_code, **dob_fields(holder.date_of_birth)}
    wrong_value = {
        "name": {"name": "Someone Else"},
        "postal_code": {"postal_code": "00000"},
        "date_of_birth": dob_fields(holder.date_of_birth + dt.timedelta(days=1)),
    }[field]
    response = post(client, BY_DETAILS, {**data, **wrong_value})
    assert response["Location"] == reverse(SENT)
    assert mail.outbox == []


def test_a_reminder_is_emailed_once_in_a_quarter_hour(member, post):
    holder = member.cardholder
    data = {"name": holder.legal_name, "postal_code": holder.postal_code, **dob_fields(holder.date_of_birth)}
    for _ in range(3):
        assert post(Client(), BY_DETAILS, data)["Location"] == reverse(SENT)
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, "Enter your full name"),
        ({"postal_code": ""}, "Enter your ZIP code"),
        ({"dob_day": "", "dob_month": "", "dob_year": ""}, "Enter your date of birth"),
        ({"dob_day": "30", "dob_month": "2"}, "Enter a real date of birth"),
    ],
)
def test_bad_personal_details_say_what_to_fix(client, member, post, change, message):
    holder = member.cardholder
    data = {"name": holder.legal_name, "postal_code": holder.postal_code, **dob_fields(holder.date_of_birth)}
    response = post(client, BY_DETAILS, {**data, **change})
    assert response.status_code == 200 and message in page_text(response)
    assert mail.outbox == [] and not SecurityEvent.objects.exists()


def test_personal_details_are_limited_per_network(client, member, post, settings):
    settings.RECOVERY_IP_LIMIT = 2
    holder = member.cardholder
    data = {"name": "Someone Else", "postal_code": holder.postal_code, **dob_fields(holder.date_of_birth)}
    for _ in range(2):
        post(client, BY_DETAILS, data)
    limited = post(client, BY_DETAILS, {**data, "name": holder.legal_name})
    assert limited.status_code == 429
    assert "There have been too many attempts from your network" in page_text(limited)
    assert mail.outbox == []
