import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import PasswordHistory, User
from cards.models import Card
from security.models import OneTimeCode, SecurityEvent
from tests.factories import CardholderFactory, UserFactory, issue_card, open_account, shows_card_id

pytestmark = pytest.mark.django_db

PASSWORD = "tangerine-Velvet-7429"
DOB = dt.date(1979, 11, 3)


@pytest.fixture
def unenrolled():
    holder = CardholderFactory(
        legal_name="Rosa Delgado",
        name_on_card="ROSA DELGADO",
        date_of_birth=DOB,
        postal_code="94110",
        email="rosa@example.com",
        phone="+12025550147",
    )
    return issue_card(account=open_account(holder=holder))


def card_step(client, issued, **overrides):
    data = {
        "card_number": f"{issued.pan[:4]} {issued.pan[4:10]} {issued.pan[10:]}",
        "card_id": issued.card_id,
        "name": "Rosa Delgado",
        "verify_with": "dob",
        "dob_day": DOB.day,
        "dob_month": DOB.month,
        "dob_year": DOB.year,
        "postal_code": "",
    }
    data.update(overrides)
    return client.post(reverse("accounts:enroll"), data)


def login_step(client, **overrides):
    data = {
        "username": "rosa.d79",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "email": "rosa@example.com",
        "phone": "202 555 0147",
    }
    data.update(overrides)
    return client.post(reverse("accounts:enroll_login"), data)


@pytest.fixture
def send_code(django_capture_on_commit_callbacks):
    def send(client, channel="email"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("accounts:enroll_confirm"), {"action": "send", "channel": channel})

    return send


def last_code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


@pytest.fixture
def verify(django_capture_on_commit_callbacks):
    def check(client, code):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("accounts:enroll_confirm"), {"action": "verify", "code": code})

    return check


def test_whole_enrollment_signs_the_cardholder_in_and_welcomes_them(client, unenrolled, send_code, verify):
    assert card_step(client, unenrolled)["Location"] == reverse("accounts:enroll_login")
    assert login_step(client)["Location"] == reverse("accounts:enroll_confirm")
    send_code(client)
    response = verify(client, last_code())
    assert response["Location"] == reverse("cards:list")
    user = User.objects.get(username="rosa.d79")
    assert user.cardholder == unenrolled.card.holder
    assert user.check_password(PASSWORD)
    assert user.email_verified_at is not None and user.phone_verified_at is None
    assert user.phone == "+12025550147"
    assert PasswordHistory.objects.filter(user=user).count() == 1
    assert SecurityEvent.objects.filter(kind="enrolled", user=user).exists()
    assert mail.outbox[-1].subject.startswith("Welcome")
    page = client.get(reverse("cards:list")).content.decode()
    assert f"•••• {unenrolled.card.last4}" in page
    assert "rosa.d79" in page


def test_postal_code_can_confirm_identity(client, unenrolled):
    response = card_step(
        client, unenrolled, verify_with="postal", dob_day="", dob_month="", dob_year="", postal_code="94110"
    )
    assert response["Location"] == reverse("accounts:enroll_login")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"card_number": ""}, "Enter your card number"),
        ({"card_number": "3797 6400 0000 000"}, "valid. Check each digit"),
        ({"card_number": "abcd"}, "numbers only"),
        ({"card_number": "1234"}, "15 digits"),
        ({"card_id": ""}, "Enter the 4-digit card ID"),
        ({"card_id": "12a4"}, "4 digits"),
        ({"card_id": "123"}, "4 digits"),
        ({"name": ""}, "Enter your name as it appears on your card"),
        ({"dob_day": "", "dob_month": "", "dob_year": ""}, "Enter your date of birth"),
        ({"dob_day": "31", "dob_month": "2"}, "Enter a real date of birth"),
        ({"dob_year": "2999"}, "Enter a real date of birth"),
        ({"dob_day": "x"}, "using numbers"),
        ({"verify_with": "postal", "postal_code": ""}, "Enter your ZIP code"),
        ({"verify_with": ""}, "Choose how to confirm your identity"),
    ],
)
def test_bad_card_details_get_a_clear_message_and_change_nothing(client, unenrolled, overrides, message):
    response = card_step(client, unenrolled, **overrides)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "enroll" not in client.session


