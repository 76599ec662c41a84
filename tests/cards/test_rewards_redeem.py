"""Redeeming rewards as a statement credit: in the product's steps, a real credit
transaction and a redeem row in one atomic service, refused beyond the balance, once
per idempotency key."""

import re
from decimal import Decimal

import pytest
from django.http import Http404
from django.urls import reverse

from cards import ledger, selectors, services
from cards.models import CardProduct, RewardEntry, Transaction
from cards.rewards import reward_entry_add
from tests.factories import TransactionFactory

pytestmark = pytest.mark.django_db


def earn(account, quantity: str) -> None:
    """Rewards from past purchases, as the ledger would have written them."""
    unit = "points" if account.product.rewards_kind == CardProduct.RewardsKind.POINTS else "cash"
    reward_entry_add(account=account, kind="earn", unit=unit, quantity=Decimal(quantity))


@pytest.fixture
def points_account(charge_card):
    """A points charge account (1,000 points = $10.00) holding 2,500 points and owing $100."""
    account = charge_card.card.account
    earn(account, "2500")
    TransactionFactory(card=charge_card.card, amount=Decimal("100.00"))
    ledger.ledger_rebuild(account_ids=[account.pk])
    return charge_card


def redeem(account, actor, quantity: str, key: str = "key-0000000001"):
    return services.rewards_redeem(actor=actor, account=account, quantity=Decimal(quantity), idempotency_key=key)


def test_redeeming_posts_a_credit_and_a_redeem_row_in_the_products_steps(points_account):
    account, user = points_account.card.account, points_account.card.holder.user

    done = redeem(account, user, "2000")

    account.refresh_from_db()
    assert done.credit.kind == Transaction.Kind.CREDIT
    assert done.credit.status == Transaction.Status.POSTED
    assert done.credit.amount == Decimal("-20.00")
    assert done.entry.kind == RewardEntry.Kind.REDEEM
    assert done.entry.quantity == Decimal("-2000.00")
    assert done.entry.transaction == done.credit
    assert account.posted_balance == Decimal("80.00")
    assert selectors.reward_balance(account=account) == Decimal("500.00")
    assert list(done.credit.events.values_list("status", flat=True)) == ["posted"]
    assert ledger.ledger_verify(account_ids=[account.pk])[1] == []


def test_redeeming_more_than_the_balance_is_refused_and_changes_nothing(points_account):
    account, user = points_account.card.account, points_account.card.holder.user

    with pytest.raises(services.RewardsError, match="You have 2,500 points to redeem: that's less than 3,000 points."):
        redeem(account, user, "3000")

    assert selectors.reward_balance(account=account) == Decimal("2500.00")
    assert not Transaction.objects.filter(kind=Transaction.Kind.CREDIT).exists()


@pytest.mark.parametrize("quantity", ["1500", "0", "-1000", "999"])
def test_redeeming_outside_the_steps_is_refused(points_account, quantity):
    with pytest.raises(services.RewardsError, match="Redeem in steps of 1,000 points"):
        redeem(points_account.card.account, points_account.card.holder.user, quantity)


def test_the_same_idempotency_key_redeems_once(points_account):
    account, user = points_account.card.account, points_account.card.holder.user

    first = redeem(account, user, "1000", key="same-key-123456")
    second = redeem(account, user, "1000", key="same-key-123456")

    assert second.replayed is True
    assert second.credit == first.credit
    assert RewardEntry.objects.filter(kind=RewardEntry.Kind.REDEEM).count() == 1
    assert selectors.reward_balance(account=account) == Decimal("1500.00")


def test_a_repeated_key_is_answered_even_when_the_balance_is_now_too_low(points_account):
    account, user = points_account.card.account, points_account.card.holder.user
    redeem(account, user, "2000", key="spend-it-all-01")

    again = redeem(account, user, "2000", key="spend-it-all-01")

    assert again.replayed is True


