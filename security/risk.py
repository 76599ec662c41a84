"""Risk-based sign-in decisions: how unlike this user is this sign-in?

The model follows Freeman et al., "Who Are You? A Statistical Approach to Measuring
User Authenticity" (NDSS 2016). For each feature of a sign-in (device, network, browser
family, operating system, time of day) it compares how likely the value is for anyone
(the population, standing in for an attacker) with how likely it is for this user,
judged from their own successful sign-ins:

    contribution = log( P(value | population) / P(value | user) )

The user's estimate is backed off to the population with a prior worth ``PRIOR_STRENGTH``
sign-ins:

    P(value | user) = (count_user(value) + α · P(value | population)) / (n_user + α)

so a user with no history scores 0 on every feature (a new user is not punished), and a
value the user has never used costs log((n + α) / α): more, the longer the history that
never showed it. Signs of an attack that a user's history cannot show (password failures
on the User ID, failures and many User IDs from one IP address, a brand-new account) add
fixed log-odds. The sum is the score: 0 means "as likely this user as anyone", each unit
makes an attacker about e (2.7) times likelier.

Two rules sit on top of the score because the sign-in policy promises them: a device the
user has not chosen to remember is never "low" (it always gets a code), and a device and
network this user has never used, together with signs of guessing, is always "high".

Reads only: the history is ``SecurityEvent`` sign-ins (``detail["device"]`` holds the
SHA-256 of the browser's device cookie token, absent when it had none) and the
remembered devices are ``TrustedDevice`` rows.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import user_agents
from axes.helpers import get_client_username
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils import timezone

from portal.net import client_ip, ip_network

from .devices import request_device_hash
from .models import SecurityEvent, TrustedDevice

LOW, MEDIUM, HIGH = "low", "medium", "high"

# --- Tuning ----------------------------------------------------------------------------
# Thresholds and failure limits are settings (see ``_setting``); these shape the model.

PRIOR_STRENGTH = 5.0  # α: the population counts as this many of the user's own sign-ins
# The most one familiar value can lower the score, so that a known device cannot hide a
# credential-stuffing IP address or a burst of wrong passwords.
MAX_REASSURANCE = -2.0
REASON_MIN = 0.5  # a feature is named as a reason from this contribution up

# A bounded history keeps every assessment to a fixed number of small queries.
HISTORY_LIMIT = 200
HISTORY_WINDOW = timedelta(days=180)

# The population: the latest successful sign-ins of everyone, summarised and cached.
POPULATION_SAMPLE = 2000
POPULATION_CACHE_KEY = "risk:population:v1"  # bump when _Population changes shape
# How many different values we assume exist before looking: a value nobody in the sample
# used is rare, not impossible. Device tokens are per browser, so any one is very rare.
VOCABULARY = {"device": 1000, "network": 1000, "software": 50}
HOUR_SPREAD = 2  # "the same time of day" means within 2 hours either side
HOUR_PRIOR = 24.0  # pseudo sign-ins spread evenly over the day

USER_FAILURE_WINDOW = timedelta(hours=24)
IP_FAILURE_WINDOW = timedelta(hours=1)
IP_USER_ID_WINDOW = timedelta(hours=24)

NEW_ACCOUNT_AGE = timedelta(days=30)
# We know little about a new account, so it gets a little less benefit of the doubt;
# less than the medium threshold, so the account's age alone never asks for a code.
NEW_ACCOUNT_LOG_ODDS = 1.0
# Attack signals at or above this, on a device and network the user has never used: high.
ATTACK_SIGNALS_HIGH = 3.0


@dataclass(frozen=True)
class _CountSignal:
    """Log-odds from a count of suspicious events: the first ``free`` are ordinary (a
    mistyped password), each one after adds ``weight``, up to ``cap``."""

    free: int
    weight: float
    cap: float

    def log_odds(self, count: int) -> float:
        return min(self.cap, max(0, count - self.free) * self.weight)


# Wrong passwords on this User ID since its last successful sign-in (at most 24 hours).
USER_FAILURES = _CountSignal(free=1, weight=1.5, cap=6.0)
# Wrong passwords from this IP address in the last hour, on other User IDs.
IP_FAILURES = _CountSignal(free=3, weight=0.5, cap=4.0)
# Other User IDs that failed from this IP address in 24 hours: credential stuffing. Ten
# of them reach the high threshold on their own.
IP_USER_IDS = _CountSignal(free=2, weight=1.0, cap=8.0)


# --- Reasons and how they read -------------------------------------------------------
# Reason codes are fixed strings: never an address, a token or a User ID.

# Reasons that read after "this is ...".
_THIS_IS = {
    "new_device": "a new device",
    "new_network": "a new network",
    "unusual_time": "an unusual time of day for you",
    "unusual_browser": "a browser you don't usually use",
    "unusual_os": "an operating system you don't usually use",
}
# Reasons that are clauses of their own.
_CLAUSES = {
    "device_not_remembered": "you haven't asked us to remember this device",
    "recent_failures": "there were recent failed sign-ins to your User ID",
    "network_failures": "there were many failed sign-ins from this internet address",
    "many_user_ids": "this internet address tried to sign in to many User IDs",
    "new_account": "your account is new",
    "unusual_sign_in": "this sign-in doesn't look like your usual ones",
}
REASON_TEXT = {**_THIS_IS, **_CLAUSES}


def _joined(items: list[str], *, serial_comma: bool = False) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + (", and " if serial_comma else " and ") + items[-1]


def risk_reasons_sentence(reasons: list[str]) -> str:
    """The reasons as one clause, e.g. "this is a new device and a new network". Also for
    stored ``SecurityEvent.risk_reasons`` (the admin, the sign-in history page); codes
    this version does not know are left out."""
    things = [_THIS_IS[r] for r in reasons if r in _THIS_IS]
    parts = [f"this is {_joined(things)}"] if things else []
    parts += [_CLAUSES[r] for r in reasons if r in _CLAUSES]
    return _joined(parts, serial_comma=any(" and " in part for part in parts))


@dataclass(frozen=True)
class RiskAssessment:
    score: float  # higher = riskier; the sum of ``contributions``
    level: str  # LOW | MEDIUM | HIGH, after the policy rules
    reasons: list[str]  # machine codes, see REASON_TEXT
    # Per feature, for staff and tuning (feature names and numbers only).
    contributions: dict[str, float] = field(default_factory=dict)

    @property
    def step_up_required(self) -> bool:
        return self.level != LOW

    @property
    def may_remember_device(self) -> bool:
        return self.level != HIGH

    @property
    def alert_user(self) -> bool:
        return self.level == HIGH

    def explain(self) -> str:
        if self.level == LOW:
            return "We recognized this device, so we didn't ask for a code."
        return f"We asked for a code because {risk_reasons_sentence(self.reasons)}."


# --- What a sign-in looks like ---------------------------------------------------------


@lru_cache(maxsize=2048)
def _ua_families(user_agent: str) -> tuple[str, str]:
    parsed = user_agents.parse(user_agent or "")
    return parsed.browser.family, parsed.os.family


@dataclass(frozen=True)
class _PastSignIn:
    device: str | None
    network: str
    browser: str
    os: str
    hour: int
    at: datetime

    @property
    def software(self) -> str:
        return f"{self.browser} on {self.os}"


def _past_sign_in(at: datetime, ip: str | None, user_agent: str, device: Any) -> _PastSignIn:
    browser, os_family = _ua_families(user_agent)
    return _PastSignIn(
        device=device if isinstance(device, str) and device else None,
        # Derived from the address rather than detail["network"], so events written
        # before device recognition count too.
        network=ip_network(ip),
        browser=browser,
        os=os_family,
        hour=_local_hour(at),
        at=at,
    )


def _successful_sign_ins() -> QuerySet[SecurityEvent]:
    return SecurityEvent.objects.filter(kind=SecurityEvent.Kind.SIGN_IN_SUCCEEDED).order_by("-created_at")


def _history(*, owner: Q, now: datetime) -> list[_PastSignIn]:
    """The user's latest successful sign-ins (newest first): one query, at most
    ``HISTORY_LIMIT`` rows. Only completed sign-ins count, so an attacker who had the
    password but failed the code does not teach the model their device."""
    rows = (
        _successful_sign_ins()
        .filter(owner, created_at__gt=now - HISTORY_WINDOW, created_at__lte=now)
        .values_list("created_at", "ip_address", "user_agent", "detail__device")[:HISTORY_LIMIT]
    )
    return [_past_sign_in(*row) for row in rows]


def _local_hour(at: datetime) -> int:
    # The portal's own zone, not whichever one a request activated, so that every hour
    # in the history, the population and the sign-in is on one clock.
    return timezone.localtime(at, timezone.get_default_timezone()).hour


def _hours_near(hour: int) -> list[int]:
    return [(hour + delta) % 24 for delta in range(-HOUR_SPREAD, HOUR_SPREAD + 1)]


@dataclass(frozen=True)
class _Population:
    total: int
    networks: Counter[str]
    software: Counter[str]  # "Chrome on Windows"
    hours: tuple[int, ...]  # sign-ins per local hour of day

    def share(self, feature: str, counts: Counter[str], value: str | None) -> float:
        return (counts[value or ""] + 1) / (self.total + VOCABULARY[feature])

    def hour_share(self, hour: int) -> float:
        near = _hours_near(hour)
        return (sum(self.hours[h] for h in near) + HOUR_PRIOR * len(near) / 24) / (self.total + HOUR_PRIOR)


def _population() -> _Population:
    """Everyone's recent sign-ins, summarised once per ``RISK_POPULATION_CACHE_SECONDS``:
    one query (and the parsing of each distinct user agent) when the cache is cold."""
    population = cache.get(POPULATION_CACHE_KEY)
    if population is None:
        rows = _successful_sign_ins().values_list("created_at", "ip_address", "user_agent", "detail__device")
        sample = [_past_sign_in(*row) for row in rows[:POPULATION_SAMPLE]]
        hours = Counter(p.hour for p in sample)
        population = _Population(
            total=len(sample),
            networks=Counter(p.network for p in sample),
            software=Counter(p.software for p in sample),
            hours=tuple(hours[h] for h in range(24)),
        )
        cache.set(POPULATION_CACHE_KEY, population, _setting("RISK_POPULATION_CACHE_SECONDS", 3600))
    return population


def _log_ratio(count: int, n: int, population_share: float) -> float:
    """log P(value | population) / P(value | user), the user's estimate backed off to the
    population: 0 with no history, log((n + α) / α) for a value never seen in n."""
    user_share = (count + PRIOR_STRENGTH * population_share) / (n + PRIOR_STRENGTH)
    return max(MAX_REASSURANCE, math.log(population_share / user_share))


# --- The assessment --------------------------------------------------------------------


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def _attack_counts(*, user, ip: str | None, since_user: datetime, now: datetime) -> dict[str, int]:
    """Failures on the User ID and from the IP address, in one query."""
    from_ip = Q(ip_address=ip) if ip else Q(pk__in=[])
    other_user_id = ~Q(username_attempted__iexact=user.username) & ~Q(username_attempted="")
    return SecurityEvent.objects.filter(
        Q(user=user) | from_ip,
        kind=SecurityEvent.Kind.SIGN_IN_FAILED,
        created_at__gt=now - max(USER_FAILURE_WINDOW, IP_USER_ID_WINDOW),
        created_at__lte=now,
    ).aggregate(
        user_failures=Count("pk", filter=Q(user=user, created_at__gt=since_user)),
        # The user's own typos are counted above; here, everyone else's from this address.
        ip_failures=Count("pk", filter=from_ip & ~Q(user=user) & Q(created_at__gt=now - IP_FAILURE_WINDOW)),
        ip_user_ids=Count(
            Lower("username_attempted"),
            distinct=True,
            filter=from_ip & other_user_id & Q(created_at__gt=now - IP_USER_ID_WINDOW),
        ),
    )


def risk_assess(
    *, user, ip: str | None, user_agent: str, device_hash: str | None, now: datetime | None = None
) -> RiskAssessment:
    """Score a sign-in whose password was right, before its ``SIGN_IN_SUCCEEDED`` event is
    recorded. Three queries (two without a device cookie), four when the population
    cache is cold, however long the user's history."""
    now = now or timezone.now()
    history = _history(owner=Q(user=user), now=now)
    population = _population()
    n = len(history)
    contributions: dict[str, float] = {}
    reasons: list[str] = []

    def add(feature: str, value: float, reason: str | None = None) -> None:
        contributions[feature] = value
        if reason and value >= REASON_MIN:
            reasons.append(reason)

    # Device: remembered (a TrustedDevice), seen in a completed sign-in, or never.
    trusted = (
        device_hash is not None
        and TrustedDevice.objects.filter(user=user, token_hash=device_hash, revoked_at__isnull=True).exists()
    )
    device_uses = sum(1 for p in history if device_hash and p.device == device_hash)
    if trusted:
        add("device", MAX_REASSURANCE)
    else:
        add("device", _log_ratio(device_uses, n, 1 / (population.total + VOCABULARY["device"])))
        reasons.append("device_not_remembered" if device_uses else "new_device")

    network = ip_network(ip)
    network_uses = sum(1 for p in history if network and p.network == network)
    network_share = population.share("network", population.networks, network)
    add("network", _log_ratio(network_uses, n, network_share), "new_network")

    # Browser family and operating system mostly change together (a new phone brings
    # both), so they are one feature: apart, they would count one new phone twice.
    browser, os_family = _ua_families(user_agent)
    software = f"{browser} on {os_family}"
    software_uses = sum(1 for p in history if p.software == software)
    software_share = population.share("software", population.software, software)
    add("software", _log_ratio(software_uses, n, software_share))
    if contributions["software"] >= REASON_MIN:
        new_os = all(p.os != os_family for p in history)
        # Name what changed; a known browser on a known system, newly paired, is "a browser".
        if not new_os or all(p.browser != browser for p in history):
            reasons.append("unusual_browser")
        if new_os:
            reasons.append("unusual_os")

    hour = _local_hour(now)
    hour_uses = sum(1 for p in history if p.hour in _hours_near(hour))
    add("time_of_day", _log_ratio(hour_uses, n, population.hour_share(hour)), "unusual_time")

    # Failures on the User ID count since its last good sign-in: typos before it are done.
    since = max(now - USER_FAILURE_WINDOW, history[0].at) if history else now - USER_FAILURE_WINDOW
    counts = _attack_counts(user=user, ip=ip, since_user=since, now=now)
    add("user_failures", USER_FAILURES.log_odds(counts["user_failures"]), "recent_failures")
    add("ip_failures", IP_FAILURES.log_odds(counts["ip_failures"]), "network_failures")
    add("ip_user_ids", IP_USER_IDS.log_odds(counts["ip_user_ids"]), "many_user_ids")
    attack_signals = contributions["user_failures"] + contributions["ip_failures"] + contributions["ip_user_ids"]

    add("account_age", NEW_ACCOUNT_LOG_ODDS if now - user.date_joined < NEW_ACCOUNT_AGE else 0.0, "new_account")

    score = sum(contributions.values())
    level = _level(
        score,
        trusted=trusted,
        never_seen_here=not trusted and not device_uses and not network_uses,
        attack_signals=attack_signals,
    )
    if level != LOW and not reasons:
        reasons.append("unusual_sign_in")  # several small oddities, none worth naming alone
    return RiskAssessment(
        score=round(score, 2),
        level=level,
        reasons=reasons,
        contributions={feature: round(value, 2) for feature, value in contributions.items()},
    )


