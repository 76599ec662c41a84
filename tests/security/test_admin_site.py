"""The staff console's door: staff only, with a session confirmed by a factor they hold."""

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from security.admin_site import CODE_AGAIN_MESSAGE, SET_UP_APP_MESSAGE, StaffAdminSite
from security.models import OutOfBandDevice
from tests.factories import UserFactory, force_login_without_code, staff_member, two_step_app_on

pytestmark = pytest.mark.django_db

ADMIN = "/admin/"


@pytest.fixture
def admin_user(db):
    # pytest-django's own admin_user is called "admin", which is not a valid User ID.
    return User.objects.create_superuser("staff.admin", password="staff-admin-password-1")


def final(response):
    return response.redirect_chain[-1][0] if response.redirect_chain else None


def test_the_admin_is_the_staff_console():
    assert isinstance(admin.site._wrapped, StaffAdminSite)


def test_someone_signed_out_is_sent_to_our_sign_in_page(client):
    response = client.get(reverse("admin:accounts_user_changelist"), follow=True)

    assert final(response) == f"{reverse('two_factor:login')}?next=/admin/accounts/user/"
    assert response.status_code == 200


def test_a_cardholder_is_refused(client):
    force_login_without_code(client, UserFactory())

    assert client.get(ADMIN, follow=True).status_code == 403


def test_staff_without_an_authenticator_app_are_told_to_set_one_up(client):
    agent = staff_member("support.agent")
    force_login_without_code(client, agent)

    response = client.get(ADMIN, follow=True)

    assert final(response) == reverse("security:two_step")
    assert response.wsgi_request.user == agent  # still signed in, to set it up
    assert SET_UP_APP_MESSAGE in response.content.decode()


def test_staff_whose_session_was_confirmed_by_an_emailed_code_are_refused(client):
    # An emailed or texted code proves the mailbox or the SIM, not the staff member.
    agent = staff_member("support.agent", email="agent@example.com")
    email_device = OutOfBandDevice.objects.create(
        user=agent, name="email", channel="email", destination="agent@example.com", confirmed=True
    )
    force_login_without_code(client, agent)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = email_device.persistent_id
    session.save()

    response = client.get(ADMIN, follow=True)

    assert final(response) == reverse("security:two_step")


def test_staff_with_an_app_but_an_unconfirmed_session_log_in_again_with_it(client):
    agent = staff_member("support.agent")
    two_step_app_on(agent)
    force_login_without_code(client, agent)

    response = client.get(reverse("admin:accounts_cardholder_changelist"), follow=True)

    assert final(response) == f"{reverse('two_factor:login')}?next=/admin/accounts/cardholder/"
    assert not response.wsgi_request.user.is_authenticated
    assert CODE_AGAIN_MESSAGE in response.content.decode()


def test_staff_confirmed_by_their_app_get_in(client):
    agent = staff_member("support.agent")
    two_step_app_on(agent)
    force_login_without_code(client, agent)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=agent).persistent_id
    session.save()

    assert client.get(ADMIN).status_code == 200


def test_a_removed_app_closes_the_console_at_once(client):
    agent = staff_member("support.agent")
    client.force_login(agent)
    assert client.get(ADMIN).status_code == 200

    TOTPDevice.objects.filter(user=agent).delete()

    assert final(client.get(ADMIN, follow=True)) == reverse("security:two_step")


def test_a_switched_off_staff_login_is_refused(client):
    agent = staff_member("support.agent")
    client.force_login(agent)
    User.objects.filter(pk=agent.pk).update(is_active=False)

    response = client.get(ADMIN, follow=True)

    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated


def test_the_admin_login_page_sends_a_confirmed_staff_member_on(client):
    client.force_login(staff_member("support.agent"))

    response = client.get(reverse("admin:login"), {"next": "/admin/accounts/"})

    assert response["Location"] == "/admin/accounts/"


def test_the_admin_login_page_never_redirects_off_site(client):
    response = client.get(reverse("admin:login"), {"next": "https://evil.example.com/"})

    assert response["Location"] == f"{reverse('two_factor:login')}?next=/admin/"


def test_console_pages_warn_before_the_staff_idle_limit(client, settings):
    client.force_login(staff_member("support.agent"))

    html = client.get(ADMIN).content.decode()

    assert 'data-module="session-timeout"' in html
    assert f'data-timeout="{settings.STAFF_SESSION_IDLE_TIMEOUT}"' in html


def test_the_consoles_change_password_link_leads_to_the_portals_password_page(client):
    client.force_login(staff_member("support.agent"))

    response = client.get(reverse("admin:password_change"))

    assert response["Location"] == reverse("security:password")


# --- Libraries' admins ---------------------------------------------------------------------


def test_authenticator_app_pages_never_show_the_key(admin_client, user):
    key = two_step_app_on(user)
    device = TOTPDevice.objects.get(user=user)

    pages = [
        admin_client.get(reverse("admin:otp_totp_totpdevice_changelist")),
        admin_client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk])),
    ]

    assert [page.status_code for page in pages] == [200, 200]
    assert all(key not in page.content.decode() for page in pages)
    assert admin_client.get(reverse("admin:otp_totp_totpdevice_add")).status_code == 403
    assert (
        admin_client.get(reverse("admin:otp_totp_totpdevice_changelist"), {"key__startswith": key[:2]}).status_code
        == 400
    )


def test_django_otps_plain_text_static_tokens_are_not_in_the_admin():
    from django_otp.plugins.otp_static.models import StaticDevice

    assert not admin.site.is_registered(StaticDevice)


def test_failed_sign_in_records_cannot_be_deleted_to_unlock_without_a_trace(admin_client, user):
    attempt = AccessAttempt.objects.create(
        username=user.username,
        ip_address="192.0.2.1",
        user_agent="x",
        failures_since_start=3,
        get_data="",
        post_data="",
    )

    page = admin_client.get(reverse("admin:axes_accessattempt_change", args=[attempt.pk]))
    delete = admin_client.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    bulk = admin_client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )

    assert (page.status_code, delete.status_code) == (200, 403)
    assert bulk.status_code in (200, 302)
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()
