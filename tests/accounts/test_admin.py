import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import PasswordHistory, User
from security.models import SecurityEvent
from tests.factories import CardholderFactory, UserFactory

pytestmark = pytest.mark.django_db

STAFF_PASSWORD = "staff-admin-password-1"


@pytest.fixture
def admin_user(db):
    # pytest-django's own admin_user is called "admin", which is not a valid User ID.
    return User.objects.create_superuser("staff.admin", password=STAFF_PASSWORD)


@pytest.fixture
def agent_client(client):
    """A staff manager: staff, allowed to view and change users and to manage staff
    logins, not a superuser."""
    agent = User.objects.create_user("support.agent", password=STAFF_PASSWORD, is_staff=True)
    agent.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="accounts", codename__in=["view_user", "change_user", "manage_staff"]
        )
    )
    client.force_login(agent)
    client.agent = agent
    return client


def user_change_url(user):
    return reverse("admin:accounts_user_change", args=[user.pk])


def permissions_post(**overrides):
    """The change form as a browser posts it: unchecked boxes are simply absent."""
    data = {"is_active": "on", "groups": [], "user_permissions": []}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_every_accounts_model_is_in_the_admin_except_password_history():
    # Old password hashes have nothing for staff to read and are not offered.
    assert PasswordHistory not in admin.site._registry
    assert set(apps.get_app_config("accounts").get_models()) - {PasswordHistory} <= set(admin.site._registry)


def test_admin_index_lists_the_portal_apps(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()

    assert all(name in html for name in ["Accounts", "Cards", "Security", "Statements"])


@pytest.mark.parametrize("page_object", [lambda user: user, lambda user: user.cardholder], ids=["User", "Cardholder"])
def test_changelist_and_change_page_render_for_superuser(admin_client, cardholder_with_card, page_object):
    obj = page_object(cardholder_with_card[0])
    opts = obj._meta

    changelist = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    change = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))

    assert (changelist.status_code, change.status_code) == (200, 200)


def test_user_add_page_renders_and_creates_a_login(admin_client):
    url = reverse("admin:accounts_user_add")
    data = {
        "username": "new.agent01",
        "usable_password": "true",
        "password1": "a-long-new-passphrase-7",
        "password2": "a-long-new-passphrase-7",
    }

    page = admin_client.get(url)
    response = admin_client.post(url, data)

    assert (page.status_code, response.status_code) == (200, 302)
    created = User.objects.get(username="new.agent01")
    assert created.check_password("a-long-new-passphrase-7")
    assert PasswordHistory.objects.filter(user=created).count() == 1


def test_user_add_rejects_a_user_id_differing_only_in_case(admin_client, user):
    data = {"username": user.username.upper(), "usable_password": "false"}

    response = admin_client.post(reverse("admin:accounts_user_add"), data)

    assert response.status_code == 200
    assert not User.objects.filter(username=user.username.upper()).exists()


def test_user_page_shows_a_password_summary_not_the_hash_or_an_input(admin_client, user):
    html = admin_client.get(user_change_url(user)).content.decode()

    assert "algorithm" in html
    assert user.password not in html
    assert 'name="password"' not in html


@pytest.mark.parametrize(
    "term", [lambda u: u.username, lambda u: u.email, lambda u: u.phone, lambda u: u.cardholder.legal_name]
)
def test_users_are_found_by_user_id_email_phone_and_cardholder_name(admin_client, user, other_user, term):
    response = admin_client.get(reverse("admin:accounts_user_changelist"), {"q": term(user)})

    assert list(response.context["cl"].result_list) == [user]


def test_superuser_can_deactivate_a_login_but_not_edit_its_contact_details(admin_client, admin_user, user):
    email, username = user.email, user.username

    response = admin_client.post(
        user_change_url(user), permissions_post(is_active=None, email="taken.over@example.com", username="hijacked01")
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.is_active, user.email, user.username) == (False, email, username)
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.STAFF_ACTION)
    assert (event.user, event.actor, event.detail["action"]) == (user, admin_user, "changed")


def test_changing_users_without_managing_staff_cannot_make_anyone_staff(client, user):
    editor = User.objects.create_user("user.editor", password=STAFF_PASSWORD, is_staff=True)
    editor.user_permissions.set(Permission.objects.filter(codename__in=["view_user", "change_user"]))
    client.force_login(editor)
    administrators = Group.objects.get(name="Administrators")

    response = client.post(user_change_url(user), permissions_post(is_staff="on", groups=[administrators.pk]))

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.is_staff, list(user.groups.all())) == (False, [])


def test_changing_users_without_managing_staff_cannot_touch_a_staff_login(client):
    editor = User.objects.create_user("user.editor", password=STAFF_PASSWORD, is_staff=True)
    editor.user_permissions.set(Permission.objects.filter(codename__in=["view_user", "change_user"]))
    colleague = User.objects.create_user("colleague", password=STAFF_PASSWORD, is_staff=True)
    client.force_login(editor)

    response = client.post(user_change_url(colleague), permissions_post(is_active=None))

    assert response.status_code == 403
    colleague.refresh_from_db()
    assert colleague.is_active


