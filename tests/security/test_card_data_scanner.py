"""The card-data scanner (security/carddata_scan.py), its command and its pytest plugin."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from django.core.mail import send_mail
from django.core.management import CommandError, call_command

from cards import cardnumbers
from security import carddata_scan
from security.models import Notification, SecurityEvent
from security.services import notify, security_event_record
from security.sms import FileSMSBackend
from tests.factories import TransactionFactory, UserFactory, issue_card, open_account

REPO = Path(__file__).resolve().parents[2]

# These tests put card numbers and card IDs where they must never be, to prove the scanner
# finds them: the plugin that runs the scanner over the suite leaves them alone.
pytestmark = pytest.mark.card_data_planted


def grouped(pan: str) -> str:
    """As printed on the card: 4-6-5."""
    return f"{pan[:4]} {pan[4:10]} {pan[10:]}"


def luhn_run(prefix: str, length: int) -> str:
    """A Luhn-valid digit run (what a careless rule would take for a card number)."""
    body = (prefix + "1234567890" * 2)[: length - 1]
    return body + cardnumbers.luhn_check_digit(body)


@pytest.fixture
def card(db):
    user = UserFactory()
    return issue_card(account=open_account(holder=user.cardholder))


def witness_of(*issued) -> carddata_scan.Witness:
    return carddata_scan.Witness(
        cards=[carddata_scan.WitnessCard(pan=i.pan, card_id=i.card_id, pk=str(i.card.pk)) for i in issued]
    )


def scan_db(witness=None) -> carddata_scan.Scanner:
    scanner = carddata_scan.Scanner(witness)
    scanner.scan_database()
    return scanner


def assert_masked(scanner: carddata_scan.Scanner, *secrets: str) -> None:
    text = "\n".join(str(finding) for finding in scanner.findings)
    for secret in secrets:
        assert secret not in text


# --- Card numbers -----------------------------------------------------------------------------


def test_a_card_number_in_a_text_column_is_found_by_luhn_alone(db):
    pan = cardnumbers.generate_pan()
    notification = notify(
        channel=Notification.Channel.EMAIL,
        to="a@example.com",
        kind="test",
        body=f"Card {pan} charged",
        idempotency_key="k1",
    )

    scanner = scan_db()

    assert [(f.location, f.kind, f.masked) for f in scanner.findings] == [
        (f"security_notification.body pk={notification.pk}", "card number (Luhn-valid)", f"•••• {pan[-4:]}")
    ]
    assert_masked(scanner, pan)


def test_a_card_number_in_a_json_column_is_found(db):
    pan = cardnumbers.generate_pan()
    event = security_event_record(kind=SecurityEvent.Kind.CARD_ACTIVATED, detail={"typed": grouped(pan)})

    scanner = scan_db()

    assert [f.location for f in scanner.findings] == [f"security_securityevent.detail pk={event.pk}"]
    assert scanner.findings[0].masked == f"•••• {pan[-4:]}"


def test_a_witnessed_card_number_is_found_even_inside_other_characters(card):
    # No word boundary: only the witness rule can see it.
    text = f"ref=X{card.pan}Y"
    scanner = carddata_scan.Scanner(witness_of(card))

    scanner.scan_text(text, location="here")

    assert [(f.kind, f.masked) for f in scanner.findings] == [
        ("card number (issued in this run)", f"•••• {card.pan[-4:]}")
    ]
    assert carddata_scan.Scanner().scan_text(text, location="here") == 0


def test_a_card_number_in_a_log_file_is_found_with_its_line(tmp_path):
    pan = luhn_run("379764", 15)
    log = tmp_path / "portal.log"
    log.write_text(
        f"2026-11-28 10:15:00,123 INFO cards nothing\n2026-11-28 10:15:01,001 INFO cards card {grouped(pan)}\n"
    )
    scanner = carddata_scan.Scanner()

    scanner.scan_path(tmp_path)

    assert [str(f) for f in scanner.findings] == [f"{log}:2: card number (Luhn-valid) •••• {pan[-4:]}"]


def test_a_card_number_in_a_pdf_is_found(tmp_path):
    from statements.pdf import html_to_pdf

    pan = luhn_run("37", 15)
    (tmp_path / "statement.pdf").write_bytes(html_to_pdf(f"<p>Statement</p><p>Card number {pan}</p>"))
    scanner = carddata_scan.Scanner()

    scanner.scan_path(tmp_path)

    assert [(f.location, f.masked) for f in scanner.findings] == [
        (f"{tmp_path / 'statement.pdf'} (PDF text):2", f"•••• {pan[-4:]}")
    ]
    assert scanner.stats.pdfs == 1


def test_a_card_number_in_an_email_in_the_outbox_is_found(settings, tmp_path):
    settings.EMAIL_BACKEND = "portal.mail.DevelopmentEmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "email"
    pan = cardnumbers.generate_pan()
    # Non-ASCII text makes Django encode the body; the scanner reads it decoded too.
    send_mail("Your card", f"Thanks — your card {pan} is on its way. " + "é" * 300, None, ["a@example.com"])
    scanner = carddata_scan.Scanner()

    scanner.scan_path(tmp_path)

    assert scanner.findings, "the email's card number was not found"
    assert {f.masked for f in scanner.findings} == {f"•••• {pan[-4:]}"}
    assert all(str(tmp_path / "email") in f.location for f in scanner.findings)


def test_a_card_number_in_a_text_message_file_is_found(settings, tmp_path):
    settings.SMS_FILE_PATH = tmp_path / "sms"
    pan = cardnumbers.generate_pan()
    FileSMSBackend().send(to="+12025550100", body=f"Card {pan} frozen", idempotency_key="sms-1")
    scanner = carddata_scan.Scanner()

    scanner.scan_path(tmp_path)

    assert [f.masked for f in scanner.findings] == [f"•••• {pan[-4:]}"]
    assert "sms" in scanner.findings[0].location


def test_binary_files_are_skipped_and_counted(tmp_path):
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01" + luhn_run("37", 15).encode())
    scanner = carddata_scan.Scanner()

    scanner.scan_path(tmp_path)

    assert (scanner.stats.binaries_skipped, scanner.findings) == (1, [])


# --- Card IDs ---------------------------------------------------------------------------------


def test_a_card_id_after_a_label_is_found(card):
    scanner = carddata_scan.Scanner(witness_of(card))

    scanner.scan_text(f"line one\nActivation failed, CID given: {card.card_id}", location="f.log", line_numbers=True)

    assert [(f.location, f.kind, f.masked) for f in scanner.findings] == [
        ("f.log:2", "card ID (after the label 'CID')", "••••")
    ]
    assert_masked(scanner, card.card_id)


def test_a_card_id_far_from_a_label_or_without_one_is_not_flagged(card):
    scanner = carddata_scan.Scanner(witness_of(card))

    scanner.scan_text(f"card id: see the long explanation further on {card.card_id}", location="x")
    scanner.scan_text(f"Order {card.card_id} shipped", location="y")

    assert scanner.findings == []


def test_a_card_id_as_a_whole_database_cell_is_found_but_not_in_code_columns(card):
    notification = notify(
        channel=Notification.Channel.EMAIL,
        to="a@example.com",
        kind="t",
        subject=card.card_id,
        body="hi",
        idempotency_key="k2",
    )
    TransactionFactory(card=card.card, mcc=card.card_id)  # a merchant category code may equal any 4 digits

    scanner = scan_db(witness_of(card))

    assert [(f.location, f.kind) for f in scanner.findings] == [
        (f"security_notification.subject pk={notification.pk}", "card ID (the whole cell)")
    ]


def test_a_card_id_beside_its_own_cards_last_4_is_found(card):
    scanner = carddata_scan.Scanner(witness_of(card))

    scanner.scan_text(f"Your card •••• {card.pan[-4:]} is ready. Code {card.card_id}.", location="email")

    assert [f.kind for f in scanner.findings] == ["card ID (beside its card's last 4)"]


def test_beside_means_near_its_cards_last_4_not_anywhere_on_the_page():
    # A business list of 50 cards shows every last 4; a 4-digit id far from a card's
    # last 4 that happens to equal its card ID is not that card ID (it was a CI failure
    # on PostgreSQL, whose ids reach four digits).
    own = carddata_scan.WitnessCard(pan="379764111114321", card_id="8642")
    scanner = carddata_scan.Scanner(carddata_scan.Witness(cards=[own]))
    far = "x" * (carddata_scan.BESIDE_WINDOW + 1)

    scanner.scan_text(f"<td>•••• {own.last4}</td>{far}<td>Request 8642</td>", location="page")
    scanner.scan_text(f"<td>Request 8642</td>{far}<td>•••• {own.last4}</td>", location="page")
    assert scanner.findings == []

    scanner.scan_text(f"<td>•••• {own.last4}</td><td>Request 8642</td>", location="page")
    assert [f.kind for f in scanner.findings] == ["card ID (beside its card's last 4)"]


def test_an_id_in_a_link_path_or_a_cards_own_pk_is_not_its_card_id_beside_it():
    own = carddata_scan.WitnessCard(pan="379764111114321", card_id="8642", pk="7531")
    other = carddata_scan.WitnessCard(pan="379764222227777", card_id="7531")  # equals own's pk
    scanner = carddata_scan.Scanner(carddata_scan.Witness(cards=[own, other]))

    scanner.scan_text(f'<a href="/business/9/cards/8642/limit/">•••• {own.last4}</a>', location="page")
    scanner.scan_text(f'<option value="7531">•••• {other.last4}</option>', location="page")

    assert scanner.findings == []


def test_a_card_id_that_reads_as_a_year_or_another_cards_last_4_is_not_flagged_beside_its_card():
    own = carddata_scan.WitnessCard(pan="379764111111111", card_id="2026")  # reads as a year
    other = carddata_scan.WitnessCard(pan="379764222222222", card_id="5555")  # reads as the next card
    listed = carddata_scan.WitnessCard(pan="379764333335555", card_id="0001")
    scanner = carddata_scan.Scanner(carddata_scan.Witness(cards=[own, other, listed]))

    scanner.scan_text(
        f"Statement for November 28, 2026. Cards •••• {own.last4}, •••• {other.last4}, •••• 5555.", location="pdf"
    )

    assert scanner.findings == []


def test_a_card_id_equal_to_a_card_pk_after_card_id_is_not_flagged():
    # `card_id=` is also how foreign keys are written: a pk is not a card ID.
    witnessed = carddata_scan.WitnessCard(pan=luhn_run("379764", 15), card_id="1234", pk="1234")
    scanner = carddata_scan.Scanner(carddata_scan.Witness(cards=[witnessed]))

    scanner.scan_text("updated card_id=1234", location="log")

    assert scanner.findings == []


# --- No false positives -------------------------------------------------------------------------


def test_timestamps_amounts_years_digests_and_uuids_are_not_flagged():
    inside_hex = luhn_run("37", 15)
    microseconds = luhn_run("17", 16)  # epoch microseconds: no card network starts with 1
    fraction = luhn_run("37", 15)
    assert all(cardnumbers.luhn_checksum_ok(n) for n in (inside_hex, microseconds, fraction))
    assert carddata_scan.is_our_network(inside_hex) and not carddata_scan.is_our_network(microseconds)
    digest = ("ab" + inside_hex + "cd" + hashlib.sha256(b"x").hexdigest())[:64]
    witnessed = carddata_scan.WitnessCard(pan=luhn_run("379764", 15), card_id="2026")
    text = "\n".join(
        [
            "2026-11-28T10:15:00.123456+00:00 2026-11-28 10:15:00,123",
            f"epoch {microseconds} ms 1764324900123",
            "amount $1,234.56 $2,026.00 12345678901234.56 year 2026 to 2027",
            f"risk 0.{fraction} score 3.{fraction}e-05",
            f"sha256 {digest} {hashlib.sha256(b'card').hexdigest()}",
            f"uuid {uuid.uuid4()} 37976400-1234-5678-9012-345678901234",
            "card_id=17 network id test-00000042 reference A0123456789",
        ]
    )
    scanner = carddata_scan.Scanner(carddata_scan.Witness(cards=[witnessed]))

    scanner.scan_text(text, location="noise", line_numbers=True)

    assert scanner.findings == []


# --- The command ----------------------------------------------------------------------------------


def test_the_command_reports_masked_findings_and_fails(db, tmp_path, capsys):
    pan = cardnumbers.generate_pan()
    notify(channel=Notification.Channel.SMS, to="+12025550100", kind="t", body=f"card {pan}", idempotency_key="k3")
    (tmp_path / "app.log").write_text(f"oops {pan}\n")

    with pytest.raises(CommandError, match=r"2 finding\(s\)"):
        call_command("scan_card_data", "--path", str(tmp_path), "--witness", "")

    out = capsys.readouterr()
    assert pan not in out.out + out.err
    assert out.err.count(f"•••• {pan[-4:]}") == 2
    assert "security_notification.body" in out.err and "app.log:1" in out.err


def test_the_command_passes_a_clean_database_and_folder(card, tmp_path, capsys):
    witness = tmp_path.parent / f"{tmp_path.name}-witness.jsonl"
    witness.write_text(json.dumps({"pan": card.pan, "card_id": card.card_id, "pk": card.card.pk}) + "\n")
    (tmp_path / "app.log").write_text(f"card •••• {card.pan[-4:]} activated\n")

    call_command("scan_card_data", "--path", str(tmp_path), "--witness", str(witness))

    assert "No card numbers or card IDs found." in capsys.readouterr().out


def test_the_command_explains_a_missing_witness_file(db):
    with pytest.raises(CommandError, match="No witness file at /nonexistent"):
        call_command("scan_card_data", "--witness", "/nonexistent/witness.jsonl")


def test_the_database_is_read_in_chunks(db):
    pans = [cardnumbers.generate_pan() for _ in range(3)]
    for number in range(25):
        body = f"card {pans[number // 10]}" if number % 10 == 9 else f"message {number}"
        notify(
            channel=Notification.Channel.EMAIL, to="a@example.com", kind="t", body=body, idempotency_key=f"c{number}"
        )
    scanner = carddata_scan.Scanner()

    scanner.scan_database(tables=["security_notification"], chunk_size=4)

    assert scanner.stats.rows == 25
    assert sorted(f.masked for f in scanner.findings) == sorted(f"•••• {p[-4:]}" for p in pans[:2])


# --- The witness hook ------------------------------------------------------------------------------


def test_issued_cards_are_witnessed_when_asked(db, monkeypatch, tmp_path):
    path = tmp_path / "witness.jsonl"
    monkeypatch.setenv(carddata_scan.WITNESS_ENV, str(path))
    user = UserFactory()

    issued = issue_card(account=open_account(holder=user.cardholder))

    witness = carddata_scan.Witness.load(path)
    assert [(c.pan, c.card_id, c.pk) for c in witness.cards] == [(issued.pan, issued.card_id, str(issued.card.pk))]


def test_nothing_is_witnessed_without_the_variable(db, monkeypatch, tmp_path):
    monkeypatch.delenv(carddata_scan.WITNESS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    user = UserFactory()

    issue_card(account=open_account(holder=user.cardholder))

    assert list(tmp_path.iterdir()) == []


# --- The pytest plugin -----------------------------------------------------------------------------

LEAKY_TEST = """
import logging

