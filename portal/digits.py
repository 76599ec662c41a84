"""What counts as "digits" in anything a person or a partner sends us: 0-9 and nothing else.

``str.isdigit()`` is not that check. It is also true for "²", "①" and the digits of
other scripts ("١٢٣"), which ``int()`` either refuses (a 500 where a clear message was
due) or reads as a number no bank, network or database of ours expects. Every gate in
front of ``int()``, a checksum or a stored number uses ``is_digits`` instead.
"""

from __future__ import annotations


def is_digits(value: str) -> bool:
    """True for one or more ASCII digits 0-9 only."""
    return value.isascii() and value.isdigit()


def digits_in(value: str | None) -> str:
    """The ASCII digits of what someone typed ("123 456" -> "123456"), for codes that
    may be typed with spaces or dashes. Other characters, other scripts' digits
    included, are left out, so the result is always safe for ``int()``."""
    return "".join(char for char in value or "" if char in "0123456789")
