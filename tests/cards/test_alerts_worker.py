"""Alerts survive a worker dying mid-delivery, and still arrive exactly once: a real
Celery worker on Redis and PostgreSQL (run by .ci/run with CELERY_BROKER_URL) is killed
with SIGKILL while it holds a text message in a slow gateway; a new worker takes over.

Two things bring the message back: the broker re-delivers the unacknowledged task
(``acks_late``; after Redis' visibility timeout, seconds in this test), and the outbox
sweep hands out a message whose claim went stale. Either may run first, and both run:
the claim step in security.services lets only one of them send."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from cards.models import AlertPreference
from security import services
from security.models import Notification
from security.tasks import notification_sweep
from tests.cards.conftest import event
from tests.cards.payments_helpers import handle
from tests.worker import celery_worker, require_worker_stack, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PURCHASES = ("61.00", "72.50", "88.25")


def _deliveries(sms_dir) -> list[str]:
    log = sms_dir / "deliveries.jsonl"
    return re.findall(r'"key": "([^"]+)"', log.read_text()) if log.exists() else []


def _task_ids(log_path, state: str) -> set[str]:
    text = log_path.read_text() if log_path.exists() else ""
    return set(re.findall(r"notification_deliver\[([0-9a-f-]+)\] " + state, text))


def test_killing_the_worker_mid_delivery_loses_no_alert_and_sends_none_twice(charge_card, tmp_path):
    require_worker_stack()
    user = charge_card.card.holder.user
    user.phone, user.phone_verified_at = "+12025550199", timezone.now()
    user.save(update_fields=["phone", "phone_verified_at"])
    AlertPreference.objects.create(user=user, kind="purchase_over", email=True, sms=True, threshold=Decimal("50.00"))
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    sms_dir = outbox / "sms"
    queue = f"test-alerts-{uuid.uuid4().hex[:8]}"
    worker_env = {
        "SMS_BACKEND": "tests.cards.sms_backends.RecordingSMSBackend",
        "DJANGO_SETTINGS_MODULE": "tests.cards.settings_alerts_worker",
    }

    with celery_worker(outbox=outbox, queue=queue, extra_env=worker_env | {"SMS_SLOW_SECONDS": "120"}) as first:
        for amount in PURCHASES:
            handle(event(card=charge_card, amount=amount))  # commits: alerts go to the broker
        # The first text reaches the (slow) gateway: the worker holds that task, unacknowledged.
        assert wait_for(lambda: list(sms_dir.glob("started-*")), timeout=60), "no text reached the gateway"
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    killed_log = next(tmp_path.glob(f"worker-{queue}-1.log"))
    held = _task_ids(killed_log, "received") - _task_ids(killed_log, "succeeded")
    assert len(held) == 1, "the killed worker should have died holding one task"
    stuck = Notification.objects.get(status=Notification.Status.SENDING)
    assert stuck.channel == "sms" and _deliveries(sms_dir) == []

    # Ten minutes pass for the dead worker's claim (STALE_CLAIM): the sweep may take it.
    Notification.objects.filter(pk=stuck.pk).update(
        claimed_at=timezone.now() - services.STALE_CLAIM - dt.timedelta(seconds=1)
    )
    with celery_worker(outbox=outbox, queue=queue, extra_env=worker_env):
        notification_sweep.delay()
        done = wait_for(lambda: not Notification.objects.exclude(status=Notification.Status.SENT).exists(), timeout=90)
        assert done, list(Notification.objects.values_list("kind", "channel", "status", "last_error"))
        # The broker hands the killed worker's task out again (acks_late): it finds the
        # message already sent and does nothing.
        second_log = next(tmp_path.glob(f"worker-{queue}-2.log"))
        redelivered = wait_for(lambda: held <= _task_ids(second_log, "succeeded"), timeout=60)
        assert redelivered, "the unacknowledged task was not delivered again"

    texts = Notification.objects.filter(channel="sms")
    emails = Notification.objects.filter(channel="email")
    assert texts.count() == emails.count() == len(PURCHASES)
    assert sorted(_deliveries(sms_dir)) == sorted(texts.values_list("idempotency_key", flat=True))
    sent_emails = [path.read_text() for path in (outbox / "email").glob("*.log")]
    assert sum(text.count("Subject: Purchase alert") for text in sent_emails) == len(PURCHASES)
    for amount in PURCHASES:
        assert sum(f"${amount}" in text for text in sent_emails) == 1
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}
