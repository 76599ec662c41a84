"""The staff groups (accounts.staff_roles): each can do its job in the staff console and
nothing more."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.staff_roles import (
    ADMINISTRATORS,
    CUSTOMER_SERVICE,
    DISPUTES,
    FRAUD,
    GROUP_PERMISSIONS,
    STAFF_PERMISSIONS,
    staff_groups_sync,
)
from cards import disputes
from cards.models import Card, Dispute
from security.models import IdentityVerification, SecurityEvent
from tests.factories import TransactionFactory, UserFactory, issue_card, open_account, staff_member

pytestmark = pytest.mark.django_db


def perms(group: Group) -> set[str]:
    return {
        f"{app}.{codename}" for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    """A locked cardholder with an active card and an open dispute."""
    member = UserFactory(username="locked.member")
    card = issue_card(account=open_account(holder=member.cardholder)).card
    charge = TransactionFactory(card=card, merchant_name="Gadget Store")
    with django_capture_on_commit_callbacks(execute=True):
        dispute = disputes.dispute_open(
            actor=member, transaction_obj=charge, reason="not_received", description="It never arrived at all."
        )
    AccessAttempt.objects.create(
        username=member.username.lower(),
        ip_address="192.0.2.1",
        user_agent="test",
        failures_since_start=3,
        get_data="",
        post_data="",
    )
    return member, card, dispute


def console(client, group: str):
    agent = staff_member(f"{group.split()[0].lower()}.agent", groups=(group,))
    client.force_login(agent)
    return agent


def verify(client, member):
    return client.post(
        reverse("admin:accounts_user_verify_identity", args=[member.pk]),
        {"method": "phone_call", "checks": ["date_of_birth", "postal_code"]},
    )


def unlock(client, member):
    return client.post(reverse("admin:accounts_user_unlock", args=[member.pk]), {"reason": "Verified on the call"})


def freeze(client, card):
    return client.post(reverse("admin:cards_card_freeze", args=[card.pk]), {"reason": "Suspected fraud"})


def review(client, dispute):
    return client.post(reverse("admin:cards_dispute_review", args=[dispute.pk]), {"note": ""})


# --- The groups -----------------------------------------------------------------------------


def test_the_migration_created_the_four_groups_with_their_permissions():
    for name, labels in GROUP_PERMISSIONS.items():
        group = Group.objects.get(name=name)
        if labels == "__all__":
            assert group.permissions.count() == Permission.objects.count()
        else:
            assert perms(group) == set(labels)


def test_staff_permissions_exist():
    assert {f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.all()} >= set(STAFF_PERMISSIONS)


def test_syncing_again_changes_nothing_and_undoes_hand_edits():
    customer_service = Group.objects.get(name=CUSTOMER_SERVICE)
    before = perms(customer_service)
    customer_service.permissions.add(Permission.objects.get(codename="freeze_card"))

    staff_groups_sync()
    staff_groups_sync()

    assert perms(customer_service) == before
    assert Group.objects.filter(name__in=list(GROUP_PERMISSIONS)).count() == 4


def test_no_group_but_administrators_can_change_logins_or_groups():
    powerful = {"accounts.change_user", "accounts.manage_staff", "auth.change_group", "auth.add_group"}
    for name in (CUSTOMER_SERVICE, DISPUTES, FRAUD):
        assert not perms(Group.objects.get(name=name)) & powerful
    assert perms(Group.objects.get(name=ADMINISTRATORS)) >= powerful


def test_a_staff_role_cannot_be_changed_in_the_console_even_by_a_superuser(client):
    """Roles are written in code and put back after every migrate; an edit in the console
    would widen every member's access with no audit event."""
    client.force_login(staff_member("staff.root", is_superuser=True))
    customer_service = Group.objects.get(name=CUSTOMER_SERVICE)
    before = perms(customer_service)
    resolve = Permission.objects.get(content_type__app_label="cards", codename="change_dispute")
    groups_before = set(Group.objects.values_list("name", flat=True))

    widen = client.post(
        reverse("admin:auth_group_change", args=[customer_service.pk]),
        {
            "name": CUSTOMER_SERVICE,
            "permissions": [*customer_service.permissions.values_list("pk", flat=True), resolve.pk],
        },
    )
    add = client.post(reverse("admin:auth_group_add"), {"name": "Fraud leads", "permissions": [resolve.pk]})
    delete = client.post(reverse("admin:auth_group_delete", args=[customer_service.pk]), {"post": "yes"})

    assert (widen.status_code, add.status_code, delete.status_code) == (403, 403, 403)
    assert perms(customer_service) == before
    assert set(Group.objects.values_list("name", flat=True)) == groups_before


