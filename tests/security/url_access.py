"""Who may open which URL: one declaration for every pattern in the URLconf.

``tests/security/test_url_access_matrix.py`` walks ``django.urls.get_resolver()``
and fails for a pattern without a declaration here (a new view must say who may open
it before CI passes) and for a declaration whose pattern is gone. Then it signs in as
each role and checks the answer.

A declaration is a ``Rule``:

* ``access``: PUBLIC (anyone), SIGNED_IN (the signed-in person's own settings, or an
  object that belongs to their login: a trusted device, a passkey, a session),
  CARDHOLDER (the object in the URL belongs to a card account), BUSINESS_ADMIN (the
  object belongs to a business program) or STAFF (the staff console);
* ``kind``: the kind of object in the URL (a key of ``VISIBLE``), and ``kwargs``, how
  to build the URL's kwargs (or ``query``, its query string) from one such object. The
  test tries every object of that kind in the world: the role's own must answer
  ``ok``; everyone else's, and an id that does not exist, 404 (or, with
  ``refusal=UNCHANGED``, the same answer as for a missing id, and nothing changed);
* ``method``: "get", or "post" (with an empty body) for POST-only views;
* ``ok``: the status the allowed roles get; ``roles`` overrides it per role;
* ``anonymous``: what a visitor who is not signed in gets: ``LOGIN`` (a redirect to
  the sign-in page) or a status.

Keys are URL names (``namespace:name``); a pattern without a name is keyed by its
route. ``NAMESPACE_RULES`` declare a whole namespace at once (the Django admin).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Access(StrEnum):
    PUBLIC = "public"
    SIGNED_IN = "signed-in"
    CARDHOLDER = "cardholder-owned"
    BUSINESS_ADMIN = "business-admin-owned"
    STAFF = "staff-only"


LOGIN = "login"  # the anonymous answer: a redirect to the sign-in page
CLIENT_ERROR = "4xx"  # refused as the client's fault, whatever the exact status
REFUSED_404 = "404"
UNCHANGED = "unchanged"  # another's id: the same answer as a missing one, and nothing changed

# The roles, in the order the test ids show them (tests/cards/conftest.py ``roles_build``):
# owner: basic card member of a personal account with ``supp``'s card on it;
# supplementary: holds that supplementary card; employee: holds an employee card in
# ``program``; admin: administers ``program``; other_admin: administers
# ``other_program``; stranger: an unrelated cardholder; staff: a superuser whose
# session is confirmed with their authenticator app.
ROLES = ("anonymous", "owner", "stranger", "supplementary", "employee", "admin", "other_admin", "staff")
SIGNED_IN_ROLES = ROLES[1:]

# Which objects of each kind each role may open (names of objects in the test's world).
_SEES_CARDS = {
    "owner": {"basic", "supp"},
    "supplementary": {"supp"},
    "employee": {"employee"},
    "admin": {"employee", "colleague"},
    "other_admin": {"outsider"},
    "stranger": {"stranger"},
}
_OWN_LOGIN = {role: {role} for role in SIGNED_IN_ROLES}
VISIBLE: dict[str, dict[str, set[str]]] = {
    # Cards and their charges: the holder, the basic card member, the program's admins.
    "card": _SEES_CARDS,
    "disputable": _SEES_CARDS,
    # A payment received on the owner's account has no card: the account's managers only.
    "transaction": _SEES_CARDS | {"owner": _SEES_CARDS["owner"] | {"payment"}},
    # Accounts are paid, and their statements read, by the basic card member and the
    # program's administrators; never by a supplementary or employee cardholder.
    "account": {
        "owner": {"personal"},
        "admin": {"business"},
        "other_admin": {"other_business"},
        "stranger": {"stranger"},
    },
    "statement": {
        "owner": {"personal"},
        "admin": {"business"},
        "other_admin": {"other_business"},
        "stranger": {"stranger"},
    },
    "payment": {"owner": {"personal"}, "admin": {"business"}, "stranger": {"stranger"}},
    "method": {"owner": {"owner"}, "admin": {"admin"}, "stranger": {"stranger"}},
    # Disputes follow the card of the disputed charge.
    "dispute": {
        "owner": {"basic", "supp"},
        "supplementary": {"supp"},
        "employee": {"employee"},
        "admin": {"employee"},
        "other_admin": {"outsider"},
        "stranger": {"stranger"},
    },
    "program": {"admin": {"program"}, "other_admin": {"other_program"}},
    "business_card": {"admin": {"employee", "colleague"}, "other_admin": {"outsider"}},
    "device": _OWN_LOGIN,
    "passkey": _OWN_LOGIN,
    "session": _OWN_LOGIN,
}
VISIBLE["attachment"] = VISIBLE["dispute"]

# Transactions whose merchant names may appear on a role's pages (the leak check: a
# page that shows a role someone else's charge fails, whatever its status says).
SEES_TRANSACTIONS = VISIBLE["transaction"]


def _pk(name: str) -> Callable[[Any], dict]:
    return lambda obj: {name: obj.pk}


@dataclass(frozen=True)
class Rule:
    access: Access
    method: str = "get"
    kind: str | None = None
    kwargs: Callable[[Any], dict] | None = None
    query: Callable[[Any], dict] | None = None
    static_kwargs: dict = field(default_factory=dict)
    ok: int | str = 200
    roles: dict[str, int | str] = field(default_factory=dict)
    anonymous: int | str = LOGIN
    refusal: str = REFUSED_404
    routes: tuple[str, ...] = ()  # also matches these route strings (names may still change)
    why: str = ""

    def expected_for(self, role: str) -> int | str:
        """The answer for a role on a page without an object (or on its own object)."""
        if role == "anonymous":
            return self.anonymous
        return self.roles.get(role, self.ok)


P, S, C, B = Access.PUBLIC, Access.SIGNED_IN, Access.CARDHOLDER, Access.BUSINESS_ADMIN
# Cardholder pages without an object open for everyone signed in: a person without
# cards (a program administrator, staff) sees an empty page (the leak check holds).

RULES: dict[str, Rule] = {
    # --- Public ------------------------------------------------------------------------------
    "portal:home": Rule(P, anonymous=200, ok=302, why="signed-in people go to their dashboard"),
    "portal:health": Rule(P, anonymous=200, ok=200, routes=("healthz",)),
    "portal:liveness": Rule(P, anonymous=200, ok=200, routes=("livez",)),
    "portal:readiness": Rule(P, anonymous=200, ok=200, routes=("readyz",)),
    "two_factor:login": Rule(P, anonymous=200, ok=302, why="already signed in: home"),
    # django-two-factor-auth's own setup pages all lead to our two-step page.
    **{
        f"two_factor:{name}": Rule(P, anonymous=302, ok=302)
        for name in ("setup", "qr", "setup_complete", "backup_tokens", "profile", "disable")
    },
    # Recovery is for people who cannot sign in: signed-in people are sent home.
    "recovery:start": Rule(P, anonymous=200, ok=302),
    "recovery:password": Rule(P, anonymous=200, ok=302),
    "recovery:password_code": Rule(P, anonymous=302, ok=302, why="no recovery under way: back to its start"),
    "recovery:password_new": Rule(P, anonymous=302, ok=302),
    "recovery:user_id": Rule(P, anonymous=200, ok=302),
    "recovery:user_id_card": Rule(P, anonymous=200, ok=302),
    "recovery:user_id_details": Rule(P, anonymous=200, ok=302),
    "recovery:user_id_sent": Rule(P, anonymous=200, ok=302),
    # A link that is not (or no longer) good: 410 Gone, with what to do instead.
    "recovery:link": Rule(P, static_kwargs={"token": "not-a-real-link"}, anonymous=410, ok=302),
    "recovery:link_password": Rule(P, anonymous=410, ok=302),
    "accounts:enroll": Rule(P, anonymous=200, ok=302, why="enrolled people go to their cards"),
    "accounts:enroll_login": Rule(P, anonymous=302, ok=302, why="no card checked yet: back to the start"),
    "accounts:enroll_confirm": Rule(P, anonymous=302, ok=302),
    "accounts:password_check": Rule(P, method="post", anonymous=200, ok=200, why="the live password checklist"),
    "accounts:sign_out": Rule(P, method="post", anonymous=302, ok=302),
    "cards:activate": Rule(P, anonymous=200, ok=200, why="the card number, card ID and expiry prove possession"),
    # Signed by the processor (HMAC): an unsigned request is refused, whoever sends it.
    "cards:processor_webhook": Rule(
        P, method="post", anonymous=CLIENT_ERROR, ok=CLIENT_ERROR, why="HMAC-authenticated: never 200 unsigned"
    ),
    # Passkey sign-in starts before anyone is signed in; its answers are JSON.
    "otp_webauthn:credential-authentication-begin": Rule(P, method="post", anonymous=200, ok=200),
    "otp_webauthn:credential-authentication-complete": Rule(
        P, method="post", anonymous=400, ok=400, why="an empty answer to no challenge"
    ),
    "otp_webauthn:js-i18n-catalog": Rule(P, anonymous=200, ok=200),
    # --- Signed in: the person's own login and settings ---------------------------------------
    # Adding a passkey: JSON endpoints, so a visitor who is not signed in gets 403, not a redirect.
    "otp_webauthn:credential-registration-begin": Rule(S, method="post", anonymous=403),
    "otp_webauthn:credential-registration-complete": Rule(
        S, method="post", anonymous=403, ok=400, why="an empty answer to no challenge"
    ),
    "accounts:session_status": Rule(S),
    "accounts:session_extend": Rule(S, method="post", ok=302),
    "accounts:user_id_change": Rule(S),
    "accounts:user_id_confirm": Rule(S, ok=302, why="nothing to confirm yet"),
    "alerts:settings": Rule(S),
    "payments:step_up": Rule(S),
    "payments:step_up_code": Rule(S, ok=302, why="no code sent yet"),
    "payments:method_add": Rule(S),
    "payments:methods": Rule(S),
    "security:overview": Rule(S),
    "security:devices": Rule(S),
    "security:device_remove": Rule(S, method="post", kind="device", kwargs=_pk("device_id"), ok=302, refusal=UNCHANGED),
    "security:device_remove_all": Rule(S, method="post", ok=302),
    "security:passkeys": Rule(S),
    "security:passkey_rename": Rule(S, kind="passkey", kwargs=_pk("passkey_id")),
    "security:passkey_remove": Rule(S, method="post", kind="passkey", kwargs=_pk("passkey_id"), ok=302),
    "security:activity": Rule(S),
    "security:session_end": Rule(S, method="post", kind="session", kwargs=_pk("session_id"), ok=302, refusal=UNCHANGED),
    "security:sessions_end_others": Rule(S, method="post", ok=302),
    "security:password": Rule(S),
    "security:confirm": Rule(S),
    "security:confirm_code": Rule(S, ok=302, why="no code sent yet"),
    "security:two_step": Rule(S),
    # Staff have the authenticator app on (the console needs it); the others do not.
    "security:two_step_app": Rule(S, roles={"staff": 302}, why="staff: the app is already on"),
    "security:two_step_app_remove": Rule(S, ok=302, roles={"staff": 200}, why="no app to remove"),
    "security:backup_codes_new": Rule(S, method="post", ok=200),
    "security:contact": Rule(S),
    "security:contact_confirm": Rule(S, ok=302, why="no change under way"),
    "security:contact_edit": Rule(S, static_kwargs={"kind": "email"}),
    # --- Cardholder-owned ----------------------------------------------------------------------
    "cards:dashboard": Rule(C, kind="card", query=lambda card: {"card": card.pk}),
    "cards:list": Rule(C),
    "cards:freeze": Rule(C, method="post", kind="card", kwargs=_pk("card_id"), ok=302),
    "cards:unfreeze": Rule(C, method="post", kind="card", kwargs=_pk("card_id"), ok=302),
    "cards:report_lost": Rule(C, kind="card", kwargs=_pk("card_id")),
    "cards:transactions": Rule(C),
    "cards:transactions_export": Rule(C, roles={"staff": 404}, why="no card to export"),
    "cards:transaction": Rule(C, kind="transaction", kwargs=_pk("transaction_id")),
    "cards:rewards": Rule(C),
    "payments:overview": Rule(C),
    "payments:detail": Rule(C, kind="payment", kwargs=_pk("payment_id")),
    "payments:cancel": Rule(C, kind="payment", kwargs=_pk("payment_id")),
    "payments:pay": Rule(C, kind="account", kwargs=_pk("account_id")),
    "payments:autopay": Rule(C, kind="account", kwargs=_pk("account_id")),
    "payments:autopay_edit": Rule(C, kind="account", kwargs=_pk("account_id")),
    "payments:autopay_off": Rule(C, kind="account", kwargs=_pk("account_id"), ok=302, why="autopay is already off"),
    "payments:method_remove": Rule(C, kind="method", kwargs=_pk("method_id")),
    "disputes:list": Rule(C),
    "disputes:start": Rule(C, kind="disputable", kwargs=_pk("transaction_id")),
    "disputes:detail": Rule(C, kind="dispute", kwargs=_pk("dispute_id")),
    "disputes:add_info": Rule(C, method="post", kind="dispute", kwargs=_pk("dispute_id")),
    "disputes:attachment": Rule(
        C, kind="attachment", kwargs=lambda a: {"dispute_id": a.dispute_id, "attachment_id": a.pk}
    ),
    "statements:list": Rule(C),
    "statements:pdf": Rule(C, kind="statement", kwargs=_pk("statement_id")),
    "statements:preparing": Rule(C, kind="statement", kwargs=_pk("statement_id")),
    "statements:csv": Rule(C, kind="statement", kwargs=_pk("statement_id")),
    "statements:ofx": Rule(C, kind="statement", kwargs=_pk("statement_id")),
    # --- Business-admin-owned --------------------------------------------------------------------
    # Someone who administers no program gets 404 everywhere here (not 403: nothing to see).
    "business:index": Rule(B, ok=404, roles={"admin": 302, "other_admin": 302}, why="to the last program looked at"),
    "business:switch": Rule(B, kind="program", query=lambda p: {"program": p.pk}, ok=302),
    "business:overview": Rule(B, kind="program", kwargs=_pk("program_id")),
    "business:cards": Rule(B, kind="program", kwargs=_pk("program_id")),
    "business:card_request": Rule(B, kind="program", kwargs=_pk("program_id")),
    "business:reports": Rule(B, kind="program", kwargs=_pk("program_id")),
    "business:report_csv": Rule(B, kind="program", kwargs=_pk("program_id")),
    "business:transactions_csv": Rule(B, kind="program", kwargs=_pk("program_id")),
    "business:card": Rule(B, kind="business_card", kwargs=_pk("card_id")),
    "business:card_limit": Rule(B, kind="business_card", kwargs=_pk("card_id")),
    "business:card_categories": Rule(B, kind="business_card", kwargs=_pk("card_id")),
    "business:card_freeze": Rule(B, method="post", kind="business_card", kwargs=_pk("card_id"), ok=302),
    "business:card_unfreeze": Rule(B, method="post", kind="business_card", kwargs=_pk("card_id"), ok=302),
    "business:card_close": Rule(B, kind="business_card", kwargs=_pk("card_id")),
}

# Every URL of the staff console (the Django admin, 2FA-protected): staff only. What a
# staff member gets on each is worked out from the ModelAdmin's own permissions.
NAMESPACE_RULES: dict[str, Rule] = {
    "admin": Rule(Access.STAFF, ok=200, anonymous=302, why="the staff console (security.admin_site)"),
}


@dataclass(frozen=True)
class Pattern:
    """One URL pattern of the URLconf, as the walk finds it."""

    key: str  # "namespace:name", or "namespace:route" for a pattern without a name
    name: str | None  # "namespace:name"
    route: str  # the full route, e.g. "cards/<int:card_id>/freeze/"
    namespace: str
    params: tuple[str, ...]  # the route's keyword arguments

    def __str__(self) -> str:
        return self.key


def url_patterns() -> list[Pattern]:
    """Every pattern of the URLconf, admin included, in order."""
    from django.urls import URLPattern, URLResolver, get_resolver

    found: list[Pattern] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern.url_patterns, route, inner)
            elif isinstance(pattern, URLPattern):
                name = None
                if pattern.name:
                    name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                key = name or (f"{namespace}:{route}" if namespace else route)
                params = tuple(_params(pattern.pattern))
                found.append(Pattern(key=key, name=name, route=route, namespace=namespace, params=params))

    walk(get_resolver().url_patterns, "", "")
    return found


def _params(pattern) -> list[str]:
    converters = getattr(pattern, "converters", None)
    if converters:
        return list(converters)
    return list(pattern.regex.groupindex)


def rule_for(pattern: Pattern) -> Rule | None:
    if pattern.name and pattern.name in RULES:
        return RULES[pattern.name]
    for rule in RULES.values():
        if pattern.route in rule.routes:
            return rule
    top = pattern.namespace.split(":")[0] if pattern.namespace else ""
    return NAMESPACE_RULES.get(top)


def stale_declarations(patterns: list[Pattern]) -> list[str]:
    """Declarations whose pattern no longer exists (by name, or by any of its routes)."""
    names = {p.name for p in patterns if p.name}
    routes = {p.route for p in patterns}
    namespaces = {p.namespace.split(":")[0] for p in patterns}
    stale = [key for key, rule in RULES.items() if key not in names and not (set(rule.routes) & routes)]
    stale += [f"{namespace}:*" for namespace in NAMESPACE_RULES if namespace not in namespaces]
    return stale
