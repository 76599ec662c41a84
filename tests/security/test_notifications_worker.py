"""The outbox with a real Celery worker on Redis and PostgreSQL (run by .ci/run)."""

import pytest

from security import services, tasks
from security.models import Notification
from tests.worker import celery_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_real_worker_delivers_a_notification_once_even_when_enqueued_twice(tmp_path):
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    with celery_worker(outbox=outbox):
        notification = services.notify(
            channel="email",
            to="ann@example.com",
            kind="welcome",
            subject="Welcome",
            body="Hello Ann",
            idempotency_key="worker-welcome-1",
        )
        # A duplicate enqueue, as the sweep or a redelivery would make.
        tasks.notification_deliver.delay(notification.pk)

        def sent():
            notification.refresh_from_db()
            return notification.status == Notification.Status.SENT

        assert wait_for(sent), "the worker did not deliver within 30 s"
        # Give the duplicate task time to run and find nothing to do.
        wait_for(lambda: False, timeout=2)
    messages = list((outbox / "email").glob("*.log"))
    assert len(messages) == 1
    assert "Hello Ann" in messages[0].read_text()
    notification.refresh_from_db()
    assert notification.attempts == 1
