from unittest import mock

import pytest
from django.core import mail

from security import services, tasks
from security.models import Notification
from security.sms import DeliveryError
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _notify(key="welcome-1", **kwargs):
    defaults = dict(channel="email", to="ann@example.com", kind="welcome", subject="Welcome", body="Hello Ann")
    defaults.update(kwargs)
    return services.notify(idempotency_key=key, **defaults)


def test_notify_delivers_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notification = _notify()
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.sent_at is not None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ann@example.com"]
    assert mail.outbox[0].extra_headers["Message-ID"] == "<welcome-1@notifications.portal>"


def test_nothing_is_sent_before_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _notify()
    assert len(mail.outbox) == 0
    assert len(callbacks) == 1


def test_same_idempotency_key_stores_and_sends_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = _notify()
        second = _notify(body="Hello again")
    assert first.pk == second.pk
    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1


def test_task_running_twice_delivers_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        notification = _notify()
    tasks.notification_deliver.apply(args=[notification.pk])
    tasks.notification_deliver.apply(args=[notification.pk])
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.attempts == 1


def test_a_claimed_notification_is_not_sent_by_a_second_worker(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        notification = _notify()
    assert services._claim(notification.pk) is True
    assert services.notification_send(notification_id=notification.pk) is False
    assert len(mail.outbox) == 0


def test_sms_is_written_to_the_development_outbox(settings, django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(
            channel="sms",
            to="+12025550123",
            kind="alert",
            body="Card ending 1234: $5.00 at Cafe",
            idempotency_key="sms-1",
            user=user,
        )
    files = list(settings.SMS_FILE_PATH.iterdir())
    assert len(files) == 1
    assert "Card ending 1234" in files[0].read_text()


def test_sms_over_160_characters_is_refused():
    with pytest.raises(ValueError, match="160"):
        services.notify(channel="sms", to="+12025550123", kind="alert", body="x" * 161, idempotency_key="long")
    assert Notification.objects.count() == 0


def test_failed_delivery_is_recorded_and_retried_then_sent(django_capture_on_commit_callbacks, settings):
    with django_capture_on_commit_callbacks(execute=False):
        notification = _notify(channel="sms", to="+12025550123", body="hi", key="flaky")
    with (
        mock.patch("security.sms.FileSMSBackend.send", side_effect=DeliveryError("gateway down")),
        pytest.raises(DeliveryError),
    ):
        services.notification_send(notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
    assert notification.last_error == "gateway down"
    assert notification.attempts == 1
    assert services.notification_send(notification_id=notification.pk) is True
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.attempts == 2


def test_exhausted_retries_mark_the_notification_failed(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        notification = _notify(channel="sms", to="+12025550123", body="hi", key="dead")
    with mock.patch("security.sms.FileSMSBackend.send", side_effect=DeliveryError("gateway down")):
        tasks.notification_deliver.apply(args=[notification.pk], retries=tasks.notification_deliver.max_retries)
    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert "gateway down" in notification.last_error


def test_sensitive_body_is_erased_after_delivery(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notification = _notify(key="code-1", body="Your code is 493021", sensitive=True)
    notification.refresh_from_db()
    assert notification.body == services.SCRUBBED_BODY
    assert "493021" in mail.outbox[0].body


def test_sweep_hands_out_waiting_and_stuck_notifications(django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    with django_capture_on_commit_callbacks(execute=False):
        old = _notify(key="old")
        fresh = _notify(key="fresh")
        stuck = _notify(key="stuck")
    Notification.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    Notification.objects.filter(pk=stuck.pk).update(
        status="sending", claimed_at=timezone.now() - timedelta(hours=1), created_at=timezone.now() - timedelta(hours=1)
    )
    assert set(services.notifications_due()) == {old.pk, stuck.pk}
    assert tasks.notification_sweep.apply().get() == 2
    assert {m.extra_headers["Message-ID"] for m in mail.outbox} == {
        "<old@notifications.portal>",
        "<stuck@notifications.portal>",
    }
    assert Notification.objects.get(pk=fresh.pk).status == Notification.Status.PENDING


def test_sensitive_message_given_up_on_keeps_no_code(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        notification = _notify(key="code-dead", subject="Code 771204", body="Your code is 771204", sensitive=True)
    services.notification_mark_failed(notification_id=notification.pk, error="gateway down")
    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert "771204" not in notification.body + notification.subject


def test_security_events_keep_the_user_id_of_a_known_user():
    user = UserFactory()
    event = services.security_event_record(kind="signed_out", user=user)
    assert event.username_attempted == user.username