from cards import cardnumbers


def test_logs_a_card_number():
    logging.getLogger("leaky").info("charging card %s", cardnumbers.generate_pan())
"""

CAREFUL_TEST = """
import logging

from cards import cardnumbers


def test_logs_a_masked_card_number():
    logging.getLogger("careful").info("charging card %s", cardnumbers.mask_pan(cardnumbers.generate_pan()))
"""


def run_pytest(tmp_path: Path, source: str, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_subject.py").write_text(textwrap.dedent(source))
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "CARD_DATA_SCAN_DIR": str(tmp_path / "scan"),
        "VAR_DIR": str(tmp_path / "var"),
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.carddata_plugin", "-p", "no:cacheprovider", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_leaking_log_line_fails_the_session(tmp_path):
    result = run_pytest(tmp_path, LEAKY_TEST, "-n", "1")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert "card data found (masked)" in result.stdout
    assert re.search(
        r"test_logs_a_card_number: log record \d+ \(leaky\): card number \(Luhn-valid\) •••• \d{4}\n", result.stdout
    )
    logged = (tmp_path / "scan" / "log-gw0.log").read_text()
    assert "charging card 3797" in logged  # the record, formatted with its arguments, was collected


def test_a_careful_session_passes(tmp_path):
    result = run_pytest(tmp_path, CAREFUL_TEST)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "card-data scan: nothing found" in result.stdout
