"""Structured logs (portal/logging.py): JSON lines with the request id and user id, the
request line, redaction of card numbers and codes, Celery task ids, LOG_FORMAT."""

import io
import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.urls import reverse

from portal.logging import (
    CODE_REPLACEMENT,
    PAN_REPLACEMENT,
    JsonFormatter,
    PlainFormatter,
    RequestContextFilter,
    redact,
)

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ("SECRET_KEY", "CARD_PAN_HASH_KEY", "CARD_VERIFICATION_KEY", "PROCESSOR_WEBHOOK_SECRET")
# Luhn-valid test numbers (15-digit charge card, 16-digit card) and one that is not.
PAN_15 = "378282246310005"
PAN_16 = "4111111111111111"
NOT_LUHN_16 = "4111111111111112"


@pytest.fixture
def json_lines():
    """Every record from the root logger, through the production handler's filters and
    formatter, as parsed JSON objects."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield lines
    root.removeHandler(handler)
    root.setLevel(old_level)


def _request_lines(lines):
    return [line for line in lines() if line["logger"] == "portal.request"]


# --- The request line ---------------------------------------------------------------------


@pytest.mark.django_db
def test_request_line_has_request_id_method_path_status_duration(client, json_lines):
    response = client.get(reverse("portal:home") + "?q=secret+search+terms")
    (line,) = _request_lines(json_lines)
    assert line["request_id"] == response["X-Request-ID"]
    assert line["method"] == "GET"
    assert line["path"] == "/"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["user_id"] is None
    assert line["level"] == "INFO"
    assert "time" in line
    assert "secret" not in json.dumps(line)  # never the query string


@pytest.mark.django_db
def test_request_line_names_the_user_by_pk_never_by_user_id(client, json_lines, cardholder_with_card):
    user, _ = cardholder_with_card
    client.force_login(user)
    client.get(reverse("cards:list"))
    (line,) = _request_lines(json_lines)
    assert line["user_id"] == user.pk
    assert user.username not in json.dumps(json_lines())


@pytest.mark.django_db
def test_every_line_of_a_request_shares_its_request_id(client, json_lines):
    response = client.get("/no-such-page/")
    ids = {line["request_id"] for line in json_lines()}
    assert response.status_code == 404
    assert ids == {response["X-Request-ID"]}
    assert {line["logger"] for line in json_lines()} >= {"django.request", "portal.request"}


@pytest.mark.django_db
def test_each_request_gets_its_own_request_id(client):
    first = client.get(reverse("portal:home"))["X-Request-ID"]
    second = client.get(reverse("portal:home"))["X-Request-ID"]
    assert first != second
    assert uuid.UUID(first) and uuid.UUID(second)


@pytest.mark.django_db
def test_a_valid_request_id_from_the_proxy_is_kept(client):
    given = uuid.uuid4().hex
    assert client.get(reverse("portal:home"), HTTP_X_REQUEST_ID=given)["X-Request-ID"] == given


@pytest.mark.django_db
def test_a_request_id_that_is_not_a_uuid_is_replaced(client, json_lines):
    forged = "abc\ninjected log line"
    response = client.get(reverse("portal:home"), HTTP_X_REQUEST_ID=forged)
    assert response["X-Request-ID"] != forged
    assert uuid.UUID(response["X-Request-ID"])
    assert "injected" not in json.dumps(_request_lines(json_lines))


@pytest.mark.django_db
def test_logging_never_loads_the_user_itself(client, rf, settings, cardholder_with_card, django_assert_num_queries):
    from django.contrib.auth.middleware import AuthenticationMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware
    from django_otp.middleware import OTPMiddleware

    from portal.logging import resolved_user_id

    user, _ = cardholder_with_card
    client.force_login(user)
    request = rf.get("/")
    request.COOKIES[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    SessionMiddleware(lambda r: None).process_request(request)
    AuthenticationMiddleware(lambda r: None).process_request(request)
    OTPMiddleware(lambda r: None)(request)
    # Still lazy: a log line must not be what loads it (the database may be down).
    with django_assert_num_queries(0):
        assert resolved_user_id(request) is None
    assert request.user.is_authenticated  # the view loads it
    with django_assert_num_queries(0):
        assert resolved_user_id(request) == user.pk


# --- Redaction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        f"card {PAN_16} declined",
        f"card {PAN_15} declined",
        "card 4111 1111 1111 1111 declined",
        "card 4111-1111-1111-1111 declined",
        "card 3782 822463 10005 declined",
    ],
)
def test_card_numbers_are_redacted(text):
    assert redact(text) == f"card {PAN_REPLACEMENT} declined"


@pytest.mark.parametrize(
    "text",
    [
        f"network id {NOT_LUHN_16}",  # not a card number
        "transaction 41111111111111110000 posted",  # longer digit runs are ids, not cards
        "amount 1234.56 on 2026-11-28",
        "card ending 1111",
    ],
)
def test_other_numbers_are_left_alone(text):
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Your code is 123456", f"Your code is {CODE_REPLACEMENT}"),
        ("otp=12345678", f"otp={CODE_REPLACEMENT}"),
        ("token: 6543210", f"token: {CODE_REPLACEMENT}"),
        ("one-time code 246810 sent", f"one-time code {CODE_REPLACEMENT} sent"),
        ('{"code": "135790"}', f'{{"code": "{CODE_REPLACEMENT}"}}'),
        ("passcode was 998877", f"passcode was {CODE_REPLACEMENT}"),
    ],
)
def test_codes_after_code_words_are_redacted(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", ["code 12345 (five digits)", "user 123456 signed in", "code 123456789"])
def test_other_digits_near_code_words_are_left_alone(text):
    assert redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "request 4111111111111111ab0c9d2e3f4a5b6c",  # a hex request id with a long digit run
        "task 41111111-1111-1111-1111-111111111111 received",  # a UUID made of digits
        "card4111111111111111x",  # glued to letters: not a card number on its own
    ],
)
def test_ids_that_contain_digit_runs_are_left_alone(text):
    assert redact(text) == text


def test_the_request_id_field_is_never_rewritten(json_lines):
    logging.getLogger("portal.test").info("line", extra={"request_id": PAN_16})
    assert json_lines()[-1]["request_id"] == PAN_16


# Logs a card number on purpose, to prove the formatters redact it: the card-data
# scanner (tests/carddata_plugin.py) does not watch this test.
@pytest.mark.card_data_planted
def test_redaction_covers_arguments_extras_and_tracebacks(json_lines):
    logger = logging.getLogger("portal.test")
    logger.info("declined %s", PAN_16, extra={"detail": f"pan={PAN_15}", "nested": {"code": "otp 123456"}})
    try:
        raise ValueError(f"bad card {PAN_16}")
    except ValueError:
        logger.exception("failed with code 654321")
    first, second = json_lines()
    everything = json.dumps(json_lines())
    assert PAN_16 not in everything and PAN_15 not in everything
    assert "123456" not in everything and "654321" not in everything
    assert first["message"] == f"declined {PAN_REPLACEMENT}"
    assert first["detail"] == f"pan={PAN_REPLACEMENT}"
    assert "ValueError: bad card " + PAN_REPLACEMENT in second["exc_info"]


# Logs a card number on purpose, to prove the formatters redact it: the card-data
# scanner (tests/carddata_plugin.py) does not watch this test.
@pytest.mark.card_data_planted
def test_redaction_leaves_the_record_alone_for_other_handlers(json_lines, caplog):
    # A card-data scanner in the tests (or caplog) must see what the code really logged.
    logging.getLogger("portal.test").warning("declined %s", PAN_16)
    assert json_lines()[-1]["message"] == f"declined {PAN_REPLACEMENT}"
    assert caplog.records[-1].getMessage() == f"declined {PAN_16}"


def test_plain_format_redacts_too():
    record = logging.LogRecord("portal.test", logging.INFO, __file__, 1, "otp is %s for %s", ("123456", PAN_15), None)
    line = PlainFormatter().format(record)
    assert line.endswith(f"portal.test otp is {CODE_REPLACEMENT} for {PAN_REPLACEMENT}")
    assert record.getMessage() == f"otp is 123456 for {PAN_15}"


# --- Celery ---------------------------------------------------------------------------------


def test_task_log_lines_carry_the_task_id_and_name(json_lines):
    app = Celery("logging-test", set_as_current=False)
    app.conf.task_always_eager = True

    @app.task(name="tests.log_something")
    def log_something():
        logging.getLogger("portal.test").info("inside the task")

    result = log_something.delay()
    (line,) = [line for line in json_lines() if line["message"] == "inside the task"]
    assert line["task_id"] == result.id
    assert line["task_name"] == "tests.log_something"


def test_lines_outside_tasks_have_no_task_fields(json_lines):
    logging.getLogger("portal.test").info("plain line")
    (line,) = json_lines()
    assert "task_id" not in line
    assert line["request_id"] is None and line["user_id"] is None


# --- LOG_FORMAT ----------------------------------------------------------------------------


def _log_from_a_fresh_process(tmp_path, **env_overrides):
    env = {
        k: v for k, v in os.environ.items() if k not in SECRETS and k not in ("DJANGO_SETTINGS_MODULE", "LOG_FORMAT")
    }
    env.update({name: "x" * 50 for name in SECRETS})
    env.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "VAR_DIR": str(tmp_path / "var"), **env_overrides})
    code = (
        "import django, logging; django.setup(); "
        f"logging.getLogger('portal.check').warning('card {PAN_16} code is 123456')"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_production_logs_json_by_default(tmp_path):
    result = _log_from_a_fresh_process(tmp_path, DEBUG="false")
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["logger"] == "portal.check"
    assert line["level"] == "WARNING"
    assert {"request_id", "user_id", "time"} <= set(line)
    assert PAN_16 not in result.stderr and "123456" not in result.stderr


def test_development_logs_plain_text_by_default(tmp_path):
    result = _log_from_a_fresh_process(tmp_path, DEBUG="true")
    assert result.returncode == 0, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "WARNING portal.check card " + PAN_REPLACEMENT in last
    assert not last.startswith("{")


def test_log_format_can_be_chosen_and_is_checked(tmp_path):
    plain = _log_from_a_fresh_process(tmp_path, DEBUG="false", LOG_FORMAT="plain")
    assert plain.returncode == 0, plain.stderr
    assert not plain.stderr.strip().splitlines()[-1].startswith("{")
    wrong = _log_from_a_fresh_process(tmp_path, DEBUG="false", LOG_FORMAT="xml")
    assert wrong.returncode != 0
    assert "LOG_FORMAT must be json or plain" in wrong.stderr
