"""pytest plugin: the card-data scanner over everything the test suite produces.

Active only when ``CARD_DATA_SCAN_DIR`` is set (``make scan``, ``.ci/run``). Then, in each
process (each pytest-xdist worker):

* every card issued (``cards.services.card_issue``, which the factories, the demo world
  and the views all go through) is witnessed: its number for the whole session, its card
  ID for the test that issued it;
* a root logging handler at DEBUG writes every record, formatted with its arguments, to
  ``log-<worker>.log``; the test's records are also scanned when it ends;
* every response of the Django test client is scanned when it is returned (PDFs through
  ``pdftotext``);
* after each test, the messages in ``django.core.mail.outbox`` (subject, body,
  alternatives, recipients) are appended to ``mail-<worker>.txt`` and the text messages
  the test sent (files under its ``SMS_FILE_PATH``: the file backend's messages and the
  recording backend's ``deliveries.jsonl``) to ``sms-<worker>.txt``; both are scanned, as
  are the test's outbox and media folders (statement PDFs);
* after each test that used the database, before its rollback, every text column of
  every table is scanned (:meth:`security.carddata_scan.Scanner.scan_database`);
* at the end of the session the worker scans its collected files and ``VAR_DIR`` again
  with every number issued in the session, writes its findings to
  ``findings-<worker>.txt``, and the session fails (exit status 1) with a report.

Card IDs are looked for per test, against the cards that test issued (four digits
collide: the session's thousands of card IDs would match ordinary numbers); card numbers
are looked for with the Luhn rule and against every number issued in the session.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import pytest

from security import carddata_scan

SCAN_DIR_ENV = "CARD_DATA_SCAN_DIR"
PLANTED_MARKER = "card_data_planted"
DB_FIXTURES = {
    "_django_db_helper",
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
    "live_server",
}


def _active() -> bool:
    return bool(os.environ.get(SCAN_DIR_ENV))


class _TestRecords(logging.Handler):
    """Keeps the current test's formatted records for the per-test scan."""

    def __init__(self, formatter: logging.Formatter):
        super().__init__(level=logging.DEBUG)
        self.paused = False
        self.setFormatter(formatter)
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.paused:
            return
        try:
            self.lines.append((record.name, self.format(record)))
        except Exception:  # a record that cannot be formatted is not ours to fail on
            self.handleError(record)


