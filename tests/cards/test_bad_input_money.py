"""Typed or tampered input must give a clear message or a 404, never a 500."""

from decimal import Decimal

import pytest
from django.urls import reverse

from cards import ledger
from cards.models import CardAccount, CardProduct, Payment
from cards.rewards import reward_entry_add
from tests.cards.payments_helpers import bank_account, spend
from tests.factories import TransactionFactory

pytestmark = pytest.mark.django_db


def test_pay_later_with_a_superscript_digit_in_the_date_is_a_form_error_not_a_500(client, charge_card):
    spend(charge_card, "300.00")
    owner = charge_card.card.holder.user
    method = bank_account(owner)
    account = CardAccount.objects.get(pk=charge_card.card.account_id)
    client.force_login(owner)
    client.raise_request_exception = False
    response = client.post(
        reverse("payments:pay", args=[account.pk]),
        {
            "method": method.pk,
            "amount_choice": "other",
            "other_amount": "100.00",
            "when": "later",
            "pay_day": "²",  # str.isdigit() is True, int() raises ValueError
            "pay_month": "1",
            "pay_year": "2030",
            "idempotency_key": "k" * 32,
            "action": "review",
        },
    )
    assert response.status_code == 200
    assert Payment.objects.count() == 0


def test_redeem_with_a_superscript_card_id_is_a_404_not_a_500(client, charge_card):
    account = charge_card.card.account
    reward_entry_add(account=account, kind="earn", unit="points", quantity=Decimal("2500"))
    TransactionFactory(card=charge_card.card, amount=Decimal("100.00"))
    ledger.ledger_rebuild(account_ids=[account.pk])
    assert account.product.rewards_kind == CardProduct.RewardsKind.POINTS
    client.force_login(charge_card.card.holder.user)
    client.raise_request_exception = False
    response = client.post(reverse("cards:rewards"), {"card": "²", "quantity": "1000", "idempotency_key": "a" * 32})
    assert response.status_code == 404


def _stepped_up(client, user):
    import time

    from cards import step_up

    client.force_login(user)
    session = client.session
    session[step_up.SESSION_KEY] = {"user": user.pk, "at": int(time.time()), "channel": "email"}
    session.save()
    client.raise_request_exception = False
    return client


def test_bank_account_with_a_superscript_routing_digit_is_a_form_error_not_a_500(client, charge_card):
    owner = charge_card.card.holder.user
    _stepped_up(client, owner)
    response = client.post(
        reverse("payments:method_add"),
        {"routing_number": "02100002²", "account_number": "000123456789", "account_number_confirm": "000123456789"},
    )
    assert response.status_code == 200


def test_bank_account_number_in_non_ascii_digits_is_refused(client, charge_card):
    from cards.models import PaymentMethod

    owner = charge_card.card.holder.user
    _stepped_up(client, owner)
    number = "١٢٣٤٥٦٧٨"  # Arabic-Indic digits: str.isdigit() is True
    response = client.post(
        reverse("payments:method_add"),
        {"routing_number": "021000021", "account_number": number, "account_number_confirm": number},
    )
    assert response.status_code == 200
    assert not PaymentMethod.objects.filter(owner=owner).exists()


def test_redeem_with_a_huge_exponent_is_a_form_error_not_a_500(client, charge_card):
    account = charge_card.card.account
    reward_entry_add(account=account, kind="earn", unit="points", quantity=Decimal("2500"))
    client.force_login(charge_card.card.holder.user)
    client.raise_request_exception = False
    response = client.post(
        reverse("cards:rewards"),
        {"card": str(charge_card.card.pk), "quantity": "1e999999999", "idempotency_key": "a" * 32},
    )
    assert response.status_code == 200
