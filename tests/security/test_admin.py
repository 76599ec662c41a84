import hashlib
import re

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from security import codes, services
from security.models import Notification, OneTimeCode, SecurityEvent, TrustedDevice

pytestmark = pytest.mark.django_db

SECRET_CODE = "482913"


@pytest.fixture
def admin_user(db):
    # pytest-django's own admin_user is called "admin", which is not a valid User ID.
    return User.objects.create_superuser("staff.admin", password="staff-admin-password-1")


@pytest.fixture
def event(user):
    return services.security_event_record(
        kind=SecurityEvent.Kind.SIGN_IN_FAILED,
        outcome=SecurityEvent.Outcome.FAILURE,
        user=user,
        username_attempted=user.username,
        detail={"reason": "bad_password"},
    )


@pytest.fixture
def device(user):
    return TrustedDevice.objects.create(
        user=user, token_hash=hashlib.sha256(b"device-token").hexdigest(), name="Firefox on Linux"
    )


@pytest.fixture
def code_message(user):
    # Not yet delivered (no commit in a test transaction), so the body still holds the code.
    return services.notify(
        channel=Notification.Channel.SMS,
        to="+12025550123",
        kind="sign_in_code",
        subject="Your sign-in code is " + SECRET_CODE,
        body=f"Meridian: your sign-in code is {SECRET_CODE}. It expires in 10 minutes.",
        idempotency_key="sign-in-code-test-1",
        user=user,
        sensitive=True,
    )


@pytest.fixture
def alert_message(user):
    return services.notify(
        channel=Notification.Channel.EMAIL,
        to="casey.holder@example.com",
        kind="new_device_sign_in",
        subject="New sign-in",
        body="We noticed a sign-in from a new device.",
        idempotency_key="new-device-test-1",
        user=user,
    )


@pytest.fixture
def issued_code(user):
    """A sign-in code sent by text; returns (OneTimeCode, the code, the binding)."""
    binding = codes.new_binding()
    record = codes.code_issue(purpose="sign_in", binding=binding, channel="sms", destination="+12025550188", user=user)
    sent = Notification.objects.get(idempotency_key=f"otc-{record.pk}")
    return record, re.search(r"\b(\d{6})\b", sent.body).group(1), binding


@pytest.fixture
def one_time_code(issued_code):
    return issued_code[0]


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_security_model_is_in_the_admin():
    assert set(apps.get_app_config("security").get_models()) <= set(admin.site._registry)


@pytest.mark.parametrize("fixture", ["event", "device", "code_message", "one_time_code"])
def test_changelist_and_change_page_render_for_superuser(admin_client, request, fixture):
    obj = request.getfixturevalue(fixture)

    changelist = admin_client.get(url(type(obj), "changelist"))
    change = admin_client.get(url(type(obj), "change", obj.pk))

    assert (changelist.status_code, change.status_code) == (200, 200)


def test_security_events_cannot_be_added_changed_or_deleted_even_by_a_superuser(admin_client, event):
    add = admin_client.post(url(SecurityEvent, "add"), {"kind": "unlocked", "outcome": "success"})
    change = admin_client.post(url(SecurityEvent, "change", event.pk), {"kind": "unlocked", "detail": "{}"})
    delete = admin_client.post(url(SecurityEvent, "delete", event.pk), {"post": "yes"})
    bulk_delete = admin_client.post(
        url(SecurityEvent, "changelist"), {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )

    assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
    assert bulk_delete.status_code in (200, 302)
    stored = SecurityEvent.objects.get(pk=event.pk)
    assert (stored.kind, stored.detail) == (SecurityEvent.Kind.SIGN_IN_FAILED, {"reason": "bad_password"})
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.UNLOCKED).exists()


def test_security_event_admin_grants_no_write_permission(admin_user, rf):
    request = rf.get("/")
    request.user = admin_user
    event_admin = admin.site._registry[SecurityEvent]

    assert not any(
        [
            event_admin.has_add_permission(request),
            event_admin.has_change_permission(request),
            event_admin.has_delete_permission(request),
        ]
    )
    assert event_admin.has_view_permission(request)


@pytest.mark.parametrize("term", ["member.lost", "203.0.113.77"], ids=["user_id", "ip"])
def test_security_events_are_found_by_attempted_user_id_and_ip(admin_client, event, rf, term):
    wanted = services.security_event_record(
        kind=SecurityEvent.Kind.SIGN_IN_FAILED,
        username_attempted="member.lost",
        request=rf.get("/", REMOTE_ADDR="203.0.113.77"),
    )

    response = admin_client.get(url(SecurityEvent, "changelist"), {"q": term})

    assert list(response.context["cl"].result_list) == [wanted]


def test_security_events_are_found_by_the_signed_in_user_id(admin_client, event, user):
    services.security_event_record(kind=SecurityEvent.Kind.SIGNED_OUT, username_attempted="someone.else")

    response = admin_client.get(url(SecurityEvent, "changelist"), {"q": user.username})

    assert list(response.context["cl"].result_list) == [event]


def test_trusted_device_pages_never_show_the_token_hash(admin_client, device):
    html = admin_client.get(url(TrustedDevice, "changelist")).content.decode()
    html += admin_client.get(url(TrustedDevice, "change", device.pk)).content.decode()

    assert "Firefox on Linux" in html
    assert device.token_hash not in html


@pytest.mark.parametrize(
    "page_url",
    [lambda n: url(Notification, "changelist"), lambda n: url(Notification, "change", n.pk)],
    ids=["changelist", "change"],
)
def test_sensitive_notification_subject_and_body_are_hidden(admin_client, code_message, page_url):
    html = admin_client.get(page_url(code_message)).content.decode()

    assert SECRET_CODE not in html
    assert code_message.to not in html


