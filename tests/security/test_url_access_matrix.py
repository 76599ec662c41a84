"""The access matrix, generated from the URLconf: every URL pattern has a declaration
(tests/security/url_access.py), and each (pattern, role) pair is its own test.

One world is built for the module (tests/cards/conftest.py ``roles_build`` plus
charges, payments, disputes, statements, devices, passkeys and sessions for each role)
inside a transaction rolled back at the end; each test runs in its own savepoint on top,
so whatever a test changes is gone before the next one.

Each role signs in with ``force_login`` (tests/conftest.py makes that a staff session
confirmed with the authenticator app, as the staff console requires), and its session
has a fresh step-up and re-authentication, so that pages behind those checks are tested
on who owns the object, not on the check that comes before it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from decimal import Decimal
from importlib import import_module
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.forms.models import model_to_dict
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone

from cards import disputes, payments, step_up
from cards.models import Card, DisputeAttachment, Transaction
from security import reauth
from security.models import TrustedDevice, UserSession
from tests.cards.conftest import roles_build
from tests.cards.payments_helpers import StatementFactory, bank_account, commits, key, spend
from tests.factories import TransactionFactory, force_login_without_code, staff_member, staff_session_confirm
from tests.security import hostile
from tests.security.url_access import (
    CLIENT_ERROR,
    LOGIN,
    ROLES,
    SEES_TRANSACTIONS,
    SIGNED_IN_ROLES,
    UNCHANGED,
    VISIBLE,
    Access,
    Pattern,
    Rule,
    rule_for,
    stale_declarations,
    url_patterns,
)

MISSING = 10**9
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# The staff console is checked for these roles: not signed in, signed in but not staff,
# and staff (the console looks at nothing but "is this a confirmed staff session").
ADMIN_ROLES = ("anonymous", "owner", "staff")

PATTERNS = url_patterns()
BY_KEY = {pattern.key: pattern for pattern in PATTERNS}


def marker(name: str) -> str:
    """The merchant name of the world's charge on ``name``'s card: it may appear only on
    pages of the roles that may see that charge."""
    return f"Matrix-{name}-merchant"


# --- The world ----------------------------------------------------------------------------


def _build() -> SimpleNamespace:
    roles = roles_build()
    users = dict(roles.users)
    staff = staff_member("matrix.staff", is_superuser=True)
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=staff, name="default", confirmed=True)
    users["staff"] = staff
    cards, issued = roles.cards, roles.issued
    accounts = {
        "personal": cards["basic"].account,
        "business": cards["employee"].account,
        "other_business": cards["outsider"].account,
        "stranger": cards["stranger"].account,
    }

    with commits():
        for name, card in issued.items():
            merchant = {"name": marker(name), "mcc": "5732", "city": "Austin", "country": "US"}
            spend(card, "120.00", merchant=merchant)
    charges = {name: Transaction.objects.get(card=card, kind=Transaction.Kind.PURCHASE) for name, card in cards.items()}
    transactions = charges | {
        "payment": TransactionFactory(
            card=None,
            account=accounts["personal"],
            kind=Transaction.Kind.PAYMENT,
            amount=Decimal("-10.00"),
            merchant_name=marker("payment"),
            category="other",
        )
    }

    methods = {
        role: bank_account(users[role], number=f"00012345678{n}", nickname=f"Checking {role}")
        for n, role in enumerate(("owner", "admin", "stranger"))
    }
    payers = {"personal": "owner", "business": "admin", "stranger": "stranger"}
    with commits():
        payment_rows = {
            account: payments.payment_schedule(
                account=accounts[account],
                method=methods[role],
                amount=Decimal("10.00"),
                scheduled_for=timezone.localdate() + timezone.timedelta(days=7),
                idempotency_key=key(f"matrix-{account}"),
                actor=users[role],
            )[0]
            for account, role in payers.items()
        }

    openers = {
        "basic": "owner",
        "supp": "supplementary",
        "employee": "employee",
        "outsider": "other_admin",
        "stranger": "stranger",
    }
    with commits():
        dispute_rows = {
            name: disputes.dispute_open(
                actor=users[role],
                transaction_obj=charges[name],
                reason="not_received",
                description="I ordered headphones and they never arrived.",
                attachments=[SimpleUploadedFile("receipt.pdf", PDF, content_type="application/pdf")],
            )
            for name, role in openers.items()
        }
    attachments = {name: DisputeAttachment.objects.get(dispute=dispute) for name, dispute in dispute_rows.items()}
    statements = {name: StatementFactory(account=account) for name, account in accounts.items()}

    login_roles = [role for role in ROLES if role != "anonymous"]
    devices = {
        role: TrustedDevice.objects.create(
            user=users[role], token_hash=hashlib.sha256(f"matrix-{role}".encode()).hexdigest(), name="Firefox on Linux"
        )
        for role in login_roles
    }
    from django_otp_webauthn.models import WebAuthnCredential

    passkeys = {
        role: WebAuthnCredential.objects.create(
            user=users[role],
            name=f"Phone of {role}",
            confirmed=True,
            credential_id=secrets.token_bytes(32),
            public_key=secrets.token_bytes(77),
            aaguid="00000000-0000-0000-0000-000000000000",
            sign_count=0,
            discoverable=True,
        )
        for role in login_roles
    }
    sessions = {
        role: UserSession.objects.create(
            user=users[role], session_key=f"matrix{role}".ljust(32, "0")[:40], device_name="Safari on iPhone"
        )
        for role in login_roles
    }
    return SimpleNamespace(
        users=users,
        objects={
            "card": cards,
            "transaction": transactions,
            "disputable": charges,
            "account": accounts,
            "payment": payment_rows,
            "method": methods,
            "dispute": dispute_rows,
            "attachment": attachments,
            "statement": statements,
            "program": {"program": roles.program, "other_program": roles.other_program},
            "business_card": {name: cards[name] for name in ("employee", "colleague", "outsider")},
            "device": devices,
            "passkey": passkeys,
            "session": sessions,
        },
    )


def _sessions(users: dict) -> dict[str, str]:
    """One signed-in session per role, made once: each test presents its cookie. Staff
    sessions are confirmed with the authenticator app, as the staff console requires.
    The session timeout stamps are left out, so each request starts them afresh."""
    keys = {}
    for role, user in users.items():
        client = Client()
        force_login_without_code(client, user)
        if user.is_staff:
            staff_session_confirm(client, user)
        session = client.session
        for stamp in ("signed_in_at", "last_activity"):
            session.pop(stamp, None)
        session.save()
        keys[role] = session.session_key
    return keys


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> SimpleNamespace:
    return SimpleNamespace(
        media=tmp_path_factory.mktemp("matrix-media"), outbox=tmp_path_factory.mktemp("matrix-outbox")
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, folders):
    """Built once for the module, rolled back at its end; tests run in savepoints on top."""
    files = override_settings(MEDIA_ROOT=folders.media, **_outbox_settings(folders.outbox))
    with django_db_blocker.unblock(), files, transaction.atomic():
        built = _build()
        built.session_keys = _sessions(built.users)
        yield built
        transaction.set_rollback(True)


def _outbox_settings(folder) -> dict:
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "OUTBOX_DIR": folder,
        "SMS_FILE_PATH": folder / "sms",
        "EMAIL_FILE_PATH": folder / "email",
    }


@pytest.fixture(autouse=True)
def _isolated_outbox_and_media():
    """In place of tests/conftest.py's per-test folders: the world's folders stay set for
    the whole module (dispute attachments and statement PDFs are made with the world, and
    these tests read no messages)."""


@pytest.fixture(scope="module", autouse=True)
def _quiet_request_logs():
    # Thousands of requests: their INFO log lines are not what this module checks.
    logging.disable(logging.INFO)
    yield
    logging.disable(logging.NOTSET)


@pytest.fixture
def matrix(world, db):
    return world


@pytest.fixture(scope="module")
def _handler():
    """One request handler for the module: loading the middleware (WhiteNoise indexes
    every static file) per test client would cost more than the requests themselves."""
    return Client().handler


@pytest.fixture
def client(_handler):
    """A fresh client (no cookies) on the module's handler."""
    fresh = Client()
    fresh.handler = _handler
    return fresh