def test_cash_back_redeems_in_its_own_steps(credit_card):
    account = credit_card.card.account
    account.product.redemption_step, account.product.redemption_step_value = 25, Decimal("25.00")
    account.product.save(update_fields=["redemption_step", "redemption_step_value"])
    earn(account, "61.40")

    done = redeem(account, credit_card.card.holder.user, "50")

    assert done.credit.amount == Decimal("-50.00")
    assert done.entry.unit == RewardEntry.Unit.CASH
    assert selectors.reward_balance(account=account) == Decimal("11.40")
    with pytest.raises(services.RewardsError, match=r"Redeem in steps of \$25.00 cash back"):
        redeem(account, credit_card.card.holder.user, "10", key="another-key-0001")


@pytest.mark.parametrize("who", ["supplementary", "employee", "stranger", "other_admin"])
def test_only_a_manager_of_the_account_may_redeem(roles, who):
    account = roles.cards["basic"].account
    earn(account, "5000")

    with pytest.raises(Http404):
        redeem(account, roles.users[who], "1000")


def test_program_administrator_may_redeem_on_the_business_account(roles):
    account = roles.cards["employee"].account
    earn(account, "1000")

    assert redeem(account, roles.users["admin"], "1000").credit.amount == Decimal("-10.00")


def test_a_malformed_key_is_refused(points_account):
    with pytest.raises(services.RewardsError, match="This form has expired"):
        redeem(points_account.card.account, points_account.card.holder.user, "1000", key="no spaces allowed!")


# --- The rewards page -----------------------------------------------------------------------------


def words(response) -> str:
    html = response.content.decode().replace("&#x27;", "'")
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def form_key(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', html).group(1)


def test_rewards_page_shows_balance_ledger_and_the_redeem_form(client, points_account):
    client.force_login(points_account.card.holder.user)
    response = client.get(reverse("cards:rewards"))
    text = words(response)

    assert "Balance 2,500 points" in text
    assert "Worth as a statement credit $20.00" in text
    assert "1,000 points is a $10.00 statement credit." in text
    assert "Earned" in text
    assert 'name="quantity"' in response.content.decode()
    assert 'value="2000"' in response.content.decode()


def test_redeeming_from_the_page_and_submitting_twice_redeems_once(client, points_account):
    card = points_account.card
    client.force_login(card.holder.user)
    key = form_key(client.get(reverse("cards:rewards")).content.decode())
    data = {"quantity": "1,000", "idempotency_key": key, "card": card.pk}

    first = client.post(reverse("cards:rewards"), data, follow=True)
    second = client.post(reverse("cards:rewards"), data, follow=True)

    message = "You redeemed 1,000 points for a $10.00 statement credit. It's on your account now."
    assert message in words(first)
    assert message in words(second)
    assert RewardEntry.objects.filter(kind=RewardEntry.Kind.REDEEM).count() == 1
    assert "Balance 1,500 points" in words(second)


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("", "Enter how many points to redeem"),
        ("lots", "Enter a number of points, like 1000"),
        ("1500", "Redeem in steps of 1,000 points, for example 1,000 points or 2,000 points"),
        ("9000", "You have 2,500 points to redeem: that's less than 9,000 points."),
        ("1e999", "Enter a number of points, like 1000"),
    ],
)
def test_bad_redemptions_are_explained_on_the_page(client, points_account, quantity, message):
    card = points_account.card
    client.force_login(card.holder.user)
    data = {"quantity": quantity, "idempotency_key": "a" * 32, "card": card.pk}

    response = client.post(reverse("cards:rewards"), data)

    assert response.status_code == 200
    assert "There is a problem" in words(response)
    assert message in words(response)
    assert not RewardEntry.objects.filter(kind=RewardEntry.Kind.REDEEM).exists()


def test_below_one_step_the_page_says_how_many_are_needed(client, charge_card):
    earn(charge_card.card.account, "400")
    client.force_login(charge_card.card.holder.user)
    text = words(client.get(reverse("cards:rewards")))
    assert "You need 1,000 points to redeem a $10.00 statement credit." in text


def test_supplementary_holder_is_told_rewards_go_to_the_account(client, roles):
    earn(roles.cards["basic"].account, "5000")
    client.force_login(roles.users["supplementary"])
    text = words(client.get(reverse("cards:rewards")))
    assert "The basic card member can see and redeem them." in text
    assert "5,000" not in text
