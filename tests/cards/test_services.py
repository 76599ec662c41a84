from decimal import Decimal

import pytest

from cards import cardnumbers, services
from cards.models import Card
from tests.factories import (
    BusinessProgramFactory,
    CardholderFactory,
    CardProductFactory,
    issue_card,
    open_account,
    shows_card_id,
)

pytestmark = pytest.mark.django_db


def test_issued_card_stores_only_hash_and_display_digits():
    holder = CardholderFactory()
    issued = issue_card(account=open_account(holder=holder))
    card = Card.objects.get(pk=issued.card.pk)
    assert card.pan_hash == cardnumbers.pan_hash(issued.pan)
    assert card.first6 == issued.pan[:6] and card.last4 == issued.pan[-4:]
    stored = " ".join(str(getattr(card, f.attname)) for f in Card._meta.concrete_fields)
    assert issued.pan not in stored
    assert issued.pan not in repr(issued) and not shows_card_id(repr(issued), issued.card_id)


def test_issued_card_id_verifies_against_the_printed_number():
    issued = issue_card(account=open_account(holder=CardholderFactory()))
    card = issued.card
    assert cardnumbers.card_id_matches(
        pan=issued.pan, expiry_month=card.expiry_month, expiry_year=card.expiry_year, card_id=issued.card_id
    )


def test_card_is_found_by_typed_number_with_spaces():
    issued = issue_card(account=open_account(holder=CardholderFactory()))
    typed = f"{issued.pan[:4]} {issued.pan[4:10]} {issued.pan[10:]}"
    assert services.card_find_by_number(pan=typed) == issued.card
    assert services.card_find_by_number(pan="4111111111111111") is None
    assert services.card_find_by_number(pan="not a number") is None


def test_credit_account_requires_a_limit():
    with pytest.raises(services.CardServiceError, match="credit limit"):
        services.account_open(
            product=CardProductFactory(credit=True), primary_cardholder=CardholderFactory(), statement_day=5
        )


def test_charge_account_refuses_a_limit():
    with pytest.raises(services.CardServiceError, match="no preset spending limit"):
        services.account_open(
            product=CardProductFactory(),
            primary_cardholder=CardholderFactory(),
            statement_day=5,
            credit_limit=Decimal("100"),
        )


def test_employee_cards_only_on_business_accounts():
    account = open_account(holder=CardholderFactory())
    with pytest.raises(services.CardServiceError, match="business accounts"):
        issue_card(account=account, holder=CardholderFactory(), role=Card.Role.EMPLOYEE)


def test_employee_card_with_monthly_limit_on_a_business_account():
    program = BusinessProgramFactory()
    account = open_account(holder=CardholderFactory(), product=CardProductFactory(business=True), program=program)
    card = issue_card(
        account=account, holder=CardholderFactory(), role=Card.Role.EMPLOYEE, monthly_limit=Decimal("1500.00")
    ).card
    assert card.monthly_limit == Decimal("1500.00")
