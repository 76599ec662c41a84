"""Card numbers and card IDs, without ever storing either.

* The card number (PAN) is looked up by a keyed hash: HMAC-SHA256 under
  ``CARD_PAN_HASH_KEY``. Without the key, the hash cannot be brute-forced even though
  card numbers have little entropy.
* The 4-digit card ID (CID) printed on the card is derived, never stored: HMAC-SHA256
  under ``CARD_VERIFICATION_KEY`` over the PAN and expiry, decimalised to 4 digits.
  Verification recomputes it and compares in constant time.

Both keys are versioned so they can be rotated (docs/key-rotation.md). The current key
has a version number (``CARD_PAN_HASH_KEY_VERSION``, ``CARD_VERIFICATION_KEY_VERSION``,
default 1); retired keys that must still be accepted are listed as ``VERSION:KEY`` pairs
in ``CARD_PAN_HASH_OLD_KEYS`` / ``CARD_VERIFICATION_OLD_KEYS``. A card row remembers the
version of each: ``pan_key_version`` for its hash and ``card_id_key_version`` for the key
its printed card ID was derived under.

* A look-up by number tries every accepted version and matches ``(pan_hash,
  pan_key_version)``; a card found under an old version is rehashed under the current
  key on the spot, since the number is only ever in hand when someone presents it.
* A card ID is always checked under the card's own verification key version: the
  printed digits cannot change, so that key stays accepted until every card issued under
  it has expired or been replaced.

Key material never appears in an error, a log line or a ``repr()``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import operator
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from portal.digits import is_digits

logger = logging.getLogger(__name__)

PAN_LENGTH = 15
_NON_DIGITS = re.compile(r"[\s-]")

# Enforced at start-up (portal/settings.py) on every configured key. 32 characters of
# `secrets.token_urlsafe` are 192 bits.
MIN_KEY_LENGTH = 32
# Versions are stored in PositiveSmallIntegerFields.
MAX_KEY_VERSION = 32767


def normalize_pan(value: str) -> str:
    """Strip the spaces and hyphens people type; what is left must be digits."""
    return _NON_DIGITS.sub("", value or "")


def luhn_checksum_ok(number: str) -> bool:
    if not is_digits(number) or not 12 <= len(number) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def luhn_check_digit(partial: str) -> str:
    for candidate in "0123456789":
        if luhn_checksum_ok(partial + candidate):
            return candidate
    raise AssertionError("unreachable: one check digit always fits")


def generate_pan(bin_prefix: str | None = None) -> str:
    prefix = bin_prefix or settings.CARD_ISSUER_BIN
    body = prefix + "".join(secrets.choice("0123456789") for _ in range(PAN_LENGTH - len(prefix) - 1))
    return body + luhn_check_digit(body)


def mask_pan(pan: str) -> str:
    return f"•••• {pan[-4:]}"


# --- Key versions ------------------------------------------------------------------------


class KeyConfigError(ValueError):
    """A key setting is malformed. The message names settings and versions, never keys."""


class UnknownKeyVersion(LookupError):
    """A row refers to a key version that is no longer (or was never) configured."""


@dataclass(frozen=True)
class Keyring:
    """The current key of one kind and the retired keys still accepted, by version."""

    setting: str
    current_version: int
    keys: Mapping[int, str] = field(repr=False)

    @property
    def versions(self) -> tuple[int, ...]:
        """Every accepted version, the current one first."""
        return (self.current_version, *sorted((v for v in self.keys if v != self.current_version), reverse=True))

    @property
    def old_versions(self) -> tuple[int, ...]:
        return self.versions[1:]

    def accepts(self, version: int) -> bool:
        return version in self.keys

    def key(self, version: int | None = None) -> bytes:
        version = self.current_version if version is None else version
        if version not in self.keys:
            raise UnknownKeyVersion(f"{self.setting} version {version} is not configured")
        return self.keys[version].encode()


def parse_old_keys(value: str | Mapping[int, str] | None, *, setting: str) -> dict[int, str]:
    """``"2:key-b,1:key-a"`` (from the environment) or a mapping, to ``{version: key}``.

    A key may contain ``:`` but not ``,`` (``secrets.token_urlsafe`` keys contain neither).
    """
    if not value:
        return {}
    if isinstance(value, Mapping):
        items = list(value.items())
    else:
        items = []
        for position, entry in enumerate(value.split(","), start=1):
            entry = entry.strip()
            if not entry:
                continue
            version, sep, key = entry.partition(":")
            if not sep or not is_digits(version.strip()):
                raise KeyConfigError(f"{setting}: entry {position} is not VERSION:KEY (e.g. 1:the-old-key)")
            items.append((int(version.strip()), key.strip()))
    keys: dict[int, str] = {}
    for version, key in items:
        if version in keys:
            raise KeyConfigError(f"{setting}: version {version} is listed more than once")
        keys[version] = key
    return keys


def build_keyring(
    *,
    setting: str,
    current_key: str,
    current_version: int,
    old_keys: str | Mapping[int, str] | None,
    min_length: int | None = MIN_KEY_LENGTH,
) -> Keyring:
    """Validate one kind of key and return its keyring (raises KeyConfigError)."""
    old_setting = setting.removesuffix("_KEY") + "_OLD_KEYS"
    if isinstance(current_version, bool) or not isinstance(current_version, int):
        raise KeyConfigError(f"{setting}_VERSION must be a whole number")
    old = parse_old_keys(old_keys, setting=old_setting)
    for version in (current_version, *old):
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_KEY_VERSION:
            raise KeyConfigError(f"{setting}: key versions must be whole numbers from 1 to {MAX_KEY_VERSION}")
    if current_version in old:
        raise KeyConfigError(
            f"{old_setting} lists version {current_version}, which is the current {setting}_VERSION: "
            "give the new key a new version number"
        )
    if not current_key:
        raise KeyConfigError(f"{setting} is empty")
    for version, key in old.items():
        if not key:
            raise KeyConfigError(f"{old_setting}: the key for version {version} is empty")
        if hmac.compare_digest(key.encode(), current_key.encode()):
            raise KeyConfigError(f"{old_setting}: version {version} has the same key as the current {setting}")
    seen: dict[str, int] = {}
    for version, key in old.items():
        if key in seen:
            raise KeyConfigError(f"{old_setting}: versions {seen[key]} and {version} have the same key")
        seen[key] = version
    if min_length:
        if len(current_key) < min_length:
            raise KeyConfigError(f"{setting} is shorter than {min_length} characters")
        for version, key in old.items():
            if len(key) < min_length:
                raise KeyConfigError(
                    f"{old_setting}: the key for version {version} is shorter than {min_length} characters"
                )
    return Keyring(setting=setting, current_version=current_version, keys={**old, current_version: current_key})


def _keyring(setting: str) -> Keyring:
    # Built from settings on every use (a few dict operations), so overriding a setting
    # in a test or a shell takes effect. Lengths are enforced once, at start-up.
    prefix = setting.removesuffix("_KEY")
    try:
        return build_keyring(
            setting=setting,
            current_key=getattr(settings, setting),
            current_version=getattr(settings, f"{setting}_VERSION", 1),
            old_keys=getattr(settings, f"{prefix}_OLD_KEYS", None),
            min_length=None,
        )
    except KeyConfigError as exc:
        raise ImproperlyConfigured(str(exc)) from None


def pan_hash_keyring() -> Keyring:
    return _keyring("CARD_PAN_HASH_KEY")


def verification_keyring() -> Keyring:
    return _keyring("CARD_VERIFICATION_KEY")


# --- Card number hashes ------------------------------------------------------------------


def pan_hash(pan: str, *, version: int | None = None) -> str:
    """The hash under the current key, or under an accepted old ``version``."""
    return hmac.new(pan_hash_keyring().key(version), pan.encode(), hashlib.sha256).hexdigest()


def pan_hashes(pan: str) -> dict[int, str]:
    """The number's hash under every accepted version, current first."""
    ring = pan_hash_keyring()
    return {version: hmac.new(ring.key(version), pan.encode(), hashlib.sha256).hexdigest() for version in ring.versions}