def test_sensitive_notification_page_says_hidden(admin_client, code_message):
    html = admin_client.get(url(Notification, "change", code_message.pk)).content.decode()

    assert "hidden" in html
    assert "***-***-0123" in html


def test_ordinary_notification_body_is_shown(admin_client, alert_message):
    html = admin_client.get(url(Notification, "change", alert_message.pk)).content.decode()

    assert alert_message.body in html
    assert "c***@example.com" in html
    assert alert_message.to not in html


@pytest.mark.parametrize("lookup", ["body__contains", "subject__contains", "to__startswith"])
def test_notification_list_refuses_url_filters_probing_the_message(admin_client, code_message, lookup):
    response = admin_client.get(url(Notification, "changelist"), {lookup: SECRET_CODE[:2]})

    assert response.status_code == 400


def test_notifications_cannot_be_changed(admin_client, code_message):
    response = admin_client.post(url(Notification, "change", code_message.pk), {"status": "sent"})

    assert response.status_code == 403
    code_message.refresh_from_db()
    assert code_message.status == Notification.Status.PENDING


@pytest.mark.parametrize(
    "page_url",
    [
        lambda code: url(OneTimeCode, "changelist"),
        lambda code: url(OneTimeCode, "change", code.pk),
        lambda code: url(Notification, "changelist"),
        lambda code: url(Notification, "change", Notification.objects.get(idempotency_key=f"otc-{code.pk}").pk),
    ],
    ids=["code_list", "code_page", "outbox_list", "outbox_page"],
)
def test_one_time_codes_are_never_shown_nor_their_hash_binding_or_full_destination(admin_client, issued_code, page_url):
    record, code, binding = issued_code

    html = admin_client.get(page_url(record)).content.decode()

    assert "***-***-0188" in html
    assert not re.search(rf"\b{code}\b", html)
    assert record.code_hash not in html
    assert record.binding not in html
    assert binding not in html
    assert record.destination not in html


# --- A card number typed into the User ID box ----------------------------------------------


def test_a_card_number_typed_as_a_user_id_is_masked_on_every_staff_page(client, admin_client, cardholder_with_card):
    _, issued = cardholder_with_card
    client.post(
        reverse("two_factor:login"),
        {"sign_in_view-current_step": "auth", "auth-username": issued.pan, "auth-password": "not-the-password-1"},
    )
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.SIGN_IN_FAILED)
    attempt, failure = AccessAttempt.objects.get(), AccessFailureLog.objects.get()

    pages = {
        page: admin_client.get(page)
        for page in (
            url(SecurityEvent, "changelist"),
            url(SecurityEvent, "change", event.pk),
            url(AccessAttempt, "changelist"),
            url(AccessAttempt, "change", attempt.pk),
            url(AccessFailureLog, "changelist"),
            url(AccessFailureLog, "change", failure.pk),
        )
    }

    assert {page: response.status_code for page, response in pages.items()} == dict.fromkeys(pages, 200)
    html = "".join(response.content.decode() for response in pages.values())
    assert f"•••• {issued.pan[-4:]}" in html
    assert issued.pan not in html
    assert "not-the-password-1" not in html  # axes keeps the POST as sent: its "Form Data" is not shown


@pytest.mark.parametrize("lookup", ["post_data__contains", "get_data__contains"])
def test_failed_attempt_list_refuses_url_filters_probing_what_was_posted(admin_client, lookup):
    response = admin_client.get(url(AccessAttempt, "changelist"), {lookup: "auth-password"})

    assert response.status_code == 400


# --- Date hierarchies ------------------------------------------------------------------------


def date_hierarchy_admins() -> list[str]:
    """Every registered ModelAdmin with a date hierarchy, as "app_label.model"."""
    return sorted(
        model._meta.label_lower for model, model_admin in admin.site._registry.items() if model_admin.date_hierarchy
    )


def test_the_date_hierarchy_check_finds_every_console_list_with_dates():
    assert {
        "security.securityevent",
        "axes.accessattempt",
        "cards.transaction",
        "cards.payment",
        "cards.processorevent",
        "statements.statement",
    } <= set(date_hierarchy_admins())


@pytest.mark.parametrize("label", date_hierarchy_admins())
@pytest.mark.parametrize(
    "far",
    [
        {"year": "9999", "month": "12", "day": "31"},  # the next day is past datetime's range
        {"year": "9999", "month": "12"},  # so is the next month
        {"year": "9999"},  # and the next year
        {"year": "99999999999999999999"},  # beyond a C long: OverflowError, not ValueError
    ],
    ids=["last-day", "last-month", "last-year", "huge-year"],
)
def test_every_date_hierarchy_refuses_far_dates_with_a_redirect_not_a_500(admin_client, label, far):
    model = apps.get_model(label)
    field = admin.site._registry[model].date_hierarchy
    changelist = url(model, "changelist")
    admin_client.raise_request_exception = False

    response = admin_client.get(changelist, {f"{field}__{part}": value for part, value in far.items()})

    assert response.status_code == 302
    assert response["Location"] == f"{changelist}?e=1"


def test_a_date_hierarchy_still_filters_by_an_ordinary_day(admin_client, event):
    today = timezone.localdate()

    response = admin_client.get(
        url(SecurityEvent, "changelist"),
        {"created_at__year": today.year, "created_at__month": today.month, "created_at__day": today.day},
    )

    assert response.status_code == 200
    assert event in response.context["cl"].result_list