# --- Requests -----------------------------------------------------------------------------


def sign_in(client, world, role: str) -> None:
    """The role's session, with a fresh step-up and re-authentication."""
    if role == "anonymous":
        return
    key = world.session_keys[role]
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    user_pk, now = world.users[role].pk, int(time.time())
    session[step_up.SESSION_KEY] = {"user": user_pk, "at": now, "channel": "email"}
    session[reauth.SESSION_KEY] = {"user": user_pk, "at": now, "method": "password"}
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = key


class _Any:
    """Stands for any object when reading which kwargs a declaration builds."""

    pk = dispute_id = 1


def url_for(pattern: Pattern, rule: Rule, obj=None, *, missing: bool = False) -> str:
    kwargs = dict(rule.static_kwargs)
    query = {}
    if rule.kind is not None:
        if rule.kwargs is not None:
            kwargs |= {name: MISSING for name in rule.kwargs(_Any())} if missing else rule.kwargs(obj)
        if rule.query is not None:
            query = {name: MISSING for name in rule.query(_Any())} if missing else rule.query(obj)
    url = reverse(pattern.name, kwargs=kwargs)
    if query:
        url += "?" + "&".join(f"{name}={value}" for name, value in query.items())
    return url


def send(client, method: str, url: str):
    response = client.post(url, {}) if method == "post" else client.get(url)
    assert response.status_code < 500, f"{method.upper()} {url} answered {response.status_code}"
    return response