def pan_lookup_q(pan: str):
    """A filter matching a card by ``(pan_hash, pan_key_version)`` under any accepted key."""
    from django.db.models import Q

    conditions = [Q(pan_hash=digest, pan_key_version=version) for version, digest in pan_hashes(pan).items()]
    return functools.reduce(operator.or_, conditions)


def card_find_by_pan(queryset, pan: str):
    """The card in ``queryset`` with this (normalized, Luhn-valid) number, or None.

    A card still hashed under an old key is rehashed under the current one, in the
    caller's transaction: one query when the card is current, two when it moves."""
    card = queryset.filter(pan_lookup_q(pan)).first()
    if card is not None:
        pan_rehash(card=card, pan=pan)
    return card


def pan_rehash(*, card, pan: str) -> bool:
    """Move ``card`` to the current PAN hash key if it is on an old one (lazy migration).
    ``pan`` must be the number the card was just found by."""
    ring = pan_hash_keyring()
    if card.pan_key_version == ring.current_version:
        return False
    old_version = card.pan_key_version
    digest = hmac.new(ring.key(), pan.encode(), hashlib.sha256).hexdigest()
    moved = (
        type(card)
        ._default_manager.filter(pk=card.pk, pan_key_version=old_version)
        .update(pan_hash=digest, pan_key_version=ring.current_version)
    )
    card.pan_hash, card.pan_key_version = digest, ring.current_version
    if moved:
        logger.info("card %s rehashed from PAN hash key version %s to %s", card.pk, old_version, ring.current_version)
    return bool(moved)


# --- Card IDs ------------------------------------------------------------------------------


def _decimalise(digest_hex: str, length: int) -> str:
    """The classic issuer decimalisation: take the decimal digits of the hex digest in
    order, then map the letters a-f to 0-5 if more digits are needed."""
    digits = [c for c in digest_hex if c.isdigit()]
    if len(digits) < length:
        digits += [str(int(c, 16) - 10) for c in digest_hex if not c.isdigit()]
    return "".join(digits[:length])


def derive_card_id(*, pan: str, expiry_month: int, expiry_year: int, key_version: int | None = None) -> str:
    """The card ID under the current verification key, or under ``key_version`` (raises
    UnknownKeyVersion when that version is not configured)."""
    key = verification_keyring().key(key_version)
    message = f"{pan}|{expiry_year % 100:02d}{expiry_month:02d}".encode()
    return _decimalise(hmac.new(key, message, hashlib.sha256).hexdigest(), 4)


def verification_key_accepted(version: int) -> bool:
    return verification_keyring().accepts(version)


def card_id_matches(
    *, pan: str, expiry_month: int, expiry_year: int, card_id: str, key_version: int | None = None
) -> bool:
    """Whether ``card_id`` is the one printed on the card, checked under the key version
    the card was issued with. An unconfigured version is a plain "no", never an error."""
    try:
        expected = derive_card_id(pan=pan, expiry_month=expiry_month, expiry_year=expiry_year, key_version=key_version)
    except UnknownKeyVersion:
        logger.error("card ID check under CARD_VERIFICATION_KEY version %s, which is not configured", key_version)
        return False
    return hmac.compare_digest(expected.encode(), (card_id or "").strip().encode())