def test_the_staff_role_pages_say_roles_are_changed_in_code(client):
    console(client, ADMINISTRATORS)
    customer_service = Group.objects.get(name=CUSTOMER_SERVICE)

    listing = client.get(reverse("admin:auth_group_changelist"))
    page = client.get(reverse("admin:auth_group_change", args=[customer_service.pk]))

    assert (listing.status_code, page.status_code) == (200, 200)
    assert "accounts/staff_roles.py" in listing.content.decode()
    assert "accounts/staff_roles.py" in page.content.decode()
    assert 'name="permissions"' not in page.content.decode()


def test_putting_a_person_in_a_role_on_their_login_is_audited(client):
    lead = console(client, ADMINISTRATORS)
    newcomer = staff_member("new.agent")
    customer_service = Group.objects.get(name=CUSTOMER_SERVICE)

    response = client.post(
        reverse("admin:accounts_user_change", args=[newcomer.pk]),
        {"is_active": "on", "is_staff": "on", "groups": [customer_service.pk], "user_permissions": []},
    )

    assert response.status_code == 302
    assert list(newcomer.groups.all()) == [customer_service]
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.STAFF_ACTION, actor=lead)
    assert (event.user, event.detail["model"], event.detail["action"]) == (newcomer, "accounts.user", "changed")


# --- Customer service --------------------------------------------------------------------------


def test_customer_service_finds_the_cardholder_verifies_and_unlocks(client, world):
    member, card, _ = world
    agent = console(client, CUSTOMER_SERVICE)

    found = client.get(reverse("admin:accounts_cardholder_changelist"), {"q": card.last4})
    page = client.get(reverse("admin:accounts_cardholder_change", args=[member.cardholder_id]))
    verified = verify(client, member)
    unlocked = unlock(client, member)

    assert list(found.context["cl"].result_list) == [member.cardholder]
    assert page.status_code == 200
    assert (verified.status_code, unlocked.status_code) == (302, 302)
    assert not AccessAttempt.objects.exists()
    assert SecurityEvent.objects.filter(kind="unlocked", user=member, actor=agent).exists()


def test_customer_service_cannot_freeze_a_card(client, world):
    _, card, _ = world
    console(client, CUSTOMER_SERVICE)

    assert freeze(client, card).status_code == 403
    assert Card.objects.get(pk=card.pk).status == Card.Status.ACTIVE
    assert "Freeze" not in client.get(reverse("admin:cards_card_change", args=[card.pk])).content.decode()


def test_customer_service_cannot_work_disputes_or_read_the_audit_trail(client, world):
    _, _, dispute = world
    console(client, CUSTOMER_SERVICE)

    assert review(client, dispute).status_code == 403
    assert client.get(reverse("admin:cards_dispute_changelist")).status_code == 403
    assert client.get(reverse("admin:security_securityevent_changelist")).status_code == 403
    assert Dispute.objects.get(pk=dispute.pk).status == "submitted"


