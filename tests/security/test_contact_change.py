"""Changing the email address or mobile number: confirm it's you, a code to the new
contact, the old contact told."""

import html
import re
import time

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from security import reauth
from security.models import OutOfBandDevice, SecurityEvent
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.security.dbscan import rows_containing

pytestmark = pytest.mark.django_db

EDIT_EMAIL = reverse("security:contact_edit", args=["email"])
EDIT_PHONE = reverse("security:contact_edit", args=["phone"])
CONFIRM = reverse("security:contact_confirm")


@pytest.fixture
def member():
    return UserFactory(email="old@example.com", phone="+12025550133", phone_verified_at=timezone.now())


@pytest.fixture
def client_in(member):
    client = Client()
    client.force_login(member)
    client.post(reverse("security:confirm"), {"action": "password", "password": DEFAULT_PASSWORD})
    return client


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    def post(client, url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    return post


def code_in(message_body: str) -> str:
    return re.search(r"\b(\d{6})\b", message_body).group(1)


def last_text_to(number: str) -> str:
    texts = [path.read_text() for path in sorted(settings.SMS_FILE_PATH.iterdir())]
    return [text for text in texts if number in text][-1]


def test_changing_email_needs_a_fresh_confirmation(member):
    client = Client()
    client.force_login(member)
    response = client.get(EDIT_EMAIL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("security:confirm"))


def test_the_contact_page_lists_both_with_change_links(client_in):
    page = client_in.get(reverse("security:contact")).content.decode()
    assert "old@example.com" in page and "+12025550133" in page
    assert EDIT_EMAIL in page and EDIT_PHONE in page


def test_email_change_takes_effect_after_the_code_and_tells_the_old_address(client_in, member, deliver):
    response = deliver(client_in, EDIT_EMAIL, {"email": "New.Person@Example.COM"})
    assert response["Location"] == CONFIRM
    sent = mail.outbox[-1]
    assert sent.to == ["New.Person@example.com"]
    member.refresh_from_db()
    assert member.email == "old@example.com"  # nothing changes before the code

    page = client_in.get(CONFIRM).content.decode()
    assert "N***@example.com" in page
    done = deliver(client_in, CONFIRM, {"code": code_in(sent.body)})
    assert done["Location"] == reverse("security:contact")
    member.refresh_from_db()
    assert member.email == "New.Person@example.com" and member.email_verified_at is not None

    told = [m for m in mail.outbox if m.subject == "Your email address was changed"]
    assert len(told) == 1 and told[0].to == ["old@example.com"]
    assert "N***@example.com" in told[0].body
    event = SecurityEvent.objects.get(user=member, kind="contact_changed")
    assert event.detail == {"field": "email", "from": "o***@example.com", "to": "N***@example.com"}
    assert event.actor is None
    device = OutOfBandDevice.objects.get(user=member, channel="email")
    assert device.destination == "New.Person@example.com"


def test_phone_change_confirms_by_text_and_tells_the_old_number(client_in, member, deliver):
    deliver(client_in, EDIT_PHONE, {"phone": "(202) 555-0199"})
    code = code_in(last_text_to("+12025550199"))
    deliver(client_in, CONFIRM, {"code": code})
    member.refresh_from_db()
    assert member.phone == "+12025550199"
    assert "mobile number on your account was changed" in last_text_to("+12025550133")
    assert OutOfBandDevice.objects.get(user=member, channel="sms").destination == "+12025550199"


@pytest.mark.parametrize(
    "url, data, message",
    [
        (EDIT_EMAIL, {"email": "not-an-email"}, "Enter an email address like name@example.com"),
        (EDIT_EMAIL, {"email": ""}, "Enter your new email address"),
        (EDIT_EMAIL, {"email": "OLD@example.com"}, "That is already your email address"),
        (EDIT_PHONE, {"phone": "12345"}, "Enter a mobile number, like 202 555 0123"),
        (EDIT_PHONE, {"phone": "+1 202 555 0133"}, "That is already your mobile number"),
    ],
    ids=["bad email", "empty", "same email", "bad phone", "same phone"],
)
def test_bad_input_is_explained_and_sends_nothing(client_in, member, url, data, message):
    page = client_in.post(url, data).content.decode()
    assert message in html.unescape(page)
    assert "There is a problem" in page
    assert not mail.outbox
    member.refresh_from_db()
    assert (member.email, member.phone) == ("old@example.com", "+12025550133")


def test_a_wrong_code_changes_nothing(client_in, member, deliver):
    deliver(client_in, EDIT_EMAIL, {"email": "new@example.com"})
    wrong = f"{(int(code_in(mail.outbox[-1].body)) + 1) % 1_000_000:06d}"
    page = client_in.post(CONFIRM, {"code": wrong}).content.decode()
    assert "That code is not right" in page
    member.refresh_from_db()
    assert member.email == "old@example.com"
    assert not SecurityEvent.objects.filter(user=member, kind="contact_changed").exists()


def test_five_wrong_codes_end_the_change(client_in, member, deliver):
    deliver(client_in, EDIT_EMAIL, {"email": "new@example.com"})
    right = code_in(mail.outbox[-1].body)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(4):
        client_in.post(CONFIRM, {"code": wrong})
    ended = client_in.post(CONFIRM, {"code": wrong})
    assert ended["Location"] == EDIT_EMAIL
    assert client_in.post(CONFIRM, {"code": right})["Location"] == reverse("security:contact")
    member.refresh_from_db()
    assert member.email == "old@example.com"


def test_an_expired_confirmation_changes_nothing(client_in, member, deliver):
    deliver(client_in, EDIT_EMAIL, {"email": "new@example.com"})
    code = code_in(mail.outbox[-1].body)
    session = client_in.session
    session[reauth.SESSION_KEY] = {**session[reauth.SESSION_KEY], "at": int(time.time()) - 11 * 60}
    session.save()
    response = client_in.post(CONFIRM, {"code": code}, follow=True)
    assert "Nothing was changed" in html.unescape(response.content.decode())
    assert response.redirect_chain[0][0].startswith(reverse("security:confirm"))
    member.refresh_from_db()
    assert member.email == "old@example.com"


def test_codes_for_a_change_are_stored_hashed(client_in, deliver):
    deliver(client_in, EDIT_EMAIL, {"email": "new@example.com"})
    code = code_in(mail.outbox[-1].body)
    assert rows_containing(code) == []


def test_resend_respects_the_cooldown(client_in, deliver):
    deliver(client_in, EDIT_EMAIL, {"email": "new@example.com"})
    response = client_in.post(CONFIRM, {"action": "resend"}, follow=True)
    assert "Please wait" in response.content.decode()
    assert len(mail.outbox) == 1


def test_codes_to_new_contacts_are_limited_per_hour(client_in, member, deliver):
    for n in range(5):
        deliver(client_in, EDIT_EMAIL, {"email": f"new{n}@example.com"})
    page = client_in.post(EDIT_EMAIL, {"email": "new9@example.com"}).content.decode()
    assert "too many codes" in page
    assert len(mail.outbox) == 5


def test_a_change_in_progress_is_not_another_users(client_in, member, deliver):
    deliver(client_in, EDIT_EMAIL, {"email": "new@example.com"})
    code = code_in(mail.outbox[-1].body)
    other = UserFactory(email="other@example.com")
    client_in.force_login(other)
    response = client_in.post(CONFIRM, {"code": code})
    assert response["Location"] == reverse("security:contact")
    other.refresh_from_db()
    member.refresh_from_db()
    assert (other.email, member.email) == ("other@example.com", "old@example.com")


def test_an_unknown_kind_of_contact_is_404(client_in):
    assert client_in.get(reverse("security:contact_edit", args=["fax"])).status_code == 404
