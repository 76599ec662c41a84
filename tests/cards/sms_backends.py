"""Text-message backends for the alert tests, chosen with SMS_BACKEND (a setting, or the
environment of a real worker).

``RecordingSMSBackend`` appends each delivery (idempotency key, recipient, body) as a
JSON line to ``deliveries.jsonl`` in SMS_FILE_PATH, so a test can count deliveries.
With SMS_SLOW_SECONDS set in the environment it first writes ``started-<key>`` and
sleeps that long: a worker killed meanwhile has taken the message and not sent it.
``FailingSMSBackend`` always fails, as a gateway that is down.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from django.conf import settings

from security.sms import BaseSMSBackend, DeliveryError


def deliveries_file() -> Path:
    folder = Path(settings.SMS_FILE_PATH)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "deliveries.jsonl"


def deliveries() -> list[dict]:
    path = deliveries_file()
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


class RecordingSMSBackend(BaseSMSBackend):
    def send(self, *, to: str, body: str, idempotency_key: str) -> None:
        slow = float(os.environ.get("SMS_SLOW_SECONDS", "0") or 0)
        if slow:
            (deliveries_file().parent / f"started-{idempotency_key}").write_text(str(os.getpid()))
            time.sleep(slow)
        with deliveries_file().open("a") as log:
            log.write(json.dumps({"key": idempotency_key, "to": to, "body": body}) + "\n")


class FailingSMSBackend(BaseSMSBackend):
    def send(self, *, to: str, body: str, idempotency_key: str) -> None:
        raise DeliveryError("SMS gateway unreachable: ConnectionRefusedError")