@pytest.mark.parametrize(
    "overrides",
    [
        {"card_id": "WRONG"},
        {"name": "Rose Delgado"},
        {"dob_day": "4"},
        {"verify_with": "postal", "postal_code": "10001"},
    ],
)
def test_details_that_do_not_match_give_one_message(client, unenrolled, overrides):
    if overrides.get("card_id") == "WRONG":
        overrides = {"card_id": f"{(int(unenrolled.card_id) + 1) % 10000:04d}"}
    response = card_step(client, unenrolled, **overrides)
    html = response.content.decode()
    assert "The details don&#x27;t match our records for this card" in html
    assert "enroll" not in client.session
    assert SecurityEvent.objects.filter(kind="enrollment_failed").exists()


def test_unknown_card_number_looks_like_a_mismatch(client, unenrolled):
    other = CardholderFactory()
    stranger = issue_card(account=open_account(holder=other))
    Card.objects.filter(pk=stranger.card.pk).delete()
    html = card_step(client, unenrolled, card_number=stranger.pan).content.decode()
    assert "The details don&#x27;t match our records for this card" in html


def test_five_wrong_card_ids_stop_enrollment_for_the_card(client, unenrolled):
    wrong = f"{(int(unenrolled.card_id) + 1) % 10000:04d}"
    for _ in range(5):
        response = card_step(client, unenrolled, card_id=wrong)
    assert "paused online enrollment and activation for this card for 24 hours" in response.content.decode()
    right = card_step(client, unenrolled)
    assert right.status_code == 200
    assert "paused online enrollment" in right.content.decode()


def test_card_not_activated_points_to_activation(client):
    holder = CardholderFactory(legal_name="Rosa Delgado", date_of_birth=DOB)
    issued = issue_card(account=open_account(holder=holder), active=False)
    html = card_step(client, issued).content.decode()
    assert "Activate your card first" in html
    assert reverse("cards:activate") in html
    assert "enroll" not in client.session


def test_card_already_enrolled_points_to_sign_in_and_forgot_user_id(client, unenrolled):
    UserFactory(cardholder=unenrolled.card.holder)
    html = card_step(client, unenrolled).content.decode()
    assert "This card is already registered" in html
    assert reverse("two_factor:login") in html
    assert User.objects.filter(cardholder=unenrolled.card.holder).count() == 1


def test_new_card_for_an_existing_login_says_to_log_in(client, unenrolled):
    holder = unenrolled.card.holder
    user = UserFactory(cardholder=holder)
    User.objects.filter(pk=user.pk).update(date_joined=unenrolled.card.issued_at - dt.timedelta(days=30))
    html = card_step(client, unenrolled).content.decode()
    assert "You already have a User ID" in html
    assert f"new card ending {unenrolled.card.last4} is already part of your online account" in html


def test_lost_card_cannot_enroll(client, unenrolled):
    Card.objects.filter(pk=unenrolled.card.pk).update(status=Card.Status.LOST_STOLEN)
    assert "can't be used to enroll" in card_step(client, unenrolled).content.decode()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"username": "ab"}, "6 to 20 characters"),
        ({"username": "has space1"}, "6 to 20 characters"),
        ({"password1": "short1", "password2": "short1"}, "at least 12 characters"),
        ({"password1": "password123456", "password2": "password123456"}, "too common"),
        ({"password1": "rosa.d79-garden-7", "password2": "rosa.d79-garden-7"}, "must not contain your User ID"),
        ({"password1": "Delgado-garden-77", "password2": "Delgado-garden-77"}, "must not contain your name"),
        ({"password2": "something-else-1"}, "don&#x27;t match"),
        ({"email": "not-an-email"}, "Enter an email address like"),
        ({"phone": "12"}, "Enter a mobile number"),
        ({"email": ""}, "Enter your email address"),
    ],
)
def test_bad_login_details_get_clear_messages(client, unenrolled, overrides, message):
    card_step(client, unenrolled)
    response = login_step(client, **overrides)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "password_hash" not in client.session["enroll"]


