import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url_name", ["accounts:enroll", "recovery:user_id_card"])
def test_superscript_digit_in_card_number_is_a_form_error_not_a_500(client, url_name):
    # "²".isdigit() is True but int("²") raises: CardNumberField passes it to the Luhn check.
    client.raise_request_exception = False
    response = client.post(
        reverse(url_name),
        {
            "card_number": "3782 822463 1000²",
            "card_id": "1234",
            "name": "Rosa Delgado",
            "verify_with": "dob",
            "dob_day": 3,
            "dob_month": 11,
            "dob_year": 1979,
        },
    )
    assert response.status_code == 200