def body(response) -> str:
    if response.get("Content-Type", "").startswith("application/pdf"):
        return ""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", "replace")


CHARGES = ("basic", "supp", "employee", "colleague", "outsider", "stranger", "payment")


def leaks(role: str, response) -> set[str]:
    """Charges shown to a role that may not see them."""
    if response.status_code != 200:
        return set()
    text = body(response)
    allowed = SEES_TRANSACTIONS.get(role, set())
    return {name for name in CHARGES if name not in allowed and marker(name) in text}


def outcome(response, expected: int | str) -> str:
    """The response as the expectation names it: a status, "login" or "4xx"."""
    status = response.status_code
    if expected == CLIENT_ERROR and 400 <= status < 500:
        return CLIENT_ERROR
    if status == 302 and response["Location"].startswith(reverse("two_factor:login")):
        return LOGIN
    return str(status)


def snapshot(obj) -> dict | None:
    fresh = type(obj).objects.filter(pk=obj.pk).first()
    return None if fresh is None else model_to_dict(fresh)


# --- Every pattern is declared ------------------------------------------------------------


def test_every_url_pattern_is_declared():
    undeclared = [f"{p.key} ({p.route})" for p in PATTERNS if rule_for(p) is None]
    assert undeclared == [], "Declare who may open these URLs in tests/security/url_access.py"


def test_every_declaration_names_a_url_pattern_that_exists():
    assert stale_declarations(PATTERNS) == []


def test_object_urls_declare_how_to_build_their_arguments():
    missing = [
        p.key
        for p in PATTERNS
        if (rule := rule_for(p)) is not None
        and rule.access != Access.STAFF
        and set(p.params) - set(rule.static_kwargs) - set(rule.kwargs(_Any()) if rule.kwargs else ())
    ]
    assert missing == []


# --- The matrix: each (pattern, role) -------------------------------------------------------


def _cases(*, kind: str, roles: tuple[str, ...]) -> list:
    """(pattern, role) pairs for one sort of declaration: "page" (no object in the URL),
    "object" (an object of a declared kind) or "console" (the staff console)."""
    cases = []
    for pattern in PATTERNS:
        rule = rule_for(pattern)
        if rule is None:
            continue  # test_every_url_pattern_is_declared names it
        sort = "console" if rule.access == Access.STAFF else "page" if rule.kind is None else "object"
        if sort == kind:
            cases += [pytest.param(pattern.key, role, id=f"{pattern.key}-{role}") for role in roles]
    return cases


