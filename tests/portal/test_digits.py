"""portal.digits.is_digits: 0-9 only, where str.isdigit() lets other digits through."""

import pytest

from portal.digits import is_digits


@pytest.mark.parametrize("value", ["0", "0123456789", "9" * 40])
def test_ascii_digits_are_digits(value):
    assert is_digits(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "²",  # superscript two: isdigit() is true, int() refuses it
        "12²4",
        "①",
        "١٢٣٤",  # Arabic-Indic: isdigit() is true and int() reads it, no bank would
        "１２３",  # fullwidth
        " 12",
        "12 ",
        "-1",
        "+1",
        "1.0",
        "1_000",
    ],
)
def test_anything_else_is_not(value):
    assert not is_digits(value)
