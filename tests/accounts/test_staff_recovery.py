"""Staff help for a cardholder who can't get a code: an identity verification first,
then reset two-step verification, replace a contact or send a recovery link."""

import re
import secrets
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.models import User
from accounts.staff_roles import CUSTOMER_SERVICE
from portal.models import ImmutableRowError
from security import backup_codes, staff
from security.models import IdentityVerification, OutOfBandDevice, RecoveryLink, SecurityEvent
from tests.factories import DEFAULT_PASSWORD, STAFF_PASSWORD, UserFactory, staff_member, two_step_app_on
from tests.security.dbscan import rows_containing

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Harbor-Lantern-7731"


def make_agent(username="support.agent"):
    return staff_member(username, groups=(CUSTOMER_SERVICE,))


@pytest.fixture
def agent():
    return make_agent()


@pytest.fixture
def agent_client(agent):
    client = Client()
    client.force_login(agent)
    return client


@pytest.fixture
def member():
    return UserFactory(email="cardholder@example.com", phone="+12025550122", phone_verified_at=timezone.now())


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    def post(client, url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    return post


def url(name, user):
    return reverse(f"admin:accounts_user_{name}", args=[user.pk])


def verify(client, user, checks=("date_of_birth", "card_last4")):
    return client.post(
        url("verify_identity", user), {"method": "phone_call", "checks": list(checks), "note": "Called from home"}
    )


def texts_to(number):
    folder = settings.SMS_FILE_PATH
    return [p.read_text() for p in sorted(folder.iterdir()) if number in p.read_text()] if folder.is_dir() else []


# --- Identity verification -----------------------------------------------------------


def test_recording_a_verification(agent_client, agent, member):
    response = verify(agent_client, member)
    assert response.status_code == 302
    record = IdentityVerification.objects.get(user=member)
    assert (record.staff, record.method, record.checks) == (agent, "phone_call", ["date_of_birth", "card_last4"])
    event = SecurityEvent.objects.get(user=member, kind="staff_action")
    assert event.actor == agent and event.detail["action"] == "identity_verified"


def test_a_verification_needs_two_facts(agent_client, member):
    page = verify(agent_client, member, checks=["date_of_birth"]).content.decode()
    assert "Check at least two facts" in page
    assert not IdentityVerification.objects.exists()


def test_verifications_are_append_only(agent, member):
    record = staff.identity_verification_record(
        user=member, staff=agent, method="branch_visit", checks=["photo_id", "postal_code"]
    )
    with pytest.raises(ImmutableRowError):
        record.delete()
    with pytest.raises(ImmutableRowError):
        IdentityVerification.objects.filter(pk=record.pk).update(note="changed")


def test_a_verification_outlives_a_removed_login(agent, member):
    # The demo reset removes logins; the record stays, like the audit trail.
    record = staff.identity_verification_record(
        user=member, staff=agent, method="phone_call", checks=["date_of_birth", "postal_code"]
    )
    member.delete()
    record.refresh_from_db()
    assert (record.user_id, record.staff_id) == (None, agent.pk)


@pytest.mark.parametrize("name", ["reset_two_step", "replace_contact", "recovery_link"])
def test_actions_say_a_verification_is_needed_and_change_nothing(agent_client, member, name):
    key = two_step_app_on(member)
    page = agent_client.get(url(name, member)).content.decode()
    assert "Record an identity verification for this cardholder first" in page
    assert url("verify_identity", member) in page
    data = {"reason": "caller lost phone", "kind": "email", "value": "x@example.com", "channel": "email"}
    agent_client.post(url(name, member), data)
    member.refresh_from_db()
    assert key and TOTPDevice.objects.filter(user=member).exists()
    assert member.email == "cardholder@example.com"
    assert not RecoveryLink.objects.exists()
    assert not mail.outbox


def test_only_a_recent_verification_of_this_cardholder_by_this_agent_counts(agent, member):
    IdentityVerification(
        user=member,
        staff=agent,
        method="phone_call",
        checks=["date_of_birth", "postal_code"],
        created_at=timezone.now() - timedelta(minutes=31),
    ).save()
    assert staff.recent_verification(user=member, staff=agent) is None
    fresh = staff.identity_verification_record(
        user=member, staff=agent, method="video_call", checks=["photo_id", "postal_code"]
    )
    assert staff.recent_verification(user=member, staff=agent) == fresh
    assert staff.recent_verification(user=UserFactory(), staff=agent) is None
    assert staff.recent_verification(user=member, staff=make_agent("other.agent")) is None


def test_an_old_verification_refuses_the_action(agent_client, agent, member):
    IdentityVerification(
        user=member,
        staff=agent,
        method="phone_call",
        checks=["date_of_birth", "postal_code"],
        created_at=timezone.now() - timedelta(minutes=31),
    ).save()
    two_step_app_on(member)
    agent_client.post(url("reset_two_step", member), {"reason": "lost phone"})
    assert TOTPDevice.objects.filter(user=member).exists()


def test_another_staff_members_verification_does_not_count(agent_client, member):
    colleague = make_agent("other.agent")
    staff.identity_verification_record(
        user=member, staff=colleague, method="phone_call", checks=["date_of_birth", "postal_code"]
    )
    two_step_app_on(member)
    page = agent_client.post(url("reset_two_step", member), {"reason": "lost phone"}).content.decode()
    assert "Nothing was changed" in page or "Record an identity verification" in page
    assert TOTPDevice.objects.filter(user=member).exists()


def test_a_verification_of_another_cardholder_does_not_count(agent_client, member):
    verify(agent_client, UserFactory())
    two_step_app_on(member)
    agent_client.post(url("reset_two_step", member), {"reason": "lost phone"})
    assert TOTPDevice.objects.filter(user=member).exists()


# --- Unlock sign-in -------------------------------------------------------------------------


def lock(client, username):
    """Three wrong passwords: the User ID is locked (an unrecognized browser)."""
    for i in range(3):
        response = client.post(
            reverse("two_factor:login"),
            {"sign_in_view-current_step": "auth", "auth-username": username, "auth-password": f"wrong-{i}-password"},
        )
    assert response.status_code == 429


def test_unlock_names_the_verification_that_allowed_it(agent_client, agent, member):
    lock(Client(), member.username)
    verify(agent_client, member)

    response = agent_client.post(url("unlock", member), {"reason": "Locked out, verified on the call"})

    assert response.status_code == 302
    event = SecurityEvent.objects.get(user=member, kind=SecurityEvent.Kind.UNLOCKED)
    assert (event.actor, event.detail["reason"]) == (agent, "Locked out, verified on the call")
    assert event.detail["verification"] == IdentityVerification.objects.get(user=member).pk
    assert not AccessAttempt.objects.exists()


def test_unlock_without_a_recent_verification_is_refused_and_keeps_the_lock(agent, member):
    lock(Client(), member.username)

    with pytest.raises(staff.VerificationRequired):
        services.sign_in_unlock(user=member, actor=agent, reason="Caller sounded right")

    assert AccessAttempt.objects.get().failures_since_start == 3
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.UNLOCKED).exists()