@pytest.mark.parametrize(("key", "role"), _cases(kind="page", roles=ROLES))
def test_page_answers_each_role_as_declared_and_shows_no_one_elses_charges(client, matrix, key, role):
    pattern = BY_KEY[key]
    rule = rule_for(pattern)
    sign_in(client, matrix, role)
    expected = rule.expected_for(role)

    response = send(client, rule.method, url_for(pattern, rule))

    assert outcome(response, expected) == str(expected)
    assert leaks(role, response) == set()


@pytest.mark.parametrize(("key", "role"), _cases(kind="object", roles=("anonymous",)))
def test_object_page_sends_a_visitor_who_is_not_signed_in_to_sign_in(client, matrix, key, role):
    pattern = BY_KEY[key]
    rule = rule_for(pattern)
    # A real object (the first of its kind): the answer must not depend on whose it is.
    first = next(iter(matrix.objects[rule.kind].values()))

    response = send(client, rule.method, url_for(pattern, rule, first))

    assert outcome(response, rule.anonymous) == str(rule.anonymous)


@pytest.mark.parametrize(("key", "role"), _cases(kind="object", roles=SIGNED_IN_ROLES))
def test_object_page_opens_only_the_roles_own_objects(client, matrix, key, role):
    """Every object of the kind in the world is tried: the role's own answer ``ok``;
    anyone else's is refused like one that does not exist (404), changes nothing, and
    no page shows the role a charge it may not see."""
    pattern = BY_KEY[key]
    rule = rule_for(pattern)
    objects = matrix.objects[rule.kind]
    own = VISIBLE[rule.kind].get(role, set())
    sign_in(client, matrix, role)
    before = {name: snapshot(obj) for name, obj in objects.items() if name not in own}

    missing = send(client, rule.method, url_for(pattern, rule, missing=True))
    observed, shown = {"missing": str(missing.status_code)}, set()
    for name, obj in objects.items():
        response = send(client, rule.method, url_for(pattern, rule, obj))
        observed[name] = outcome(response, rule.ok)
        shown |= leaks(role, response)

    # UNCHANGED: the view answers a missing id without a 404 (a redirect with "not on your
    # list"); another's id must get exactly that answer.
    refused = str(missing.status_code) if rule.refusal == UNCHANGED else "404"
    assert observed == {name: str(rule.ok) if name in own else refused for name in objects} | {"missing": refused}
    assert {name for name, obj in objects.items() if name not in own and snapshot(obj) != before[name]} == set()
    assert shown == set()


@pytest.mark.parametrize(("key", "role"), _cases(kind="console", roles=("staff",)))
def test_staff_console_opens_for_a_confirmed_staff_session(client, matrix, key, role):
    pattern = BY_KEY[key]
    sign_in(client, matrix, role)
    url, model_admin, obj = console_url(matrix, pattern)
    expected = staff_expects(matrix, pattern, model_admin, obj)

    response = send(client, "get", url)

    assert outcome(response, expected) == expected


@pytest.mark.parametrize(("key", "role"), _cases(kind="console", roles=("anonymous", "owner")))
def test_staff_console_turns_away_everyone_else(client, matrix, key, role):
    """Not signed in: to sign in. Signed in but not staff: to the console's gate, which
    answers 403. The admin's bare "<id>/" address redirects before any check (to the
    change page, which turns them away in turn); signing out of a console one is not
    in goes to its index. Never a page of the console."""
    pattern = BY_KEY[key]
    sign_in(client, matrix, role)
    url, _, _ = console_url(matrix, pattern)

    response = send(client, "get", url)

    location = response.get("Location", "")
    gates = (reverse("two_factor:login"), reverse("admin:login"))
    bare_redirect = pattern.name is None and location.startswith(reverse("admin:index"))
    signing_out = pattern.name == "admin:logout" and location == reverse("admin:index")
    assert response.status_code in (302, 403)
    assert response.status_code == 403 or location.startswith(gates) or bare_redirect or signing_out


