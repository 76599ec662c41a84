import pytest
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import PasswordHistory
from accounts.passwords import (
    BreachedPasswordValidator,
    LengthValidator,
    LettersAndDigitsValidator,
    PasswordHistoryValidator,
    PersonalInformationValidator,
)
from tests.factories import CardholderFactory, UserFactory

GOOD = "tangerine-Velvet-7429"


def _refused(validator, password, user=None, code=None):
    with pytest.raises(ValidationError) as error:
        validator.validate(password, user)
    assert error.value.error_list[0].code == code
    return error.value.messages[0]


def test_length_between_12_and_128():
    validator = LengthValidator(12, 128)
    assert "at least 12" in _refused(validator, "short1abc", code="password_too_short")
    assert "128 characters or fewer" in _refused(validator, "a1" * 65, code="password_too_long")
    validator.validate("a" * 11 + "1")
    validator.validate("a1" * 64)


@pytest.mark.parametrize("password", ["onlyletterslong", "123456789012345", "!!!!!!!!!!!!!!"])
def test_letters_and_digits_are_both_required(password):
    _refused(LettersAndDigitsValidator(), password, code="password_letters_digits")


def test_letters_and_digits_accepts_unicode_letters():
    LettersAndDigitsValidator().validate("żółwiKawa2024x")


@pytest.mark.parametrize(
    "password", ["password123456", "Password2024!", "!!qwerty123456", "iloveyou12345", "Dragon1234567"]
)
def test_breached_passwords_are_refused_even_with_digits_added(password):
    assert "too common" in _refused(BreachedPasswordValidator(), password, code="password_too_common")


def test_an_uncommon_password_passes_the_breach_list():
    BreachedPasswordValidator().validate(GOOD)


@pytest.mark.django_db
def test_password_must_not_contain_user_id_name_or_company():
    holder = CardholderFactory(legal_name="Maria Gonzalez")
    user = UserFactory(username="MGonz_77", cardholder=holder)
    validator = PersonalInformationValidator()
    assert "User ID" in _refused(validator, "xx-mgonz_77-2024", user, code="password_personal")
    assert "your name" in _refused(validator, "Gonzalez-Kitchen-99", user, code="password_personal")
    assert "company" in _refused(validator, "MeridianRocks2024", user, code="password_product_name")
    validator.validate(GOOD, user)


@pytest.mark.django_db
def test_last_four_passwords_cannot_be_reused():
    user = UserFactory()
    history = []
    for i in range(5):
        password = f"{GOOD}-{i}"
        services.password_set(user=user, raw_password=password)
        history.append(password)
    validator = PasswordHistoryValidator(4)
    for recent in history[-4:]:
        assert "last 4" in _refused(validator, recent, user, code="password_reused")
    validator.validate(history[0], user)  # the fifth-newest is allowed again
    assert PasswordHistory.objects.filter(user=user).count() == 4


@pytest.mark.django_db
def test_password_set_enforces_the_whole_policy_and_changes_nothing_when_refused():
    user = UserFactory()
    before = user.password
    with pytest.raises(ValidationError):
        services.password_set(user=user, raw_password="password1234")
    user.refresh_from_db()
    assert user.password == before
    assert not PasswordHistory.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_rules_check_lists_every_rule_with_its_state():
    user = UserFactory(username="zqxwvu01")
    results = services.password_rules_check(raw_password="zqxwvu01", user=user)
    assert [r["ok"] for r in results] == [False, True, True, False, True]
    assert all(r["rule"] for r in results)
    assert all(r["ok"] for r in services.password_rules_check(raw_password=GOOD, user=user))


def test_policy_is_configured_from_settings(settings):
    names = [v["NAME"].rsplit(".", 1)[1] for v in settings.AUTH_PASSWORD_VALIDATORS]
    assert names == [
        "LengthValidator",
        "LettersAndDigitsValidator",
        "BreachedPasswordValidator",
        "PersonalInformationValidator",
        "PasswordHistoryValidator",
        "StaffPasswordValidator",  # staff only (tests/accounts/test_staff_sign_in.py)
    ]