def test_unlock_clears_a_user_id_that_reads_as_a_card_number(agent_client, member):
    # A valid User ID that is also 12 Luhn-valid digits: axes counts it under "•••• 9015".
    User.objects.filter(pk=member.pk).update(username="123456789015")
    member.refresh_from_db()
    lock(Client(), member.username)
    verify(agent_client, member)

    agent_client.post(url("unlock", member), {"reason": "Locked out, verified on the call"})

    assert SecurityEvent.objects.get(kind=SecurityEvent.Kind.UNLOCKED).detail["attempts_cleared"] == 1
    assert not AccessAttempt.objects.exists()


# --- Reset two-step verification ---------------------------------------------------------


def test_reset_removes_app_and_backup_codes_and_tells_every_contact(agent_client, agent, member, deliver):
    two_step_app_on(member)
    backup_codes.codes_generate(user=member)
    verify(agent_client, member)
    response = deliver(agent_client, url("reset_two_step", member), {"reason": "Lost phone, verified on call"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=member).exists()
    assert not backup_codes.unused_codes(user=member).exists()
    event = SecurityEvent.objects.get(user=member, kind="two_factor_changed", detail__change="reset_by_staff")
    assert event.actor == agent
    assert event.detail["reason"] == "Lost phone, verified on call"
    assert event.detail["removed"]["app"] == 1 and event.detail["removed"]["backup_codes"] == 10
    assert event.detail["verification"] == IdentityVerification.objects.get(user=member).pk
    assert [m.to for m in mail.outbox if m.subject == "Your two-step verification was reset"] == [
        ["cardholder@example.com"]
    ]
    assert any("reset your two-step verification" in t for t in texts_to("+12025550122"))


def test_reset_removes_passkeys_too(agent_client, member):
    from django_otp_webauthn.models import WebAuthnCredential

    WebAuthnCredential.objects.create(
        user=member,
        name="Phone",
        confirmed=True,
        credential_id=secrets.token_bytes(32),
        public_key=secrets.token_bytes(77),
        aaguid="00000000-0000-0000-0000-000000000000",
        sign_count=0,
        discoverable=True,
    )
    verify(agent_client, member)
    agent_client.post(url("reset_two_step", member), {"reason": "Lost phone"})
    assert not WebAuthnCredential.objects.filter(user=member).exists()
    event = SecurityEvent.objects.get(user=member, kind="two_factor_changed")
    assert event.detail["removed"]["passkeys"] == 1


def test_reset_needs_a_reason(agent_client, member):
    two_step_app_on(member)
    verify(agent_client, member)
    agent_client.post(url("reset_two_step", member), {"reason": ""})
    assert TOTPDevice.objects.filter(user=member).exists()


def test_staff_without_the_action_permissions_cannot_act(member):
    # Viewing and even changing logins is not what lets someone recover one.
    viewer = User.objects.create_user("view.only", password=STAFF_PASSWORD, is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename__in=["view_user", "change_user"]))
    client = Client()
    client.force_login(viewer)
    assert client.get(url("verify_identity", member)).status_code == 403
    assert client.post(url("reset_two_step", member), {"reason": "x"}).status_code == 403
    assert not IdentityVerification.objects.exists()


