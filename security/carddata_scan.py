"""Card-data scanner: finds full card numbers (PANs) and card IDs (CIDs) where they must
never be: database rows, log files, stored files (PDFs through ``pdftotext``), emails and
text messages. ``manage.py scan_card_data`` runs it; ``tests/carddata_plugin.py`` runs it
during the test suite; ``.ci/scan-card-data`` runs it after ``seed_demo`` and
``simulate_activity``. Findings name where (``table.column pk=…``, ``file:line``, a
message) and what, and show only the last 4 digits of the value.

Rules
=====

Card numbers (PAN), two rules:

(a) **Luhn**: a run of 15 or 16 digits, written contiguously or in the groups printed on
    cards (4-6-5 or 4-4-4-3 for 15 digits, 4-4-4-4 for 16) with one space or hyphen
    between groups (the same one throughout), is reported when

    * it is bounded by characters that are neither letters nor digits (so runs of digits
      inside hex digests, UUIDs, tokens or longer numbers do not count), and it is not
      the fraction or integer part of a decimal number (no ``1.`` before, no ``.5`` after:
      floats such as risk scores are not card numbers);
    * it starts with an issuer prefix (IIN) of the networks a cardholder could hold or
      type: 15 digits under ``34``/``37`` (American Express, where our issuer BIN
      ``settings.CARD_ISSUER_BIN`` sits; ``cards.cardnumbers`` issues 15-digit numbers
      under it) or under ``CARD_ISSUER_BIN`` itself; 16 digits under ``4`` (Visa),
      ``51``-``55`` and ``2221``-``2720`` (Mastercard), ``6011``, ``644``-``649``, ``65``
      (Discover). This keeps out timestamps (epoch microseconds start with ``1``),
      sequence numbers and other ids;
    * it passes the Luhn check (one random digit run in ten would).

(b) **Known**: every card number in the witness (see below), found anywhere, even glued to
    letters or other digits: every run of digits (spaces and hyphens between digits are
    ignored) is searched for each witnessed number.

Card IDs (CID, 4 digits, only with a witness): four digits alone are everywhere (years,
amounts, codes), so a witnessed card's CID counts only as a *token* (four digits not
touching other letters or digits), and only in one of these three situations:

(c) **Exact cell**: a text database cell whose whole (trimmed) value is the CID, except in
    columns that hold other 4-digit codes by design (``mcc``, ``last4``, ``first6`` and
    names ending in ``_mcc``/``_last4``).
(d) **Label**: the token begins within 24 characters after a label: ``card id``,
    ``card_id``, ``card-id``, ``cardid``, ``cid``, ``security code``, ``cvv``, ``cvc``,
    ``csc`` (any case). A value equal to the database id (pk) of a witnessed card is not
    reported by this rule, because ``card_id=1234`` is also how foreign keys are named.
(e) **Beside its own card**: the token appears in the same text as the last 4 digits of
    that card's own number (as a token too: ``•••• 1234``), and is not part of a decimal
    number, a date or a time (no ``.``, ``,``, ``:``, ``/`` or ``-`` joining it to other
    digits). A CID equal to the last 4 of any witnessed card (its own or another's) is not
    checked by this rule: on a page listing cards it reads as that card's masked number;
    nor are CIDs from 1900 to 2099, which read as years on every statement. "The
    same text" is one database cell, one log line, one email or text message, one page
    or one file (log files and JSON-lines files: one line).

The witness
===========

When the environment variable ``CARD_DATA_WITNESS`` names a file, the places that issue
cards for tests and demo data (``tests/factories.issue_card``, the demo world) append
each issued card as a JSON line: number, CID, last 4, pk (:func:`witness_record`). The
file holds real test card numbers: keep it outside the scanned folders (the scanner skips
it if it is inside). It is never written in production (no variable, no file).
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import shutil

# pdftotext, with a fixed argument list.
import subprocess  # nosec B404
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cards.cardnumbers import luhn_checksum_ok

WITNESS_ENV = "CARD_DATA_WITNESS"
LABEL_WINDOW = 24
BESIDE_WINDOW = 80  # characters between a card ID and its card's last 4 that count as beside it
DEFAULT_CHUNK_SIZE = 2000
MAX_WHOLE_FILE_BYTES = 4 * 1024 * 1024
TEXT_FIELD_TYPES = {"CharField", "TextField", "JSONField", "SlugField", "EmailField", "URLField", "FilePathField"}
LINE_UNIT_SUFFIXES = {".jsonl", ".ndjson"}
EXEMPT_EXACT_COLUMNS = {"mcc", "last4", "first6"}

_PAN_15_PREFIXES = ("34", "37")
_PAN_16_PREFIXES = ("4", "51", "52", "53", "54", "55", "6011", "644", "645", "646", "647", "648", "649", "65")

_PAN_CANDIDATE = re.compile(
    r"""
    (?<![0-9A-Za-z])(?<![0-9][.,])
    (?:
        \d{4}(?P<s1>[ -])\d{6}(?P=s1)\d{5}
      | \d{4}(?P<s2>[ -])\d{4}(?P=s2)\d{4}(?P=s2)\d{3,4}
      | \d{15,16}
    )
    (?![0-9A-Za-z])(?![.,][0-9])
    """,
    re.VERBOSE,
)
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){14,}")
_FOUR_DIGITS = re.compile(r"\d{4}")
_TOKEN = re.compile(r"(?<![0-9A-Za-z])\d{4}(?![0-9A-Za-z])")
_PLAIN_TOKEN = re.compile(r"(?<![0-9A-Za-z])(?<![0-9][.,:/-])\d{4}(?![0-9A-Za-z])(?![.,:/-][0-9])")
_LABEL = re.compile(r"(?<![0-9A-Za-z])(?:card[\s_-]?id|cid|security[\s_-]?code|cvv2?|cvc2?|csc)(?![A-Za-z])", re.I)


def _is_path_segment(text: str, start: int, end: int) -> bool:
    """A token between slashes ("/cards/4821/") is part of a URL path: an object's id."""
    return start > 0 and text[start - 1] == "/" and end < len(text) and text[end] == "/"