def test_user_id_taken_case_insensitively(client, unenrolled):
    UserFactory(username="Rosa.D79")
    card_step(client, unenrolled)
    assert "That User ID is taken" in login_step(client).content.decode()


def test_only_a_password_hash_waits_in_the_session(client, unenrolled):
    card_step(client, unenrolled)
    login_step(client)
    assert PASSWORD not in str(dict(client.session))


def test_wrong_code_then_right_code(client, unenrolled, send_code, verify):
    card_step(client, unenrolled)
    login_step(client)
    send_code(client, "sms")
    wrong = f"{(int(last_code_sms()) + 1) % 1_000_000:06d}"
    response = verify(client, wrong)
    assert "That code is not right" in response.content.decode()
    assert verify(client, last_code_sms())["Location"] == reverse("cards:list")
    user = User.objects.get(username="rosa.d79")
    assert user.phone_verified_at is not None and user.email_verified_at is None


def last_code_sms() -> str:
    from django.conf import settings

    files = sorted(settings.SMS_FILE_PATH.iterdir())
    return re.search(r"\b(\d{6})\b", files[-1].read_text()).group(1)


def test_the_code_is_stored_hashed_and_the_message_shows_it_only_to_the_user(client, unenrolled, send_code, verify):
    card_step(client, unenrolled)
    login_step(client)
    send_code(client)
    code = last_code()
    record = OneTimeCode.objects.get()
    assert code not in record.code_hash
    assert record.purpose == "enrollment"


def test_steps_cannot_be_skipped(client, unenrolled):
    assert client.get(reverse("accounts:enroll_login"))["Location"] == reverse("accounts:enroll")
    assert client.get(reverse("accounts:enroll_confirm"))["Location"] == reverse("accounts:enroll")
    card_step(client, unenrolled)
    assert client.get(reverse("accounts:enroll_confirm"))["Location"] == reverse("accounts:enroll_login")


def test_a_second_login_for_the_same_cardholder_is_refused(client, unenrolled, send_code, verify):
    card_step(client, unenrolled)
    login_step(client)
    send_code(client)
    code = last_code()
    UserFactory(cardholder=unenrolled.card.holder, username="someone.else")
    response = verify(client, code)
    assert response["Location"] == reverse("accounts:enroll_login")
    assert User.objects.filter(cardholder=unenrolled.card.holder).count() == 1


def test_password_check_endpoint_reports_each_rule(client, unenrolled):
    card_step(client, unenrolled)
    response = client.post(reverse("accounts:password_check"), {"password": "delgado", "username": "rosa.d79"})
    rules = response.json()["rules"]
    assert len(rules) == 5
    assert rules[0]["ok"] is False and "at least 12" in rules[0]["message"]
    assert any("your name" in r["message"] for r in rules)


def test_no_card_number_or_card_id_in_any_page_or_email(client, unenrolled, send_code, verify):
    pages = [card_step(client, unenrolled), login_step(client), send_code(client)]
    pages.append(verify(client, last_code()))
    pages.append(client.get(reverse("cards:list")))
    text = " ".join(p.content.decode() for p in pages) + " ".join(m.body for m in mail.outbox)
    assert unenrolled.pan not in text
    assert unenrolled.pan[:4] + " " + unenrolled.pan[4:10] not in text
    events = " ".join(str(e.detail) for e in SecurityEvent.objects.all())
    assert unenrolled.pan not in events and not shows_card_id(events, unenrolled.card_id)


def test_a_card_reported_lost_after_the_card_step_cannot_finish_enrollment(client, unenrolled, send_code, verify):
    from cards.models import Card

    assert card_step(client, unenrolled).status_code == 302
    Card.objects.filter(pk=unenrolled.card.pk).update(status=Card.Status.LOST_STOLEN)
    assert login_step(client).status_code == 302
    send_code(client)
    response = verify(client, last_code())
    assert not User.objects.filter(cardholder=unenrolled.card.holder).exists()
    followed = client.get(response["Location"]) if response.status_code == 302 else response
    assert "closed or reported lost or stolen" in followed.content.decode()