# --- Replace a contact -------------------------------------------------------------------


def test_replacing_the_email_tells_old_new_and_phone(agent_client, agent, member, deliver):
    verify(agent_client, member)
    response = deliver(
        agent_client,
        url("replace_contact", member),
        {"kind": "email", "value": "fresh@Example.com", "reason": "Old mailbox closed"},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.email == "fresh@example.com" and member.email_verified_at is not None
    recipients = sorted(m.to[0] for m in mail.outbox if m.subject == "Your email address was changed")
    assert recipients == ["cardholder@example.com", "fresh@example.com"]
    assert any("by our customer service team" in t for t in texts_to("+12025550122"))
    event = SecurityEvent.objects.get(user=member, kind="contact_changed")
    assert event.actor == agent
    assert event.detail["by"] == "staff" and event.detail["reason"] == "Old mailbox closed"
    assert OutOfBandDevice.objects.get(user=member, channel="email").destination == "fresh@example.com"


def test_replacing_the_phone(agent_client, member, deliver):
    verify(agent_client, member)
    deliver(
        agent_client, url("replace_contact", member), {"kind": "phone", "value": "202 555 0111", "reason": "New phone"}
    )
    member.refresh_from_db()
    assert member.phone == "+12025550111"
    assert texts_to("+12025550122") and texts_to("+12025550111")


@pytest.mark.parametrize(
    "data, message",
    [
        ({"kind": "email", "value": "nope", "reason": "r"}, "Enter an email address like name@example.com"),
        ({"kind": "phone", "value": "123", "reason": "r"}, "Enter a mobile number"),
        ({"kind": "email", "value": "cardholder@example.com", "reason": "r"}, "already the email address on file"),
    ],
    ids=["bad email", "bad phone", "same"],
)
def test_replacing_with_bad_input_changes_nothing(agent_client, member, data, message):
    verify(agent_client, member)
    page = agent_client.post(url("replace_contact", member), data).content.decode()
    assert message in page
    member.refresh_from_db()
    assert (member.email, member.phone) == ("cardholder@example.com", "+12025550122")


# --- Recovery link -----------------------------------------------------------------------


def send_link(agent_client, member, deliver, channel="email"):
    verify(agent_client, member)
    response = deliver(agent_client, url("recovery_link", member), {"channel": channel, "reason": "Forgot password"})
    assert response.status_code == 302
    return response


def link_in(text):
    return re.search(r"(/account/recover/link/[^/\s]+/)", text).group(1)


def test_a_recovery_link_is_sent_hashed_and_single_use(agent_client, agent, member, deliver):
    send_link(agent_client, member, deliver)
    message = [m for m in mail.outbox if m.subject.startswith("Set a new password")][0]
    assert message.to == ["cardholder@example.com"]
    path = link_in(message.body)
    token = path.rstrip("/").rsplit("/", 1)[1]
    assert len(token) >= 43 and rows_containing(token) == []
    link = RecoveryLink.objects.get(user=member)
    assert link.expires_at - link.created_at == timedelta(minutes=30)
    event = SecurityEvent.objects.get(user=member, kind="staff_action", detail__action="recovery_link_sent")
    assert event.actor == agent and event.detail["reason"] == "Forgot password"
    # The other contact on file hears of it.
    assert any("link to set a new password" in t for t in texts_to("+12025550122"))

    visitor = Client()
    opened = visitor.get(path)
    assert opened["Location"] == reverse("recovery:link_password")
    done = visitor.post(reverse("recovery:link_password"), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done["Location"] == reverse("two_factor:login")
    assert not done.wsgi_request.user.is_authenticated
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    assert SecurityEvent.objects.filter(user=member, kind="password_reset", outcome="success").exists()

    again = Client().get(path)
    assert again.status_code == 410
    assert "This link no longer works" in again.content.decode()


def test_a_recovery_link_by_text(agent_client, member, deliver):
    send_link(agent_client, member, deliver, channel="sms")
    assert link_in(texts_to("+12025550122")[-1])
    assert any(m.subject == "We sent you a link to set a new password" for m in mail.outbox)


def test_an_expired_link_does_not_work(agent_client, member, deliver):
    send_link(agent_client, member, deliver)
    path = link_in(mail.outbox[0].body if "recover/link" in mail.outbox[0].body else mail.outbox[-1].body)
    RecoveryLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().get(path).status_code == 410


def test_a_new_link_voids_the_old_one(agent_client, member, deliver):
    send_link(agent_client, member, deliver)
    first = link_in([m for m in mail.outbox if "recover/link" in m.body][-1].body)
    send_link(agent_client, member, deliver)
    assert Client().get(first).status_code == 410
    assert RecoveryLink.objects.filter(voided_at__isnull=False).count() == 1


def test_the_link_checks_the_password_policy(agent_client, member, deliver):
    send_link(agent_client, member, deliver)
    visitor = Client()
    visitor.get(link_in([m for m in mail.outbox if "recover/link" in m.body][-1].body))
    page = visitor.post(reverse("recovery:link_password"), {"password1": "short", "password2": "short"})
    assert page.status_code == 200 and "There is a problem" in page.content.decode()
    member.refresh_from_db()
    assert member.check_password(DEFAULT_PASSWORD)
    assert RecoveryLink.objects.get().used_at is None


def test_a_made_up_token_does_not_work():
    assert Client().get(reverse("recovery:link", args=["x" * 43])).status_code == 410
    assert Client().get(reverse("recovery:link_password")).status_code == 410