def _issuer_bin() -> str:
    try:
        from django.conf import settings

        return str(getattr(settings, "CARD_ISSUER_BIN", "") or "")
    except Exception:  # settings not configured: the standalone scanner still works
        return ""


def is_our_network(number: str) -> bool:
    if len(number) == 15:
        issuer_bin = _issuer_bin()
        return number.startswith(_PAN_15_PREFIXES) or bool(issuer_bin and number.startswith(issuer_bin))
    if len(number) == 16:
        return number.startswith(_PAN_16_PREFIXES) or 2221 <= int(number[:4]) <= 2720
    return False


def mask(value: str) -> str:
    return f"•••• {value[-4:]}" if len(value) > 4 else "••••"


# --- The witness --------------------------------------------------------------------------


@dataclass(frozen=True)
class WitnessCard:
    pan: str
    card_id: str
    pk: str = ""

    @property
    def last4(self) -> str:
        return self.pan[-4:]


def witness_record(*, pan: str, card_id: str, pk: object = None) -> None:
    """Append an issued card to the witness file, when ``CARD_DATA_WITNESS`` names one
    (tests and demo seeding only; a no-op otherwise)."""
    path = os.environ.get(WITNESS_ENV)
    if not path:
        return
    line = json.dumps({"pan": pan, "card_id": card_id, "pk": "" if pk is None else str(pk)}) + "\n"
    # One short write in append mode: lines from parallel processes do not interleave.
    with open(path, "a", encoding="utf-8") as witness:
        witness.write(line)


