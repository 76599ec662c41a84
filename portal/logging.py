"""Logging: JSON lines in production, plain text in development (``LOG_FORMAT``).

Every line carries the request id (the ``X-Request-ID`` that django-guid reads or makes)
and the signed-in user's primary key, never the User ID (half of a credential) or a
name; in a Celery worker, the task id and name too. The request id travels with the
tasks a request enqueues, so a worker's lines share it.

Both formatters remove card-number-like and code-like values from every line they
write (``redacted_copy``), working on a copy of the record so other handlers still see
what was really logged. It is defence in depth: code must not log them in the first place.

This module is loaded while Django configures logging, before the apps are ready: it
must not import models.
"""

from __future__ import annotations

import contextvars
import copy
import logging
import re
from typing import Any

from django.utils.functional import LazyObject, empty
from django_guid import get_guid
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

from cards.cardnumbers import luhn_checksum_ok

LOG_FORMATS = ("json", "plain")

# The request being served on this thread (set by portal.middleware.RequestLogMiddleware),
# so a log line can name the signed-in user without forcing a session look-up.
_current_request: contextvars.ContextVar[Any] = contextvars.ContextVar("portal_current_request", default=None)


def bind_request(request) -> contextvars.Token:
    return _current_request.set(request)


def unbind_request(token: contextvars.Token) -> None:
    _current_request.reset(token)


def resolved_user_id(request) -> int | None:
    """The signed-in user's pk if the request has already loaded its user, else None.

    ``request.user`` is lazy (and django-otp wraps it in a second lazy object). Logging
    must never be the thing that loads it: that would query the session store, possibly
    while the database is the reason we are logging."""
    user = getattr(request, "__dict__", {}).get("user") if request is not None else None
    while isinstance(user, LazyObject):
        if user._wrapped is empty:
            return None
        user = user._wrapped
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


def _current_task():
    from celery._state import get_current_task

    return get_current_task()


class RequestContextFilter(logging.Filter):
    """Adds request_id, user_id, task_id and task_name to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = get_guid()
        if getattr(record, "user_id", None) is None:
            record.user_id = resolved_user_id(_current_request.get())
        task = _current_task()
        record.task_id = getattr(task.request, "id", None) if task is not None else None
        record.task_name = task.name if task is not None else None
        parts = [
            f"{name}={value}"
            for name, value in (
                ("request", record.request_id),
                ("user", record.user_id),
                ("task", record.task_id),
            )
            if value is not None
        ]
        record.log_context = f" [{' '.join(parts)}]" if parts else ""
        return True


# --- Redaction ------------------------------------------------------------------------
# 15 or 16 digits together, or grouped as printed on cards (4-4-4-4, 4-6-5) by spaces or
# dashes, standing alone: not inside a longer number, a hex request id or a UUID.
_PAN_LIKE = re.compile(r"(?<!\w)(?:\d{15,16}|\d{4}([ -])\d{4}\1\d{4}\1\d{4}|\d{4}([ -])\d{6}\2\d{5})(?!\w)")
# A 6-8 digit value right after a word that names a one-time code or token.
_CODE_LIKE = re.compile(
    r"(?i)\b(?P<word>codes?|otp|one-time|passcode|token|pin|cvv|cvc)\b"
    r"(?P<sep>\W{0,3}(?:is|was|of)?\W{0,3})"
    r"(?P<digits>\d{6,8})(?!\d)"
)
PAN_REPLACEMENT = "[REDACTED-PAN]"
CODE_REPLACEMENT = "[REDACTED]"


def _redact_pan(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return PAN_REPLACEMENT if luhn_checksum_ok(digits) else match.group(0)


def redact(text: str) -> str:
    """Card numbers (Luhn-valid, 15-16 digits) and codes after code/otp/token words."""
    if not any(char.isdigit() for char in text):
        return text
    text = _PAN_LIKE.sub(_redact_pan, text)
    return _CODE_LIKE.sub(lambda m: f"{m.group('word')}{m.group('sep')}{CODE_REPLACEMENT}", text)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(item) for item in value)
    return value


# Left as they are: the record's own fields, and ours (ids, never card data; redacting a
# request id that happens to look like a number would break correlation).
_NOT_REDACTED = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "user_id",
    "task_id",
    "task_name",
    "log_context",
}


def redacted_copy(record: logging.LogRecord) -> logging.LogRecord:
    """A copy of the record with card data removed from its message, extras, traceback
    and stack. The original is left alone: other handlers (a test's card-data scanner,
    caplog) must see what the code really logged, or a leak would be hidden from them."""
    clone = copy.copy(record)
    if isinstance(clone.msg, dict):
        clone.msg = _redact_value(clone.msg)
    else:
        try:
            message = clone.getMessage()
        except Exception:  # a broken format string: leave it for logging to report
            message = None
        if message is not None:
            clone.msg, clone.args = redact(message), None
    for key, value in list(clone.__dict__.items()):
        if key not in _NOT_REDACTED and isinstance(value, (str, dict, list, tuple)):
            setattr(clone, key, _redact_value(value))
    if clone.exc_info:
        # Formatters print exc_text when exc_info is gone: keep only the redacted text.
        clone.exc_text = redact(logging.Formatter().formatException(clone.exc_info))
        clone.exc_info = None
    elif clone.exc_text:
        clone.exc_text = redact(clone.exc_text)
    if clone.stack_info:
        clone.stack_info = redact(clone.stack_info)
    return clone


# --- Formatters -----------------------------------------------------------------------
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s%(log_context)s %(message)s"


class PlainFormatter(logging.Formatter):
    """Development format, card data redacted; tolerates records that skipped the
    context filter."""

    def __init__(self) -> None:
        super().__init__(PLAIN_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record = redacted_copy(record)
        if not hasattr(record, "log_context"):
            record.log_context = ""
        return super().format(record)


class JsonFormatter(BaseJsonFormatter):
    """One JSON object per line, card data redacted: time (UTC, ISO 8601), level,
    logger, message, request_id, user_id, task_id/task_name in a worker, then the
    record's extras (method, path, status, duration_ms on request lines) and exc_info."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message", "request_id", "user_id"],
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            # Django attaches the request object to some records: its repr carries the
            # query string, which may hold search terms.
            reserved_attrs=[*RESERVED_ATTRS, "request", "log_context", "task_id", "task_name"],
        )

    def format(self, record: logging.LogRecord) -> str:
        return super().format(redacted_copy(record))

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        if getattr(record, "task_id", None) is not None:
            log_data["task_id"] = record.task_id
            log_data["task_name"] = record.task_name
        # The time first, for people reading raw lines.
        fields = dict(log_data)
        log_data.clear()
        log_data["time"] = fields.pop("time", None)
        log_data.update(fields)


def default_log_format(*, debug: bool) -> str:
    return "plain" if debug else "json"