class CardDataCollector:
    def __init__(self, config: pytest.Config):
        self.config = config
        self.dir = Path(os.environ[SCAN_DIR_ENV]).resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.is_worker = hasattr(config, "workerinput")
        self.is_controller = False  # known at session start, once pytest-xdist has set up
        self.session_witness = carddata_scan.Witness(check_card_ids=False)
        self.test_witness = carddata_scan.Witness()
        self.findings: list[str] = []
        self.nodeid = ""
        self.log_path = self.dir / f"log-{self.worker}.log"
        self.mail_path = self.dir / f"mail-{self.worker}.txt"
        self.sms_path = self.dir / f"sms-{self.worker}.txt"
        self.findings_path = self.dir / f"findings-{self.worker}.txt"
        self.witness_path = self.dir / f"witness-{self.worker}.jsonl"
        self._undo: list = []
        self.db_skipped = 0
        self.paused = False  # during tests marked card_data_planted

    # -- set-up ----------------------------------------------------------------------------

    def start(self) -> None:
        self.is_controller = self.config.pluginmanager.hasplugin("dsession")
        if self.is_controller:
            for old in self.dir.glob("findings-*.txt"):
                old.unlink()
            return
        for path in (self.log_path, self.mail_path, self.sms_path, self.findings_path, self.witness_path):
            path.write_text("")
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
        self.file_handler = logging.FileHandler(self.log_path, encoding="utf-8")
        self.file_handler.setLevel(logging.DEBUG)
        self.file_handler.setFormatter(formatter)
        self.file_handler.addFilter(lambda record: not self.paused)
        self.test_handler = _TestRecords(formatter)
        self.root_level = logging.getLogger().level
        self._attach_handlers()
        self._wrap_card_issue()
        self._wrap_client()

    def _attach_handlers(self) -> None:
        # First among the root handlers: the console handler's redaction filter rewrites the
        # record in place, and the scan is about what the code logs, not what the safety
        # net leaves of it. Django's LOGGING (dictConfig) replaces the root handlers:
        # re-attached if it ran again.
        root = logging.getLogger()
        for handler in (self.test_handler, self.file_handler):
            if handler not in root.handlers:
                root.handlers.insert(0, handler)
        root.setLevel(logging.DEBUG)

    def _wrap_card_issue(self) -> None:
        from cards import services

        original = services.card_issue
        collector = self

        @functools.wraps(original)
        def card_issue(*args, **kwargs):
            issued = original(*args, **kwargs)
            collector.witness(pan=issued.pan, card_id=issued.card_id, pk=issued.card.pk)
            return issued

        services.card_issue = card_issue
        self._undo.append(lambda: setattr(services, "card_issue", original))

    def witness(self, *, pan: str, card_id: str, pk) -> None:
        card = carddata_scan.WitnessCard(pan=pan, card_id=card_id, pk=str(pk))
        self.session_witness.add(card)
        self.test_witness.add(card)
        with self.witness_path.open("a", encoding="utf-8") as witness:
            witness.write(f'{{"pan": "{pan}", "card_id": "{card_id}", "pk": "{pk}"}}\n')

    def _wrap_client(self) -> None:
        from django.test import Client

        original = Client.request
        collector = self

        @functools.wraps(original)
        def request(client, **request):
            response = original(client, **request)
            collector.scan_response(request, response)
            return response

        Client.request = request
        self._undo.append(lambda: setattr(Client, "request", original))

    def stop(self) -> None:
        for undo in reversed(self._undo):
            undo()
        if hasattr(self, "file_handler"):
            root = logging.getLogger()
            root.removeHandler(self.file_handler)
            root.removeHandler(self.test_handler)
            root.setLevel(self.root_level)
            self.file_handler.close()

    # -- per test --------------------------------------------------------------------------

    def _scanner(self) -> carddata_scan.Scanner:
        witness = carddata_scan.Witness(cards=list(self.test_witness.cards))
        witness.pans = self.session_witness.pans  # shared, not copied: it includes this test's
        return carddata_scan.Scanner(witness)

    def _report(self, scanner: carddata_scan.Scanner) -> None:
        self.findings.extend(f"{self.nodeid}: {finding}" for finding in scanner.findings)

    def test_start(self, item: pytest.Item) -> None:
        self.nodeid = item.nodeid
        self.test_witness = carddata_scan.Witness()
        self._attach_handlers()
        self.test_handler.lines.clear()
        self.paused = self.test_handler.paused = item.get_closest_marker(PLANTED_MARKER) is not None

    def scan_response(self, request: dict, response) -> None:
        if self.paused or getattr(response, "is_async", False):
            return  # an async streaming body cannot be read here without consuming it for the test
        scanner = self._scanner()
        where = (
            f"response {request.get('REQUEST_METHOD', '?')} {request.get('PATH_INFO', '?')} ({response.status_code})"
        )
        if getattr(response, "streaming", False):
            content = b"".join(response.streaming_content)
            response.streaming_content = [content]
        else:
            content = response.content
        if content.startswith(b"%PDF"):
            scanner.scan_pdf(content, location=where)
        else:
            text = content.decode(getattr(response, "charset", None) or "utf-8", errors="replace")
            scanner.scan_text(text, location=where)
        self._report(scanner)

    def test_end(self, item: pytest.Item) -> None:
        from django.conf import settings

        if self.paused:
            return  # until the next test starts: its teardown's records are left out too
        from django.db import DatabaseError

        scanner = self._scanner()
        for number, (name, line) in enumerate(self.test_handler.lines, start=1):
            scanner.scan_text(line, location=f"log record {number} ({name})")
        self.test_handler.lines.clear()
        self._collect_mail(scanner)
        self._collect_sms(scanner, Path(settings.SMS_FILE_PATH))
        for folder in {Path(settings.OUTBOX_DIR), Path(settings.MEDIA_ROOT)}:
            if _inside_test_tmp(item, folder):  # the shared VAR_DIR is scanned at the end
                scanner.scan_path(folder)
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("django_db"):
            blocker = item._request.getfixturevalue("django_db_blocker")
            with blocker.unblock():
                try:
                    scanner.scan_database(columns=self._columns())
                except DatabaseError:
                    # The test left its transaction unusable (PostgreSQL after an error):
                    # nothing more can be read before the rollback.
                    self.db_skipped += 1
        self._report(scanner)

    def _columns(self) -> dict[str, list[str]]:
        # Introspected once per process: migrations do not change during the session.
        if not hasattr(self, "_column_plan"):
            self._column_plan = carddata_scan.text_columns()
        return self._column_plan

    def _collect_mail(self, scanner: carddata_scan.Scanner) -> None:
        from django.core import mail

        messages = list(getattr(mail, "outbox", []) or [])
        if not messages:
            return
        with self.mail_path.open("a", encoding="utf-8") as out:
            for number, message in enumerate(messages, start=1):
                parts = [
                    f"Subject: {message.subject}",
                    f"To: {', '.join(message.to)}",
                    "",
                    str(message.body),
                    *(str(content) for content, _mimetype in getattr(message, "alternatives", [])),
                ]
                text = "\n".join(parts)
                out.write(f"=== {self.nodeid} email {number}\n{text}\n")
                scanner.scan_text(text, location=f"email {number} to {', '.join(message.to)}")

    def _collect_sms(self, scanner: carddata_scan.Scanner, folder: Path) -> None:
        if not folder.is_dir():
            return
        with self.sms_path.open("a", encoding="utf-8") as out:
            for path in sorted(folder.iterdir()):
                if path.is_file():
                    text = path.read_bytes().decode("utf-8", errors="replace")
                    out.write(f"=== {self.nodeid} {path.name}\n{text}\n")
                    scanner.scan_text(text, location=f"text message {path.name}")

    # -- end of session --------------------------------------------------------------------

    def finish(self, session: pytest.Session) -> None:
        if self.is_controller:
            self.findings = [
                line
                for path in sorted(self.dir.glob("findings-*.txt"))
                for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
        else:
            from django.conf import settings

            self.file_handler.flush()
            scanner = carddata_scan.Scanner(self.session_witness, exclude=[self.witness_path, self.findings_path])
            scanner.scan_paths([self.log_path, self.mail_path, self.sms_path, Path(settings.VAR_DIR)])
            self.findings.extend(f"(end of session) {finding}" for finding in scanner.findings)
            self.findings_path.write_text("".join(f"{line}\n" for line in self.findings), encoding="utf-8")
        if self.findings and not self.is_worker:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _inside_test_tmp(item: pytest.Item, folder: Path) -> bool:
    try:
        base = item.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False
    return folder.resolve().is_relative_to(base.resolve())


_COLLECTOR_KEY = pytest.StashKey[CardDataCollector]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{PLANTED_MARKER}: the test plants card data on purpose (the scanner's own tests); "
        "the card-data plugin does not watch it",
    )
    if _active():
        config.stash[_COLLECTOR_KEY] = CardDataCollector(config)


def _collector(config: pytest.Config) -> CardDataCollector | None:
    return config.stash.get(_COLLECTOR_KEY, None)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    collector = _collector(session.config)
    if collector is not None:
        collector.start()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    collector = _collector(item.config)
    if collector is not None and not collector.is_controller:
        collector.test_start(item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    yield
    collector = _collector(item.config)
    if collector is not None and not collector.is_controller:
        # After the test body, before its fixtures (and the database rollback) are torn down.
        try:
            collector.test_end(item)
        except Exception as exc:  # the scan could not finish: say so, and fail the session
            collector.findings.append(f"{item.nodeid}: the card-data scan failed: {exc.__class__.__name__}: {exc}")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    collector = _collector(session.config)
    if collector is not None:
        collector.finish(session)
        collector.stop()


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    collector = _collector(config)
    if collector is None:
        return
    if collector.findings:
        terminalreporter.section("card data found (masked)", red=True, bold=True)
        for line in collector.findings:
            terminalreporter.write_line(line)
        terminalreporter.write_line(
            f"{len(collector.findings)} finding(s): a full card number or card ID reached a log, page, message, "
            f"file or database row. Rules: security/carddata_scan.py. Collected files: {collector.dir}"
        )
    else:
        terminalreporter.write_line(f"card-data scan: nothing found (collected files in {collector.dir})")