@dataclass
class Witness:
    cards: list[WitnessCard] = field(default_factory=list)
    check_card_ids: bool = True

    def __post_init__(self) -> None:
        self._index()

    def _index(self) -> None:
        self.pans = {card.pan for card in self.cards}
        self.by_card_id: dict[str, list[WitnessCard]] = {}
        for card in self.cards:
            self.by_card_id.setdefault(card.card_id, []).append(card)
        self.card_pks = {card.pk for card in self.cards if card.pk}
        self.last4s = {card.last4 for card in self.cards}

    def add(self, card: WitnessCard) -> None:
        self.cards.append(card)
        self.pans.add(card.pan)
        self.by_card_id.setdefault(card.card_id, []).append(card)
        if card.pk:
            self.card_pks.add(card.pk)
        self.last4s.add(card.last4)

    @property
    def card_id_rules(self) -> bool:
        return self.check_card_ids and bool(self.by_card_id)

    @classmethod
    def load(cls, path: str | os.PathLike | None, *, check_card_ids: bool = True) -> Witness:
        cards: list[WitnessCard] = []
        if path and Path(path).exists():
            for line in Path(path).read_text(encoding="utf-8").splitlines():
                if line.strip():
                    data = json.loads(line)
                    cards.append(WitnessCard(pan=data["pan"], card_id=data["card_id"], pk=str(data.get("pk") or "")))
        return cls(cards=list(dict.fromkeys(cards)), check_card_ids=check_card_ids)


# --- Findings and the scanner ---------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    location: str
    kind: str
    masked: str

    def __str__(self) -> str:
        return f"{self.location}: {self.kind} {self.masked}"


@dataclass
class ScanStats:
    cells: int = 0
    rows: int = 0
    tables: int = 0
    files: int = 0
    pdfs: int = 0
    pdfs_unreadable: int = 0
    binaries_skipped: int = 0
    texts: int = 0


