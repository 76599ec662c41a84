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
