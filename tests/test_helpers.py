"""The test suite's own helpers: a helper that cannot fail hides the failures it checks."""

from tests.factories import shows_card_id


def test_shows_card_id_finds_the_card_id_as_a_number_of_its_own():
    assert shows_card_id("Card ID 4821 entered", "4821")
    assert shows_card_id("4821", "4821")
    assert shows_card_id("id=4821.", "4821")


def test_shows_card_id_ignores_the_digits_inside_longer_numbers():
    assert not shows_card_id("at 14:38:06.148213 the code 482101 was sent", "4821")
    assert not shows_card_id("no digits here", "4821")
