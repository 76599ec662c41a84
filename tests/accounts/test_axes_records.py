"""What django-axes keeps of a failed sign-in: never the password, never a card number
typed as the User ID (axes stores the POST it saw, masking only the fields it is told)."""

import pytest
from axes.models import AccessAttempt
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.validators import validate_user_id
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WRONG_PASSWORD = "Nearly-My-Password-7"
CARD_NUMBER = "4111 1111 1111 1111"


def sign_in(client, user_id: str, password: str):
    return client.post(
        reverse("two_factor:login"),
        {"sign_in_view-current_step": "auth", "auth-username": user_id, "auth-password": password},
    )


def test_a_wrong_password_is_not_kept_in_the_failed_attempt(client):
    user = UserFactory()
    sign_in(client, user.username, WRONG_PASSWORD)
    [attempt] = AccessAttempt.objects.all()
    assert attempt.failures_since_start == 1
    assert WRONG_PASSWORD not in attempt.post_data
    assert "auth-password=****" in attempt.post_data


def test_a_card_number_typed_as_the_user_id_is_not_kept_in_the_failed_attempt(client):
    sign_in(client, CARD_NUMBER, WRONG_PASSWORD)
    sign_in(client, CARD_NUMBER.replace(" ", ""), WRONG_PASSWORD)
    stored = " ".join(f"{a.username} {a.post_data} {a.get_data}" for a in AccessAttempt.objects.all())
    assert "1111 1111" not in stored and "41111111" not in stored
    assert WRONG_PASSWORD not in stored


@pytest.mark.parametrize("user_id", ["4111111111111111", "4111-1111-1111-1111", "378282246310005"])
def test_a_user_id_cannot_be_a_card_number(user_id):
    with pytest.raises(ValidationError) as refused:
        validate_user_id(user_id)
    assert refused.value.code == "user_id_card_number"


@pytest.mark.parametrize("user_id", ["4111111111111112", "jsmith_2026", "123456"])
def test_other_user_ids_are_still_fine(user_id):
    validate_user_id(user_id)
