"""The cardholder look-up and the cardholder page in the staff console."""

import re
import secrets
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.staff_roles import CUSTOMER_SERVICE, FRAUD
from security import backup_codes, services
from security.models import SecurityEvent
from tests.factories import (
    CardholderFactory,
    TransactionFactory,
    UserFactory,
    issue_card,
    open_account,
    staff_member,
    two_step_app_on,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:accounts_cardholder_changelist"


def page_url(holder):
    return reverse("admin:accounts_cardholder_change", args=[holder.pk])


def lock(user, failures=3):
    AccessAttempt.objects.create(
        username=user.username.lower(),
        ip_address="192.0.2.1",
        user_agent="test",
        failures_since_start=failures,
        get_data="",
        post_data="",
    )


@pytest.fixture
def member():
    user = UserFactory(
        username="Ada.Quint01",
        cardholder=CardholderFactory(legal_name="Ada Quintessa", email="ada.q@example.com", phone="+12025550123"),
        email="ada.login@example.com",
        phone="+12025550123",
        phone_verified_at=timezone.now(),
    )
    user.issued = issue_card(account=open_account(holder=user.cardholder))
    return user


@pytest.fixture
def bystander():
    # A postal code holding the member's last 4 must not match a last-4 search.
    return UserFactory(cardholder=CardholderFactory(legal_name="Bob Other", postal_code="90000"))


@pytest.fixture
def agent_client(client):
    client.agent = staff_member("service.agent", groups=(CUSTOMER_SERVICE,))
    client.force_login(client.agent)
    return client


def results(client, term):
    return list(client.get(reverse(CHANGELIST), {"q": term}).context["cl"].result_list)


# --- Look-up -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    ["Quintessa", "ada quintessa", "ada.quint01", "ADA.QUINT01", "ada.q@example.com", "ada.login@example.com"],
)
def test_cardholders_are_found_by_name_user_id_and_email(agent_client, member, bystander, term):
    assert results(agent_client, term) == [member.cardholder]


@pytest.mark.parametrize("term", ["+12025550123", "(202) 555-0123", "202.555.0123"])
def test_cardholders_are_found_by_phone_however_it_is_written(agent_client, member, bystander, term):
    assert results(agent_client, term) == [member.cardholder]


def test_cardholders_are_found_by_a_cards_last_4_exactly(agent_client, member, bystander):
    last4 = member.issued.card.last4
    bystander.cardholder.postal_code = f"9{last4}"
    bystander.cardholder.save(update_fields=["postal_code"])

    assert results(agent_client, last4) == [member.cardholder]
    # Any other term searches the usual fields (here the postal code).
    assert bystander.cardholder in results(agent_client, last4[1:])


def test_a_pasted_card_number_is_searched_by_its_last_4_and_never_echoed(agent_client, member):
    pan = member.issued.pan

    response = agent_client.get(reverse(CHANGELIST), {"q": " ".join(re.findall(".{1,4}", pan))}, follow=True)

    assert response.redirect_chain[0][0].endswith(f"?q={member.issued.card.last4}")
    assert list(response.context["cl"].result_list) == [member.cardholder]
    assert pan not in response.content.decode()
    assert "the full number is never looked up here" in response.content.decode()


def test_the_list_shows_masked_cards_in_a_fixed_number_of_queries(agent_client, member):
    url = reverse(CHANGELIST)
    agent_client.get(url)  # warm the session and content-type caches
    with CaptureQueriesContext(connection) as one:
        agent_client.get(url)
    for _ in range(12):
        holder = UserFactory().cardholder
        account = open_account(holder=holder)
        issue_card(account=account)
        issue_card(account=account)
    with CaptureQueriesContext(connection) as many:
        response = agent_client.get(url)

    html = response.content.decode()
    assert len(response.context["cl"].result_list) == 13
    assert f"•••• {member.issued.card.last4}" in html
    assert member.issued.pan not in html
    assert len(many) == len(one)


# --- The cardholder page -----------------------------------------------------------------------


def test_the_page_shows_cards_masked_and_never_the_number_or_card_id(agent_client, member):
    issued = member.issued

    html = agent_client.get(page_url(member.cardholder)).content.decode()

    assert f"•••• {issued.card.last4}" in html
    assert issued.card.account.reference in html
    for secret in (issued.pan, issued.pan[:6], issued.card.pan_hash):
        assert secret not in html
    assert not re.search(rf">\s*{issued.card_id}\s*<", html)


def test_the_page_shows_a_lock_with_an_unlock_button(agent_client, member):
    lock(member)

    html = agent_client.get(page_url(member.cardholder)).content.decode()

    assert "Locked after 3 wrong passwords" in html
    assert reverse("admin:accounts_user_unlock", args=[member.pk]) in html


def test_the_page_says_not_locked_after_the_cool_off(agent_client, member, settings):
    lock(member)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(hours=settings.AXES_COOLOFF_TIME, minutes=1))

    html = agent_client.get(page_url(member.cardholder)).content.decode()

    assert "Not locked" in html
    assert "Locked after" not in html