class Scanner:
    def __init__(self, witness: Witness | None = None, *, exclude: Iterable[str | os.PathLike] = ()):
        self.witness = witness or Witness()
        self.findings: list[Finding] = []
        self.stats = ScanStats()
        self.exclude = {Path(p).resolve() for p in exclude}
        witness_path = os.environ.get(WITNESS_ENV)
        if witness_path:
            self.exclude.add(Path(witness_path).resolve())
        self._seen: set[tuple[str, str, str]] = set()

    # -- text ------------------------------------------------------------------------------

    def _add(self, location: str, kind: str, value: str) -> None:
        key = (location, kind, value[-4:])
        if key not in self._seen:
            self._seen.add(key)
            self.findings.append(Finding(location=location, kind=kind, masked=mask(value)))

    def scan_text(self, text: str, *, location: str, line_numbers: bool = False, exact_cell: bool = False) -> int:
        """Scan one unit of text; returns the number of new findings."""
        before = len(self.findings)
        self.stats.texts += 1
        if not text or not _FOUR_DIGITS.search(text):
            return 0

        def where(offset: int) -> str:
            return f"{location}:{text.count(chr(10), 0, offset) + 1}" if line_numbers else location

        known_spans: list[tuple[int, int]] = []
        if self.witness.pans:
            for match in _DIGIT_RUN.finditer(text):
                digits = re.sub(r"[ -]", "", match.group())
                for length in (15, 16):
                    for start in range(len(digits) - length + 1):
                        if digits[start : start + length] in self.witness.pans:
                            known_spans.append((match.start(), match.end()))
                            self._add(where(match.start()), "card number (issued in this run)", digits[start:][:length])
        for match in _PAN_CANDIDATE.finditer(text):
            digits = re.sub(r"[ -]", "", match.group())
            if any(start <= match.start() < end for start, end in known_spans):
                continue
            if is_our_network(digits) and luhn_checksum_ok(digits):
                self._add(where(match.start()), "card number (Luhn-valid)", digits)

        if self.witness.card_id_rules:
            self._scan_card_ids(text, where=where, exact_cell=exact_cell)
        return len(self.findings) - before

    def _scan_card_ids(self, text: str, *, where, exact_cell: bool) -> None:
        by_card_id = self.witness.by_card_id
        stripped = text.strip()
        if exact_cell and stripped in by_card_id:
            self._add(where(0), "card ID (the whole cell)", stripped)
            return
        for label in _LABEL.finditer(text):
            window_end = label.end() + LABEL_WINDOW
            for token in _TOKEN.finditer(text, label.end(), min(len(text), window_end + 4)):
                if token.start() >= window_end:
                    break
                value = token.group()
                if value in by_card_id and value not in self.witness.card_pks:
                    self._add(where(token.start()), f"card ID (after the label {label.group()!r})", value)
        plain = [
            token
            for token in _PLAIN_TOKEN.finditer(text)
            if token.group() in by_card_id and not _is_path_segment(text, token.start(), token.end())
        ]
        if not plain:
            return
        positions: dict[str, list[int]] = {}
        for token in _TOKEN.finditer(text):
            positions.setdefault(token.group(), []).append(token.start())
        found = set()
        for token in plain:
            value, offset = token.group(), token.start()
            if value in found or value in self.witness.last4s or value.startswith(("19", "20")):
                continue  # already reported, or it reads as a card's masked number or a year
            if value in self.witness.card_pks:
                continue  # a card's own id in a link or a form (the label rule does the same)
            for card in by_card_id[value]:
                # Beside: within a sentence or a table row of it. Anywhere on the page would
                # flag any 4-digit id on a list of 50 cards once one equals a card ID.
                if card.last4 != value and any(
                    abs(at - offset) <= BESIDE_WINDOW for at in positions.get(card.last4, ())
                ):
                    found.add(value)
                    self._add(where(offset), "card ID (beside its card's last 4)", value)
                    break

    # -- database --------------------------------------------------------------------------

    def scan_database(
        self,
        *,
        using: str = "default",
        tables: Iterable[str] | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        columns: dict[str, list[str]] | None = None,
    ) -> None:
        """Every text-like column (char, text, JSON) of every table, read in chunks through
        a server-side cursor where the database has one (never the whole table at once)."""
        from django.db import connections

        connection = connections[using]
        plan = columns if columns is not None else text_columns(using=using, tables=tables)
        for table, names in plan.items():
            self._scan_table(connection, table, names, chunk_size=chunk_size)

    def _scan_table(self, connection, table: str, names: list[str], *, chunk_size: int) -> None:
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            pk = connection.introspection.get_primary_key_column(cursor, table)
        select = [quote(pk) if pk else "NULL"] + [quote(name) for name in names]
        # Table and column names come from introspection, quoted; no value is interpolated.
        sql = f"SELECT {', '.join(select)} FROM {quote(table)}"  # noqa: S608  # nosec B608
        is_session = table == "django_session"
        self.stats.tables += 1
        cursor = connection.chunked_cursor()
        try:
            cursor.execute(sql)
            while True:
                rows = cursor.fetchmany(chunk_size)
                if not rows:
                    break
                for row in rows:
                    self.stats.rows += 1
                    for name, value in zip(names, row[1:], strict=True):
                        if value is None:
                            continue
                        if not isinstance(value, str):
                            value = json.dumps(value, ensure_ascii=False, default=str)
                        self.stats.cells += 1
                        location = f"{table}.{name} pk={row[0]}"
                        exact = name not in EXEMPT_EXACT_COLUMNS and not name.endswith(("_mcc", "_last4"))
                        self.scan_text(value, location=location, exact_cell=exact)
                        if is_session and name == "session_data":
                            decoded = _session_decode(value)
                            if decoded:
                                self.scan_text(decoded, location=f"{location} (decoded)")
        finally:
            cursor.close()

    # -- files -----------------------------------------------------------------------------

    def scan_paths(self, paths: Iterable[str | os.PathLike]) -> None:
        for path in paths:
            self.scan_path(path)

    def scan_path(self, path: str | os.PathLike) -> None:
        path = Path(path)
        if not path.exists():
            return
        if path.is_file():
            self.scan_file(path)
            return
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                self.scan_file(Path(root) / name)

    def scan_file(self, path: Path) -> None:
        if path.resolve() in self.exclude or not path.is_file():
            return
        self.stats.files += 1
        with path.open("rb") as handle:
            head = handle.read(8192)
        if head.startswith(b"%PDF"):
            self.scan_pdf(path.read_bytes(), location=str(path))
            return
        if b"\x00" in head:
            self.stats.binaries_skipped += 1
            return
        size = path.stat().st_size
        if path.suffix in LINE_UNIT_SUFFIXES or size > MAX_WHOLE_FILE_BYTES:
            self._scan_lines(path)
            return
        text = path.read_bytes().decode("utf-8", errors="replace")
        self.scan_text(text, location=str(path), line_numbers=True)
        for number, message_text in enumerate(email_texts(text), start=1):
            self.scan_text(message_text, location=f"{path} (email {number}, decoded)")

    def scan_pdf(self, data: bytes, *, location: str) -> None:
        """A PDF's text through pdftotext; a PDF that pdftotext cannot read (a broken or
        hand-made file, such as an uploaded receipt) is scanned as raw bytes instead."""
        self.stats.pdfs += 1
        try:
            text = pdf_text(data=data)
        except PdfUnreadable:
            self.stats.pdfs_unreadable += 1
            self.scan_text(data.decode("latin-1"), location=f"{location} (unreadable PDF, raw bytes)")
            return
        self.scan_text(text, location=f"{location} (PDF text)", line_numbers=True)

    def _scan_lines(self, path: Path) -> None:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                self.scan_text(raw.decode("utf-8", errors="replace"), location=f"{path}:{number}")


