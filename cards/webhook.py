"""The card processor's webhook: authorizations, clearings, reversals and refunds.

Each request is signed: ``X-Processor-Timestamp`` (Unix seconds) and
``X-Processor-Signature``, the hex HMAC-SHA256 of ``timestamp + "." + body`` under
``PROCESSOR_WEBHOOK_SECRET`` (or, while a rotation settles, one of
``PROCESSOR_WEBHOOK_OLD_SECRETS``). A request more than 5 minutes from our clock, or with a
wrong signature, is refused (401) before its body is read as JSON; within the window,
a replay is answered from the stored event (idempotency by ``event_id``).

Every refusal is JSON (``{"error": code, "message": text}``) and changes nothing: 415
for a body not sent as ``application/json``; 400 for a body that is too large, not JSON
or not a valid event; 409/422 for events that
cannot be applied (see cards.processing). The request body is never logged or stored:
it carries the card number.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from decimal import Decimal

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from portal.digits import is_digits

from . import processing

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
TIMESTAMP_TOLERANCE_SECONDS = 5 * 60
TIMESTAMP_HEADER = "X-Processor-Timestamp"
SIGNATURE_HEADER = "X-Processor-Signature"


def signature_for(*, body: bytes, timestamp: str, secret: str | None = None) -> str:
    """The signature the processor sends (and the simulator computes)."""
    key = (secret if secret is not None else settings.PROCESSOR_WEBHOOK_SECRET).encode()
    return hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(*, body: bytes, secret: str | None = None, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature_for(body=body, timestamp=timestamp, secret=secret),
    }


def _error(status: int, code: str, message: str) -> JsonResponse:
    return _json({"error": code, "message": message}, status=status)


def _json(body: dict, *, status: int) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _authentication_problem(request: HttpRequest, body: bytes) -> str:
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not timestamp or not signature:
        return "the request is not signed"
    if not is_digits(timestamp) or len(timestamp) > 12:
        return "the timestamp is not Unix seconds"
    if abs(time.time() - int(timestamp)) > TIMESTAMP_TOLERANCE_SECONDS:
        return "the timestamp is more than 5 minutes from our clock"
    given = signature.strip().lower().encode("ascii", "replace")
    if hmac.compare_digest(signature_for(body=body, timestamp=timestamp).encode(), given):
        return ""
    # During a rotation the processor may still sign with a previous secret.
    for position, secret in enumerate(settings.PROCESSOR_WEBHOOK_OLD_SECRETS, start=1):
        if hmac.compare_digest(signature_for(body=body, timestamp=timestamp, secret=secret).encode(), given):
            logger.info("processor webhook signed with previous secret #%s (PROCESSOR_WEBHOOK_OLD_SECRETS)", position)
            return ""
    return "the signature does not match"


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number")


def _decode(body: bytes):
    # Amounts must not pass through float: JSON numbers become Decimal (or int).
    return json.loads(body.decode("utf-8"), parse_float=Decimal, parse_constant=_reject_constant)


@csrf_exempt
def processor_webhook(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        response = _error(405, "method_not_allowed", "use POST")
        response["Allow"] = "POST"
        return response
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _error(400, "bad_request", "invalid Content-Length")
    if length and request.content_type != "application/json":
        return _error(415, "unsupported_media_type", "send the event as application/json")
    if length > MAX_BODY_BYTES:
        return _error(400, "body_too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return _error(400, "body_too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")

    problem = _authentication_problem(request, body)
    if problem:
        logger.warning("processor webhook refused: %s", problem)
        return _error(401, "unauthenticated", problem)

    try:
        payload = _decode(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _error(400, "invalid_json", "the body is not valid UTF-8 JSON")
    try:
        event = processing.event_parse(payload)
        answer = processing.processor_event_handle(event=event, body_sha256=hashlib.sha256(body).hexdigest())
    except processing.EventError as exc:
        logger.info("processor event refused (%s): %s", exc.code, exc.message)
        return _error(exc.status, exc.code, exc.message)
    return _json(answer.body, status=answer.status)
