import pytest
from django.http import Http404

from cards import selectors
from cards.models import Card
from tests.factories import (
    BusinessProgramFactory,
    CardholderFactory,
    CardProductFactory,
    UserFactory,
    issue_card,
    open_account,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    basic = UserFactory()
    supplementary = UserFactory()
    account = open_account(holder=basic.cardholder)
    basic_card = issue_card(account=account).card
    supp_card = issue_card(account=account, holder=supplementary.cardholder, role=Card.Role.SUPPLEMENTARY).card

    admin, other_admin, employee = UserFactory(cardholder=None), UserFactory(cardholder=None), UserFactory()
    program, other_program = BusinessProgramFactory(), BusinessProgramFactory()
    program.administrators.add(admin)
    other_program.administrators.add(other_admin)
    product = CardProductFactory(business=True)
    biz_account = open_account(holder=employee.cardholder, product=product, program=program)
    employee_card = issue_card(account=biz_account, holder=employee.cardholder, role=Card.Role.EMPLOYEE).card
    colleague_card = issue_card(account=biz_account, holder=CardholderFactory(), role=Card.Role.EMPLOYEE).card
    return {
        "basic": basic,
        "supplementary": supplementary,
        "admin": admin,
        "other_admin": other_admin,
        "employee": employee,
        "stranger": UserFactory(),
        "cards": {"basic": basic_card, "supp": supp_card, "employee": employee_card, "colleague": colleague_card},
    }


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("basic", {"basic", "supp"}),
        ("supplementary", {"supp"}),
        ("admin", {"employee", "colleague"}),
        ("other_admin", set()),
        ("employee", {"employee"}),
        ("stranger", set()),
    ],
)
def test_who_sees_which_card(world, who, sees):
    visible = set(selectors.card_list_for_user(user=world[who]).values_list("pk", flat=True))
    assert visible == {world["cards"][name].pk for name in sees}


def test_card_get_for_user_is_404_for_someone_elses_card_and_for_a_missing_one(world):
    with pytest.raises(Http404):
        selectors.card_get_for_user(user=world["stranger"], card_id=world["cards"]["basic"].pk)
    with pytest.raises(Http404):
        selectors.card_get_for_user(user=world["basic"], card_id=10**9)
    assert selectors.card_get_for_user(user=world["basic"], card_id=world["cards"]["supp"].pk)


def test_card_list_query_count_does_not_grow_with_cards(world, django_assert_num_queries):
    user = world["basic"]
    with django_assert_num_queries(1):
        list(selectors.card_list_for_user(user=user))
    for _ in range(20):
        issue_card(account=world["cards"]["basic"].account, holder=CardholderFactory(), role=Card.Role.SUPPLEMENTARY)
    with django_assert_num_queries(1):
        cards = list(selectors.card_list_for_user(user=user))
        assert [c.account.product.name for c in cards]
        assert [c.holder.legal_name for c in cards]
    assert len(cards) == 22