# --- The staff console --------------------------------------------------------------------


def _model_admin(pattern: Pattern):
    """The ModelAdmin a console URL belongs to, from its route (admin/<app>/<model>/...)."""
    parts = pattern.route.split("/")
    if len(parts) < 3:
        return None
    for model, model_admin in admin.site._registry.items():
        if (model._meta.app_label, model._meta.model_name) == (parts[1], parts[2]):
            return model_admin
    return None


def _console_kwargs(world, pattern: Pattern, model_admin) -> tuple[dict, object]:
    """Arguments for a console URL: an existing object of its model where there is one."""
    obj = model_admin.model.objects.order_by("pk").first() if model_admin else None
    kwargs = {}
    for param in pattern.params:
        if param == "app_label":
            kwargs[param] = "cards"
        elif param == "url":
            kwargs[param] = "matrix-no-such-page/"
        elif param == "content_type_id":
            kwargs[param] = ContentType.objects.get_for_model(Card).pk
        elif param == "attachment_id":
            kwargs[param] = world.objects["attachment"]["basic"].pk
        else:
            kwargs[param] = obj.pk if obj else MISSING
    if "content_type_id" in kwargs:
        kwargs["object_id"] = world.objects["card"]["basic"].pk
    if "attachment_id" in kwargs:
        kwargs["dispute_id"] = world.objects["attachment"]["basic"].dispute_id
    return kwargs, obj


def staff_expects(world, pattern: Pattern, model_admin, obj) -> str:
    """What a staff member's GET gets, from the ModelAdmin's own permissions."""
    if pattern.name is None:
        # The admin's bare "<object_id>/" redirect to the change page, and its catch-all
        # (an unknown console address is a 404 for staff).
        return "404" if "url" in pattern.params else "302"
    name = pattern.name.split(":", 1)[1]
    if model_admin is None:
        return {
            "index": "200",
            "app_list": "200",
            "jsi18n": "200",
            "login": "302",  # already in: on to the console
            "password_change": "302",  # the portal's own page (security:password)
            "password_change_done": "200",
            "logout": "405",  # POST only
            "autocomplete": "403",  # asked without its parameters
            "view_on_site": "404",  # cards have no public page
        }[name]
    opts = model_admin.model._meta
    suffix = name.removeprefix(f"{opts.app_label}_{opts.model_name}_")
    request = RequestFactory().get("/")
    request.user = world.users["staff"]
    if suffix == "changelist":
        return "200" if model_admin.has_view_or_change_permission(request) else "403"
    if suffix == "add":
        return "200" if model_admin.has_add_permission(request) else "403"
    if suffix == "history":
        # Looks the object up first (a missing one goes back to the console's index).
        if obj is None:
            return "302"
        return "200" if model_admin.has_view_or_change_permission(request, obj) else "403"
    if suffix in ("change", "delete"):
        # Asks about the permission first, with the object found (or None).
        allowed = (
            model_admin.has_delete_permission(request, obj)
            if suffix == "delete"
            else model_admin.has_view_or_change_permission(request, obj)
        )
        if not allowed:
            return "403"
        return "200" if obj is not None else "302"
    return "200"  # the console's own pages (unlock, freeze, dispute steps): their forms


def console_url(world, pattern: Pattern) -> tuple[str, object, object]:
    model_admin = _model_admin(pattern)
    kwargs, obj = _console_kwargs(world, pattern, model_admin)
    url = reverse(pattern.name, kwargs=kwargs) if pattern.name else "/" + _fill(pattern.route, kwargs)
    return url, model_admin, obj


def _fill(route: str, kwargs: dict) -> str:
    for name, value in kwargs.items():
        for converter in ("path", "int", "str", ""):
            route = route.replace(f"<{converter}:{name}>" if converter else f"<{name}>", str(value))
    route = route.replace("(?P<url>.*)$", str(kwargs.get("url", "")))
    return route


