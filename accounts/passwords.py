"""The password policy: each rule a Django password validator, so the same rules run in
every form (enrollment, reset, change, admin) and in the live check as the user types.

Configured in settings.AUTH_PASSWORD_VALIDATORS; numbers come from settings too."""

from __future__ import annotations

import gzip
import hashlib
import re
from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError

DEFAULT_LIST = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"


class LengthValidator:
    def __init__(self, min_length: int = 12, max_length: int = 128):
        self.min_length = min_length
        self.max_length = max_length

    def validate(self, password: str, user=None) -> None:
        if len(password) < self.min_length:
            raise ValidationError(
                f"Your password must be at least {self.min_length} characters long.", code="password_too_short"
            )
        if len(password) > self.max_length:
            raise ValidationError(
                f"Your password must be {self.max_length} characters or fewer.", code="password_too_long"
            )

    def get_help_text(self) -> str:
        return f"Use {self.min_length} to {self.max_length} characters."


class LettersAndDigitsValidator:
    def validate(self, password: str, user=None) -> None:
        if not re.search(r"[^\W\d_]", password) or not re.search(r"\d", password):
            raise ValidationError(
                "Your password must include both letters and numbers.", code="password_letters_digits"
            )

    def get_help_text(self) -> str:
        return "Include both letters and numbers."


@cache
def _common_passwords(path: str) -> frozenset[str]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle if line.strip())


class BreachedPasswordValidator:
    """Refuses passwords on a list of ~40,000 seen in breaches, also when only digits
    or symbols were added at either end ("Password2024!")."""

    def __init__(self, path: str | None = None):
        self.path = str(path or DEFAULT_LIST)

    def validate(self, password: str, user=None) -> None:
        lowered = password.lower()
        core = re.sub(r"^[\d\W_]+|[\d\W_]+$", "", lowered)
        listed = _common_passwords(self.path)
        if lowered in listed or (len(core) >= 4 and core in listed):
            raise ValidationError(
                "That password is too common: it appears in lists that criminals use. Choose another.",
                code="password_too_common",
            )

    def get_help_text(self) -> str:
        return "Avoid common passwords, such as words followed by numbers."


def _personal_words(user) -> list[tuple[str, str]]:
    words: list[tuple[str, str]] = []
    if user is None:
        return words
    username = getattr(user, "username", "") or ""
    if username:
        words.append((username.lower(), "your User ID"))
    cardholder = getattr(user, "cardholder", None) if getattr(user, "cardholder_id", None) else None
    if cardholder is not None:
        for part in re.split(r"[\s'.-]+", cardholder.legal_name.lower()):
            if len(part) >= 3:
                words.append((part, "your name"))
    return words


def _product_words() -> list[str]:
    words = {w for w in re.split(r"\W+", settings.ISSUER_NAME.lower()) if len(w) >= 4}
    words.update(w.lower() for w in settings.PASSWORD_FORBIDDEN_WORDS)
    return sorted(words)


class PersonalInformationValidator:
    """No User ID, no part of the cardholder's name, no product or issuer name."""

    def validate(self, password: str, user=None) -> None:
        lowered = password.lower()
        for word, what in _personal_words(user):
            if word and word in lowered:
                raise ValidationError(f"Your password must not contain {what}.", code="password_personal")
        for word in _product_words():
            if word in lowered:
                raise ValidationError(
                    "Your password must not contain our company or card names.", code="password_product_name"
                )

    def get_help_text(self) -> str:
        return "Don't use your User ID, your name, or our company or card names."


class PasswordHistoryValidator:
    def __init__(self, count: int = 4):
        self.count = count

    def validate(self, password: str, user=None) -> None:
        if user is None or user.pk is None:
            return
        recent = list(
            user.password_history.order_by("-created_at", "-id").values_list("password", flat=True)[: self.count]
        )
        if user.password and user.password not in recent:
            recent.insert(0, user.password)
        for encoded in recent[: self.count]:
            if check_password(password, encoded):
                raise ValidationError(
                    f"Choose a password you have not used before: it can't be one of your last {self.count}.",
                    code="password_reused",
                )

    def get_help_text(self) -> str:
        return f"Don't reuse any of your last {self.count} passwords."


class StaffPasswordValidator:
    """Staff logins open the staff console, so their passwords are longer. Applies only
    to a user who is staff; the other rules apply to everyone already.

    A login made staff keeps the password it had: sign-in checks it against this rule
    (``staff_password_meets_policy``) and the console stays shut until it is changed."""

    def __init__(self, min_length: int = 16):
        self.min_length = min_length

    def applies_to(self, user) -> bool:
        return bool(getattr(user, "is_staff", False))

    def validate(self, password: str, user=None) -> None:
        if self.applies_to(user) and len(password) < self.min_length:
            raise ValidationError(
                f"Staff passwords must be at least {self.min_length} characters long.",
                code="password_too_short_for_staff",
            )

    def get_help_text(self) -> str:
        return f"Staff: use at least {self.min_length} characters."


def validators_for(user) -> list:
    """The configured validators that apply to this user (the staff rules only to staff)."""
    from django.contrib.auth.password_validation import get_default_password_validators

    return [v for v in get_default_password_validators() if getattr(v, "applies_to", lambda _user: True)(user)]


def help_texts_for(user) -> list[str]:
    """The rules to show a person choosing a password."""
    return [validator.get_help_text() for validator in validators_for(user)]


# --- Staff passwords set before the person became staff ---------------------------------

STAFF_PASSWORD_OUTDATED_KEY = "staff_password_outdated"


def _password_digest(user) -> str:
    # A digest of the stored hash, so the session never holds the hash itself.
    return hashlib.sha256((user.password or "").encode()).hexdigest()


def staff_password_meets_policy(*, user, raw_password: str) -> bool:
    """At sign-in, with the password just typed: whether it meets the staff-only rules
    (the rules for everyone were checked when it was set). When it does not, sign-in
    marks the session (``staff_password_outdated_mark``) and the staff console refuses
    it until the password is changed."""
    for validator in validators_for(user):
        if getattr(validator, "applies_to", None) is None:
            continue
        try:
            validator.validate(raw_password, user)
        except ValidationError:
            return False
    return True


def staff_password_outdated_mark(*, request, user) -> None:
    request.session[STAFF_PASSWORD_OUTDATED_KEY] = _password_digest(user)


def staff_password_outdated(request) -> bool:
    """This session signed in with a password below the staff rules, not changed since."""
    marked = request.session.get(STAFF_PASSWORD_OUTDATED_KEY) if hasattr(request, "session") else None
    user = getattr(request, "user", None)
    return bool(marked) and user is not None and marked == _password_digest(user)


MISMATCH = "The passwords don't match. Type the same password twice"


def new_password_clean(form, *, new: str, confirm: str, user) -> None:
    """The checks every "choose a password" form makes, from its ``clean()``: the new
    password against the policy (for ``user``: their name, User ID and history), then
    the confirmation. Errors go on the fields; nothing is raised."""
    from django.contrib.auth.password_validation import validate_password

    password, repeated = form.cleaned_data.get(new), form.cleaned_data.get(confirm)
    if password and new not in form.errors:
        try:
            validate_password(password, user)
        except ValidationError as error:
            form.add_error(new, error)
    if password and repeated and password != repeated:
        form.add_error(confirm, MISMATCH)