def test_support_agent_can_change_staff_status_but_not_grant_superuser(agent_client, user):
    response = agent_client.post(user_change_url(user), permissions_post(is_staff="on", is_superuser="on"))

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (True, False)


def test_support_agent_cannot_raise_their_own_privileges(agent_client):
    agent = agent_client.agent
    powerful = Group.objects.create(name="Fraud leads")
    powerful.permissions.set(Permission.objects.all())

    response = agent_client.post(user_change_url(agent), permissions_post(is_staff="on", groups=[powerful.pk]))

    assert response.status_code == 302
    assert not agent.groups.exists()
    html = agent_client.get(user_change_url(agent)).content.decode()
    assert 'name="groups"' not in html


def test_support_agent_cannot_change_a_superuser(agent_client, admin_user):
    response = agent_client.post(user_change_url(admin_user), permissions_post(is_active=None))

    assert response.status_code == 403
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_only_superusers_set_passwords(agent_client, admin_client, user):
    url = reverse("admin:auth_user_password_change", args=[user.pk])

    assert agent_client.get(url).status_code == 403
    assert admin_client.get(url).status_code == 200


def test_password_set_in_the_admin_joins_the_history_and_cannot_be_reused(admin_client, user):
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    data = {"usable_password": "true", "password1": "fresh-admin-set-pass-8", "password2": "fresh-admin-set-pass-8"}

    first = admin_client.post(url, data)
    second = admin_client.post(url, data)

    assert (first.status_code, second.status_code) == (302, 200)
    user.refresh_from_db()
    assert user.check_password("fresh-admin-set-pass-8")
    assert PasswordHistory.objects.filter(user=user).count() == 1


def test_logins_cannot_be_deleted_from_the_admin(admin_client, user):
    response = admin_client.post(reverse("admin:accounts_user_delete", args=[user.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert User.objects.filter(pk=user.pk).exists()


@pytest.mark.parametrize(
    "term",
    [lambda c: c.legal_name, lambda c: c.email, lambda c: c.phone, lambda c: c.postal_code],
    ids=["name", "email", "phone", "postal_code"],
)
def test_cardholders_are_found_by_name_email_phone_and_postal_code(admin_client, term):
    cardholder = CardholderFactory(legal_name="Ada Quintessa", email="ada.q@example.com", postal_code="98765")
    CardholderFactory(legal_name="Bob Other", email="bob@example.org", postal_code="11111")

    response = admin_client.get(reverse("admin:accounts_cardholder_changelist"), {"q": term(cardholder)})

    assert list(response.context["cl"].result_list) == [cardholder]


def test_cardholder_page_lists_their_cards_masked(admin_client, cardholder_with_card):
    user, issued = cardholder_with_card

    html = admin_client.get(reverse("admin:accounts_cardholder_change", args=[user.cardholder.pk])).content.decode()

    assert f"•••• {issued.card.last4}" in html
    assert user.username in html
    assert issued.pan not in html
    assert issued.card.pan_hash not in html


def test_cardholder_changelist_queries_do_not_grow_with_rows(admin_client):
    UserFactory.create_batch(3)
    CardholderFactory.create_batch(2)  # not enrolled: no login
    url = reverse("admin:accounts_cardholder_changelist")
    admin_client.get(url)  # warm the session and content-type caches
    with CaptureQueriesContext(connection) as five:
        admin_client.get(url)
    UserFactory.create_batch(25)
    CardholderFactory.create_batch(20)
    with CaptureQueriesContext(connection) as fifty:
        response = admin_client.get(url)

    assert len(response.context["cl"].result_list) == 50
    assert len(fifty) == len(five)


def test_staff_unlock_and_user_id_change_from_the_admin(client, django_capture_on_commit_callbacks):
    staff = User.objects.create_superuser("staff.root", password="x-Strong-Pass-1234")
    member = UserFactory(username="member.one")
    client.force_login(staff)
    page = client.get(reverse("admin:accounts_user_change", args=[member.pk])).content.decode()
    assert reverse("admin:accounts_user_unlock", args=[member.pk]) in page
    unverified = client.post(reverse("admin:accounts_user_unlock", args=[member.pk]), {"reason": "ID checked"})
    assert "Record an identity verification" in unverified.content.decode()
    assert not SecurityEvent.objects.filter(kind="unlocked").exists()
    client.post(
        reverse("admin:accounts_user_verify_identity", args=[member.pk]),
        {"method": "phone_call", "checks": ["date_of_birth", "postal_code"]},
    )
    response = client.post(reverse("admin:accounts_user_unlock", args=[member.pk]), {"reason": "ID checked"})
    assert response.status_code == 302
    assert SecurityEvent.objects.filter(kind="unlocked", actor=staff, user=member).exists()
    missing_reason = client.post(
        reverse("admin:accounts_user_change_user_id", args=[member.pk]), {"new_username": "member.two"}
    )
    assert missing_reason.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:accounts_user_change_user_id", args=[member.pk]),
            {"new_username": "member.two", "reason": "customer asked, verified"},
        )
    member.refresh_from_db()
    assert member.username == "member.two"