# --- Hostile query strings on every page ------------------------------------------------------

# Names the portal's pages read (filters, paging cursors, choices, "next") and the Django
# admin's (search, ordering, paging, filters); a page ignores the ones it does not read.
HOSTILE_QUERY_NAMES = (
    "q", "card", "from", "to", "start", "end", "year", "month", "before", "after", "next",
    "format", "category", "status", "min", "max", "employee", "choose", "page", "sort",
    "type", "period", "cursor", "range", "account", "o", "p", "e", "all",
    "_changelist_filters", "_popup", "_to_field", "status__exact", "id__exact",
    "date_from", "date_to", "amount_min", "amount_max", "file_format", "group_by", "section",
    "program", "start_day", "start_month", "start_year", "end_day", "end_month", "end_year",
)  # fmt: skip
# Each is sent as the value of every name at once (already percent-encoded).
HOSTILE_QUERY_VALUES = {
    "nul": "%00",
    "nul-inside": "abc%00def",
    "broken-utf8": "%FF%FE",
    "surrogate": "%ED%A0%80",
    "huge": "9" * 4000,
    "more-digits-than-int-reads": "9" * 5000,  # int() refuses over 4,300
    "superscript-digit": "%C2%B2",  # "²": str.isdigit() is true, int() raises
    "cursor-with-superscript": "%C2%B2.1",
    "far-date": "9999-12-31",  # the day after overflows
    "decimal-overflow": "1e999999999",
    "markup": "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "numbers": "1e309",
    "negative": "-1",
    "dates": "2026-02-31",
    "lists": "1&q=2&card=a",
}


def _hostile_target(matrix, pattern: Pattern, rule: Rule) -> tuple[str, str]:
    """(role, url): a role that gets the page (its own object for an object page, the
    console for staff), or, for a page that only redirects, the owner."""
    if rule.access == Access.STAFF:
        return "staff", console_url(matrix, pattern)[0]
    for role in ROLES:
        if str(rule.expected_for(role)) != "200":
            continue
        if rule.kind is None:
            return role, url_for(pattern, rule)
        own = sorted(VISIBLE[rule.kind].get(role, set()))
        if own:
            return role, url_for(pattern, rule, matrix.objects[rule.kind][own[0]])
    if rule.kind is None:
        return "owner", url_for(pattern, rule)
    return "owner", url_for(pattern, rule, missing=True)


def _get_cases() -> list:
    return [
        pytest.param(pattern.key, id=pattern.key)
        for pattern in PATTERNS
        if (rule := rule_for(pattern)) is not None and (rule.access == Access.STAFF or rule.method == "get")
    ]


@pytest.mark.parametrize("key", _get_cases())
def test_hostile_query_strings_on_every_page_are_never_a_500(client, matrix, key):
    """Every GET page, opened by someone it opens for, with NUL characters (which
    PostgreSQL refuses in text), broken UTF-8, huge numbers and markup in every query
    parameter a page might read: a page or a 4xx, never a 500, nothing changed, and no
    injected markup rendered."""
    pattern = BY_KEY[key]
    role, url = _hostile_target(matrix, pattern, rule_for(pattern))
    sign_in(client, matrix, role)
    # A clean GET first: what a page records on a plain visit (a statement's PDF rendered
    # and kept on first download) is not the hostile query's doing.
    send(client, "get", url)
    before = hostile.fingerprint()
    separator = "&" if "?" in url else "?"
    for name, value in HOSTILE_QUERY_VALUES.items():
        query = "&".join(f"{param}={value}" for param in HOSTILE_QUERY_NAMES)
        response = client.get(f"{url}{separator}{query}")
        assert response.status_code < 500, f"{name}: GET {url} answered {response.status_code}"
        if response.status_code == 200 and "html" in response.get("Content-Type", ""):
            hostile.assert_escaped(body(response))
    assert hostile.fingerprint_diff(before, hostile.fingerprint()) == []
