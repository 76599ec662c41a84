"""Hostile input for the hostile-input tests (tests/security/test_hostile_*.py):
hypothesis strategies for form fields and JSON values, raw form bodies that may carry
broken UTF-8, a fingerprint of every table to prove that refused input changed
nothing, and a parser for the <form>s a page renders."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import quote_from_bytes

from django.core.cache import cache
from django.db import connection, transaction
from hypothesis import strategies as st

# --- Hostile values ------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'

# Strings that must be refused or stored and shown harmlessly. Each has a reason to be here.
HOSTILE_STRINGS: list[str] = [
    "",
    " ",
    "\t\r\n",
    "\u00a0\u2003",  # no-break and em spaces: "blank" that str.strip() may not see as such
    "x" * 10_000,
    "9" * 400,  # digits that overflow every integer column
    "\u202egnp.exe",  # right-to-left override
    "abc\u200b\u200d\ufeff",  # zero-width characters and a BOM
    "\x00",
    "a\x00b",  # NUL: PostgreSQL refuses it in text columns
    "\x1b[31m\x07",  # terminal escapes
    "😀" * 30,
    "ＡＢＣ１２３",  # fullwidth letters and digits
    "٣٤٥",  # Arabic-Indic digits: str.isdigit() is true for them
    "²",  # superscript two: str.isdigit() is true, int() raises
    "4111 1111 1111 111²",  # a card number with one
    "9" * 5000,  # more digits than int() converts (4,300)
    "1e999999999",  # a Decimal that abs() overflows
    "Caf\ufffe \uffff",  # noncharacters: not allowed in XML
    "' OR '1'='1' --",
    "1; DROP TABLE accounts_user; --",
    SCRIPT,
    IMG,
    "javascript:alert(1)",
    "{{ 7|add:7 }}{% debug %}",
    "%s%n%x",
    "../../../../etc/passwd",
    "-1",
    "0",
    "-0.00",
    "1e309",
    "-1e309",
    "NaN",
    "Infinity",
    "1.005",
    "0.001",
    "99999999999999999.99",
    "1,000.00",
    "$5",
    "0x10",
    "2026-02-30",
    "0000-00-00",
    "9999-99-99",
    "31",
    "13",
    "2147483648",
    "-9223372036854775809",
    "true",
    "null",
    "[]",
]

hostile_string = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    # Anything printable or not, surrogates excluded (a browser cannot send them as UTF-8;
    # broken UTF-8 bytes are sent raw below instead).
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)

# Byte sequences that are not UTF-8: a lone continuation byte, a truncated sequence, an
# encoded surrogate (CESU-8), an overlong slash, a byte order mark of another encoding.
BROKEN_UTF8: list[bytes] = [b"\xff\xfe", b"\x80", b"caf\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xfe\xff\x00<"]

hostile_value = st.one_of(hostile_string, hostile_string, st.sampled_from(BROKEN_UTF8))


@dataclass(frozen=True)
class FieldInfo:
    """One named control of a rendered form: its type and the values the page offers."""

    name: str
    kind: str = "text"
    options: tuple[str, ...] = ()


def field_values(info: FieldInfo) -> st.SearchStrategy:
    """For one field: missing (None), one value, or the name repeated (a list). The
    page's own values are mixed in so other fields' checks pass and deeper ones run."""
    plausible = st.sampled_from(info.options) if info.options else hostile_string
    one = st.one_of(hostile_value, hostile_value, plausible)
    return st.one_of(
        st.none(),
        one,
        one,
        one,
        st.lists(st.one_of(hostile_value, plausible), min_size=2, max_size=3),
    )


def form_data(fields: Iterable[FieldInfo], fixed: dict[str, str] | None = None) -> st.SearchStrategy:
    """A dict of field name -> value (str, bytes or list); missing fields are absent."""
    fixed = fixed or {}
    names = {info.name: field_values(info) for info in fields if info.name not in fixed}

    def drop_missing(values: dict) -> dict:
        return {name: value for name, value in values.items() if value is not None} | fixed

    return st.fixed_dictionaries(names).map(drop_missing)


def _encode(value: str | bytes) -> str:
    raw = value if isinstance(value, bytes) else value.encode("utf-8")
    return quote_from_bytes(raw, safe="")


def urlencoded(data: dict) -> bytes:
    """An application/x-www-form-urlencoded body; bytes values go through unchanged
    (percent-encoded), so the body may carry invalid UTF-8, as a hostile client can."""
    pairs = []
    for name, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append(f"{_encode(name)}={_encode(item)}")
    return "&".join(pairs).encode("ascii")


# --- Responses --------------------------------------------------------------------------------

# The markup that tells a person what went wrong: the error summary and inline messages
# of portal/templates/portal/forms/, and an error flash message of base.html.
ERROR_MARKERS = ('class="error-summary"', 'class="error-message"', "message--error")


def shows_an_error(html: str) -> bool:
    return any(marker in html for marker in ERROR_MARKERS)


def assert_escaped(html: str) -> None:
    """Injected markup is shown as text, never as markup."""
    assert SCRIPT not in html, "an injected <script> reached the page unescaped"
    assert "<img src=x onerror" not in html, "injected markup reached the page unescaped"


# --- Database fingerprint ----------------------------------------------------------------------

# Tables (or columns) that may change when input is refused, each for a reason: they
# record the attempt itself, which is their job.
FINGERPRINT_EXCLUDED: dict[str, str | tuple[str, ...]] = {
    "security_securityevent": "append-only audit trail: every refused sign-in, code or card check is logged",
    "axes_accessattempt": "django-axes counts failed sign-ins (the lockout)",
    "axes_accessfailurelog": "django-axes logs failed sign-ins",
    "axes_accesslog": "django-axes logs sign-in attempts",
    "axes_accessattemptexpiration": "django-axes's expiry of its attempt counters",
    "cards_cardcheckfailure": "counts failed card possession checks (5 lock the card's enrollment for 24 hours)",
    "django_session": "every request may touch the session (activity time, step state)",
    "security_usersession": "records the session's last activity",
}
# Columns that count wrong tries on a row that otherwise must not change.
FINGERPRINT_EXCLUDED_COLUMNS: dict[str, tuple[str, ...]] = {
    "security_onetimecode": ("failed_attempts", "voided_at"),  # wrong tries, void after 5
    "otp_totp_totpdevice": ("throttling_failure_timestamp", "throttling_failure_count"),
    "otp_static_staticdevice": ("throttling_failure_timestamp", "throttling_failure_count"),
    "security_backupcodedevice": ("throttling_failure_timestamp", "throttling_failure_count"),
    "security_outofbanddevice": ("throttling_failure_timestamp", "throttling_failure_count"),
}


@functools.cache
def _fingerprint_queries(alias: str) -> tuple[tuple[str, str], ...]:
    """One SELECT per table (introspection is slow: done once per test process; the
    schema does not change during a run)."""
    queries = []
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            if table in FINGERPRINT_EXCLUDED:
                continue
            columns = [c.name for c in connection.introspection.get_table_description(cursor, table)]
            skip = FINGERPRINT_EXCLUDED_COLUMNS.get(table, ())
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns if c not in skip)
            queries.append((table, f"SELECT {quoted} FROM {connection.ops.quote_name(table)} ORDER BY 1"))  # noqa: S608
    return tuple(queries)


def fingerprint() -> dict[str, tuple[int, str]]:
    """Per table: (row count, SHA-256 of its rows in primary-key order), excluded tables
    and columns left out."""
    result = {}
    with connection.cursor() as cursor:
        for table, query in _fingerprint_queries(connection.alias):
            cursor.execute(query)
            digest = hashlib.sha256()
            count = 0
            for row in cursor.fetchall():
                digest.update(repr(row).encode())
                count += 1
            result[table] = (count, digest.hexdigest())
    return result


def fingerprint_diff(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


@contextmanager
def rolled_back():
    """Run one example and undo it: its database writes (a savepoint rolled back) and the
    cache (counters, cached sessions), so every example starts from the same world."""
    with transaction.atomic():
        try:
            yield
        finally:
            transaction.set_rollback(True)
            # As tests/conftest.py does: with Redis, only this process's keys.
            if hasattr(cache, "delete_pattern"):
                cache.delete_pattern("*")
            else:
                cache.clear()


@contextmanager
def cookies_kept(client):
    """The test client's cookies as they were before the block (an example may sign the
    session out, or set new cookies), so every example starts signed in the same way."""
    saved = SimpleCookie()
    saved.load(client.cookies.output(header="", sep=";"))
    try:
        yield
    finally:
        client.cookies = SimpleCookie()
        for name, morsel in saved.items():
            client.cookies[name] = morsel.value


# --- Reading forms from a page ---------------------------------------------------------------


@dataclass
class ParsedForm:
    method: str
    action: str | None
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    enctype: str = ""


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[ParsedForm] = []
        self._select: str | None = None

    def _add(self, name: str, kind: str, value: str | None) -> None:
        if not self.forms or not name:
            return
        fields = self.forms[-1].fields
        known = fields.get(name, FieldInfo(name, kind))
        options = known.options + ((value,) if value is not None and value not in known.options else ())
        fields[name] = FieldInfo(name, known.kind, options)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append(
                ParsedForm(
                    method=(a.get("method") or "get").lower(), action=a.get("action"), enctype=a.get("enctype") or ""
                )
            )
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset") and not a.get("name"):
                return
            self._add(a.get("name") or "", kind, a.get("value") if kind != "password" else None)
        elif tag in ("textarea", "button"):
            if a.get("name"):
                self._add(a["name"], tag, a.get("value"))
        elif tag == "select":
            self._select = a.get("name")
            self._add(self._select or "", "select", None)
        elif tag == "option" and self._select:
            self._add(self._select, "select", a.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def forms_in(html: str) -> list[ParsedForm]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms
