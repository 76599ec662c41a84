"""Card numbers and card IDs, without ever storing either.

* The card number (PAN) is looked up by a keyed hash: HMAC-SHA256 under
  ``CARD_PAN_HASH_KEY``. Without the key, the hash cannot be brute-forced even though
  card numbers have little entropy.
* The 4-digit card ID (CID) printed on the card is derived, never stored: HMAC-SHA256
  under ``CARD_VERIFICATION_KEY`` over the PAN and expiry, decimalised to 4 digits.
  Verification recomputes it and compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.conf import settings

PAN_LENGTH = 15
_NON_DIGITS = re.compile(r"[\s-]")


def normalize_pan(value: str) -> str:
    """Strip the spaces and hyphens people type; what is left must be digits."""
    return _NON_DIGITS.sub("", value or "")


def luhn_checksum_ok(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
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


def pan_hash(pan: str) -> str:
    return hmac.new(settings.CARD_PAN_HASH_KEY.encode(), pan.encode(), hashlib.sha256).hexdigest()


def _decimalise(digest_hex: str, length: int) -> str:
    """The classic issuer decimalisation: take the decimal digits of the hex digest in
    order, then map the letters a-f to 0-5 if more digits are needed."""
    digits = [c for c in digest_hex if c.isdigit()]
    if len(digits) < length:
        digits += [str(int(c, 16) - 10) for c in digest_hex if not c.isdigit()]
    return "".join(digits[:length])


def derive_card_id(*, pan: str, expiry_month: int, expiry_year: int) -> str:
    message = f"{pan}|{expiry_year % 100:02d}{expiry_month:02d}".encode()
    digest = hmac.new(settings.CARD_VERIFICATION_KEY.encode(), message, hashlib.sha256).hexdigest()
    return _decimalise(digest, 4)


def card_id_matches(*, pan: str, expiry_month: int, expiry_year: int, card_id: str) -> bool:
    expected = derive_card_id(pan=pan, expiry_month=expiry_month, expiry_year=expiry_year)
    return hmac.compare_digest(expected.encode(), (card_id or "").strip().encode())


def mask_pan(pan: str) -> str:
    return f"•••• {pan[-4:]}"
