import re

from django.core.exceptions import ValidationError

USER_ID_RE = re.compile(r"^[A-Za-z0-9._-]{6,20}$")


def validate_user_id(value: str) -> None:
    if not USER_ID_RE.fullmatch(value or ""):
        raise ValidationError(
            "Your User ID must be 6 to 20 characters: letters, numbers, dots (.), "
            "hyphens (-) or underscores (_), with no spaces.",
            code="invalid_user_id",
        )
    # A card number typed at sign-in is stored masked ("•••• 1234") and locked under that
    # mask, so a User ID that is one would share its lock with every card ending the same.
    from cards.cardnumbers import luhn_checksum_ok

    if luhn_checksum_ok(value.replace("-", "")):
        raise ValidationError(
            "Your User ID can't be a card number. Choose something you'll remember that isn't on your card.",
            code="user_id_card_number",
        )