# --- Helpers --------------------------------------------------------------------------------


def text_columns(*, using: str = "default", tables: Iterable[str] | None = None) -> dict[str, list[str]]:
    """Text-like columns per table, from the database's own catalogue: every app's tables,
    third-party ones and those without a model included."""
    from django.db import connections

    connection = connections[using]
    plan: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        names = tables if tables is not None else connection.introspection.table_names(cursor)
        for table in names:
            columns = []
            for column in connection.introspection.get_table_description(cursor, table):
                field_type = connection.introspection.get_field_type(column.type_code, column)
                if isinstance(field_type, tuple):
                    field_type = field_type[0]
                if field_type in TEXT_FIELD_TYPES:
                    columns.append(column.name)
            if columns:
                plan[table] = columns
    return plan


def _session_decode(value: str) -> str:
    """Session rows are signed and encoded: decode them, so a number kept in a session
    (a form wizard's storage) is seen."""
    try:
        from django.contrib.sessions.backends.db import SessionStore

        return json.dumps(SessionStore().decode(value), ensure_ascii=False, default=str)
    except Exception:
        return ""


class PdfUnreadable(RuntimeError):
    """pdftotext could not read the file."""


def pdf_text(path: str | os.PathLike | None = None, *, data: bytes | None = None) -> str:
    """The text of a PDF through ``pdftotext`` (poppler). Without pdftotext the scan cannot
    read PDFs: that is an error, not a silent pass."""
    executable = shutil.which("pdftotext")
    if executable is None:
        raise RuntimeError("pdftotext is not installed (apt-get install poppler-utils): PDFs cannot be scanned")
    source = "-" if data is not None else str(path)
    # A fixed executable and arguments.
    result = subprocess.run(  # noqa: S603  # nosec B603
        [executable, "-layout", "-enc", "UTF-8", source, "-"],
        input=data,
        capture_output=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise PdfUnreadable(f"pdftotext could not read {path or 'a PDF'}: {result.stderr.decode(errors='replace')}")
    return result.stdout.decode("utf-8", errors="replace")


def email_texts(text: str) -> Iterator[str]:
    """Decoded text parts of the email messages in a file (Django's file backend writes
    messages one after another, separated by a line of 79 hyphens), so quoted-printable
    or base64 bodies are read as the recipient reads them."""
    if "MIME-Version:" not in text:
        return
    for chunk in text.split("\n" + "-" * 79 + "\n"):
        if "MIME-Version:" not in chunk:
            continue
        message = email.message_from_string(chunk.lstrip("\n"), policy=email.policy.default)
        for part in message.walk():
            if part.get_content_maintype() == "text":
                try:
                    yield part.get_content()
                except (LookupError, ValueError):
                    continue