def test_the_page_lists_two_step_devices_by_kind_never_their_secrets(agent_client, member):
    from django_otp_webauthn.models import WebAuthnCredential

    key = two_step_app_on(member)
    codes = backup_codes.codes_generate(user=member, tell=False)
    WebAuthnCredential.objects.create(
        user=member,
        name="Ada's iPhone",
        confirmed=True,
        credential_id=secrets.token_bytes(32),
        public_key=secrets.token_bytes(77),
        aaguid="00000000-0000-0000-0000-000000000000",
        sign_count=0,
        discoverable=True,
    )

    html = agent_client.get(page_url(member.cardholder)).content.decode()

    assert "Authenticator app: on since" in html
    assert f"Backup codes: {len(codes)} unused" in html
    assert "Ada&#x27;s iPhone" in html
    assert "Codes by email or text: Text to ***-***-0123; Email to a***@example.com" in html
    assert key not in html
    assert not any(code in html for code in codes)


def test_the_page_lists_recent_sign_ins_with_their_risk_reasons(agent_client, member):
    services.security_event_record(
        kind=SecurityEvent.Kind.SIGN_IN_SUCCEEDED,
        outcome=SecurityEvent.Outcome.SUCCESS,
        user=member,
        risk_score=3.2,
        risk_reasons=["new_device", "new_network"],
        detail={"method": "password", "code_confirmed": True, "network": "198.51.100.0/24"},
    )

    html = agent_client.get(page_url(member.cardholder)).content.decode()

    assert "Signed in with password and a code" in html
    assert "This is a new device and a new network" in html
    assert "198.51.100.0/24" in html


def test_the_page_lists_open_disputes(agent_client, member, django_capture_on_commit_callbacks):
    from cards import disputes

    charge = TransactionFactory(card=member.issued.card, merchant_name="Gadget Store")
    with django_capture_on_commit_callbacks(execute=True):
        disputes.dispute_open(
            actor=member, transaction_obj=charge, reason="not_received", description="It never arrived at all."
        )

    html = agent_client.get(page_url(member.cardholder)).content.decode()

    assert "Gadget Store" in html
    assert "No open disputes" not in html


def test_the_page_costs_the_same_queries_for_one_card_or_many(agent_client, member):
    url = page_url(member.cardholder)
    agent_client.get(url)
    with CaptureQueriesContext(connection) as one:
        agent_client.get(url)
    for _ in range(4):
        issue_card(account=open_account(holder=member.cardholder))
    for _ in range(8):
        services.security_event_record(kind=SecurityEvent.Kind.SIGN_IN_SUCCEEDED, user=member, risk_score=1.0)
    with CaptureQueriesContext(connection) as many:
        response = agent_client.get(url)

    assert response.content.decode().count("•••• ") >= 5
    assert len(many) == len(one)


def test_a_cardholder_without_online_access(agent_client):
    holder = CardholderFactory()

    html = agent_client.get(page_url(holder)).content.decode()

    assert "Not enrolled for online access" in html


# --- Staff actions from the page ---------------------------------------------------------------


def test_customer_service_sees_their_actions_and_no_others(agent_client, member):
    html = agent_client.get(page_url(member.cardholder)).content.decode()

    for name in ("verify_identity", "unlock", "reset_two_step", "replace_contact", "recovery_link", "send_user_id"):
        assert reverse(f"admin:accounts_user_{name}", args=[member.pk]) in html
    assert reverse("admin:accounts_user_change_user_id", args=[member.pk]) not in html
    assert reverse("admin:cards_card_freeze", args=[member.issued.card.pk]) not in html


def test_fraud_sees_freeze_and_no_recovery_actions(client, member):
    client.force_login(staff_member("fraud.agent", groups=(FRAUD,)))

    html = client.get(page_url(member.cardholder)).content.decode()

    assert reverse("admin:cards_card_freeze", args=[member.issued.card.pk]) in html
    assert reverse("admin:accounts_user_verify_identity", args=[member.pk]) not in html
    assert reverse("admin:accounts_user_unlock", args=[member.pk]) not in html


def test_a_verification_comes_back_to_the_page_and_shows_there(agent_client, member):
    response = agent_client.post(
        reverse("admin:accounts_user_verify_identity", args=[member.pk]),
        {"method": "phone_call", "checks": ["date_of_birth", "card_last4"]},
    )

    assert response["Location"] == page_url(member.cardholder)
    html = agent_client.get(page_url(member.cardholder)).content.decode()
    assert "Verified by you (phone call: Date of birth, Last 4 digits of the card)" in html


def test_sending_the_user_id_emails_it_and_names_the_staff_member(
    agent_client, member, django_capture_on_commit_callbacks
):
    url = reverse("admin:accounts_user_send_user_id", args=[member.pk])

    with django_capture_on_commit_callbacks(execute=True):
        sent = agent_client.post(url, {"reason": "Caller forgot it; verified"})
    again = agent_client.post(url, {"reason": "Asked again"})

    assert sent.status_code == 302
    assert [m.to for m in mail.outbox if member.username in m.body] == [["ada.login@example.com"]]
    event = SecurityEvent.objects.get(kind="user_id_reminder", user=member)
    assert (event.actor, event.detail["route"], event.detail["reason"]) == (
        agent_client.agent,
        "staff",
        "Caller forgot it; verified",
    )
    assert "a reminder went out in the last 15 minutes" in again.content.decode()


def test_sending_the_user_id_needs_a_reason(agent_client, member):
    response = agent_client.post(reverse("admin:accounts_user_send_user_id", args=[member.pk]), {"reason": ""})

    assert response.status_code == 200
    assert not SecurityEvent.objects.filter(kind="user_id_reminder").exists()
