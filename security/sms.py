"""Text-message gateways. Development writes messages to files under ``var/outbox/sms``
and to the log; production posts them to an HTTP gateway."""

from __future__ import annotations

import json
import logging
import urllib.request
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A channel could not deliver now; the task retries with back-off."""


class BaseSMSBackend:
    def send(self, *, to: str, body: str, idempotency_key: str) -> None:
        raise NotImplementedError


class FileSMSBackend(BaseSMSBackend):
    def send(self, *, to: str, body: str, idempotency_key: str) -> None:
        directory = Path(settings.SMS_FILE_PATH)
        directory.mkdir(parents=True, exist_ok=True)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
        path = directory / f"{stamp}-{idempotency_key[:40].replace('/', '_')}.txt"
        path.write_text(f"To: {to}\n\n{body}\n")
        print(f"[SMS to {to}] {body}")  # the development console is the phone


class HttpSMSBackend(BaseSMSBackend):
    """Posts JSON to ``SMS_GATEWAY_URL`` with a bearer token. The idempotency key goes in
    a header so a gateway that supports it drops a retried message."""

    timeout = 10

    def send(self, *, to: str, body: str, idempotency_key: str) -> None:
        if not settings.SMS_GATEWAY_URL.startswith("https://"):
            raise DeliveryError("SMS_GATEWAY_URL must be an https:// URL")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            settings.SMS_GATEWAY_URL,
            data=json.dumps({"to": to, "body": body}).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}",
                "Idempotency-Key": idempotency_key,
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310  # nosec B310
                if response.status >= 300:
                    raise DeliveryError(f"SMS gateway answered {response.status}")
        except OSError as exc:
            raise DeliveryError(f"SMS gateway unreachable: {exc.__class__.__name__}") from exc


def get_sms_backend() -> BaseSMSBackend:
    return import_string(settings.SMS_BACKEND)()