def _level(score: float, *, trusted: bool, never_seen_here: bool, attack_signals: float) -> str:
    if score >= _setting("RISK_HIGH_THRESHOLD", 8.0):
        level = HIGH
    elif score >= _setting("RISK_MEDIUM_THRESHOLD", 2.0):
        level = MEDIUM
    else:
        level = LOW
    # The policy's promises, whatever the score: a device the user has not chosen to
    # remember always gets a code; guessing, then a device and network this user has
    # never used, is an account takeover until shown otherwise.
    if level == LOW and not trusted:
        level = MEDIUM
    if never_seen_here and attack_signals >= ATTACK_SIGNALS_HIGH:
        level = HIGH
    return level


# --- From a request --------------------------------------------------------------------


def risk_assess_request(*, request: HttpRequest, user, now: datetime | None = None) -> RiskAssessment:
    return risk_assess(
        user=user,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        device_hash=request_device_hash(request),
        now=now,
    )


def failure_limit_for(request: HttpRequest, credentials: dict | None = None) -> int:
    """django-axes' ``AXES_FAILURE_LIMIT``: how many wrong passwords lock this User ID for
    this requester. Fewer from a browser and network the User ID has never signed in
    from, so a guesser stops sooner while the cardholder on a remembered device keeps
    room for typos. axes calls it positionally, several times per request: memoised."""
    username = get_client_username(request, credentials)
    limits = getattr(request, "_risk_failure_limits", None)
    if limits is None:
        limits = request._risk_failure_limits = {}  # type: ignore[attr-defined]
    if username not in limits:
        limits[username] = _failure_limit(request=request, username=username)
    return limits[username]


def _failure_limit(*, request: HttpRequest, username: str | None) -> int:
    trusted_limit = _setting("RISK_FAILURE_LIMIT_TRUSTED", 5)
    known_network_limit = _setting("RISK_FAILURE_LIMIT_KNOWN_NETWORK", 4)
    unrecognized_limit = _setting("RISK_FAILURE_LIMIT_UNRECOGNIZED", 3)
    # Filter through the User ID instead of fetching the user first: the same queries
    # run whether or not the User ID exists, so timing does not tell.
    owner = Q(user__username__iexact=username) if username else Q(pk__in=[])
    device_hash = request_device_hash(request)
    if device_hash and TrustedDevice.objects.filter(owner, token_hash=device_hash, revoked_at__isnull=True).exists():
        return trusted_limit
    network = ip_network(client_ip(request))
    history = _history(owner=owner, now=timezone.now())
    if any((device_hash and p.device == device_hash) or (network and p.network == network) for p in history):
        return known_network_limit
    return unrecognized_limit