def test_customer_service_cannot_edit_a_login_or_change_a_user_id(client, world):
    member, _, _ = world
    console(client, CUSTOMER_SERVICE)

    edit = client.post(reverse("admin:accounts_user_change", args=[member.pk]), {"is_active": ""})
    rename = client.post(
        reverse("admin:accounts_user_change_user_id", args=[member.pk]), {"new_username": "taken.over", "reason": "x"}
    )

    assert (edit.status_code, rename.status_code) == (403, 403)
    member.refresh_from_db()
    assert (member.is_active, member.username) == (True, "locked.member")


def test_customer_service_cannot_recover_a_colleagues_login(client):
    colleague = staff_member("colleague.one", groups=(ADMINISTRATORS,))
    console(client, CUSTOMER_SERVICE)

    assert verify(client, colleague).status_code == 403
    assert client.get(reverse("admin:accounts_user_reset_two_step", args=[colleague.pk])).status_code == 403
    assert not IdentityVerification.objects.exists()


def test_nobody_uses_the_staff_actions_on_their_own_login(client):
    agent = console(client, ADMINISTRATORS)

    assert verify(client, agent).status_code == 403
    assert not IdentityVerification.objects.exists()


# --- Disputes ----------------------------------------------------------------------------------


def test_disputes_work_the_queue(client, world):
    _, _, dispute = world
    console(client, DISPUTES)

    queue = client.get(reverse("admin:cards_dispute_changelist"))
    reviewed = review(client, dispute)

    assert "Gadget Store" in queue.content.decode()
    assert reviewed.status_code == 302
    assert Dispute.objects.get(pk=dispute.pk).status == "under_review"


def test_disputes_cannot_unlock_a_user_or_freeze_a_card(client, world):
    member, card, _ = world
    console(client, DISPUTES)

    assert verify(client, member).status_code == 403
    assert unlock(client, member).status_code == 403
    assert freeze(client, card).status_code == 403
    assert client.get(reverse("admin:accounts_cardholder_changelist")).status_code == 403
    assert AccessAttempt.objects.exists()


# --- Fraud ---------------------------------------------------------------------------------------


def test_fraud_read_the_audit_trail_and_freeze_a_card_with_a_reason(client, world):
    member, card, _ = world
    agent = console(client, FRAUD)

    events = client.get(reverse("admin:security_securityevent_changelist"))
    page = client.get(reverse("admin:cards_card_change", args=[card.pk])).content.decode()
    frozen = freeze(client, card)

    assert events.status_code == 200
    assert reverse("admin:cards_card_freeze", args=[card.pk]) in page
    assert frozen.status_code == 302
    assert Card.objects.get(pk=card.pk).status == Card.Status.FROZEN
    event = SecurityEvent.objects.get(kind="card_status_changed", detail__action="freeze")
    assert (event.actor, event.user, event.detail["reason"]) == (agent, member, "Suspected fraud")
    assert event.detail["card"] == card.masked_number


def test_a_freeze_needs_a_reason(client, world):
    _, card, _ = world
    console(client, FRAUD)

    response = client.post(reverse("admin:cards_card_freeze", args=[card.pk]), {"reason": ""})

    assert response.status_code == 200
    assert Card.objects.get(pk=card.pk).status == Card.Status.ACTIVE


def test_fraud_cannot_unlock_recover_or_work_disputes(client, world):
    member, _, dispute = world
    console(client, FRAUD)

    assert verify(client, member).status_code == 403
    assert unlock(client, member).status_code == 403
    assert review(client, dispute).status_code == 403
    assert AccessAttempt.objects.exists()


# --- Administrators --------------------------------------------------------------------------


def test_administrators_can_do_every_job_but_are_not_superusers(client, world):
    member, card, dispute = world
    admin_member = console(client, ADMINISTRATORS)

    verify(client, member)
    results = (
        unlock(client, member).status_code,
        freeze(client, card).status_code,
        review(client, dispute).status_code,
    )

    assert results == (302, 302, 302)
    assert not admin_member.is_superuser
    assert client.get(reverse("admin:accounts_user_change", args=[member.pk])).status_code == 200
