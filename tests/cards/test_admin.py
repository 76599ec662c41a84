import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cards.admin import CARD_SECRET_FIELDS, AccountCardInline
from cards.models import (
    Autopay,
    BusinessProgram,
    Card,
    CardAccount,
    CardCheckFailure,
    CardProduct,
    Dispute,
    EarnRate,
    Payment,
    PaymentMethod,
    RewardEntry,
    Transaction,
)
from security.models import SecurityEvent
from tests.factories import BusinessProgramFactory, CardProductFactory, TransactionFactory, issue_card

pytestmark = pytest.mark.django_db

CARD_MODELS = [
    CardProduct,
    BusinessProgram,
    CardAccount,
    Card,
    Transaction,
    RewardEntry,
    PaymentMethod,
    Payment,
    Autopay,
    Dispute,
    CardCheckFailure,
]
READ_ONLY_MODELS = [
    CardAccount,
    Card,
    Transaction,
    RewardEntry,
    PaymentMethod,
    Payment,
    Autopay,
    Dispute,
    CardCheckFailure,
]


@pytest.fixture
def admin_user(db):
    # pytest-django's own admin_user is called "admin", which is not a valid User ID.
    return User.objects.create_superuser("staff.admin", password="staff-admin-password-1")


@pytest.fixture
def issued(cardholder_with_card):
    return cardholder_with_card[1]


@pytest.fixture
def cards_world(cardholder_with_card):
    """One row of every cards model, all hanging off one cardholder's account."""
    user, issued = cardholder_with_card
    card = issued.card
    account = card.account
    EarnRate.objects.create(product=account.product, category="dining", rate=Decimal("3.0000"))
    BusinessProgramFactory().administrators.add(user)
    purchase = TransactionFactory(card=card)
    RewardEntry.objects.create(account=account, transaction=purchase, kind="earn", unit="points", quantity=Decimal(42))
    method = PaymentMethod.objects.create(
        owner=user, nickname="Checking", routing_number="021000021", account_last4="6789", account_hash="ab" * 32
    )
    payment_txn = TransactionFactory(account=account, kind="payment", amount=Decimal("-100.00"), merchant_name="")
    Payment.objects.create(
        account=account,
        method=method,
        created_by=user,
        amount=Decimal("100.00"),
        scheduled_for=timezone.localdate(),
        status="posted",
        idempotency_key="payment-test-1",
        transaction=payment_txn,
        posted_at=timezone.now(),
    )
    Autopay.objects.create(account=account, method=method, amount_kind="minimum")
    Dispute.objects.create(transaction=purchase, opened_by=user, reason="duplicate", description="Charged twice")
    CardCheckFailure.objects.create(card=card, purpose="activation", ip_address="203.0.113.9")
    CardCheckFailure.objects.create(card=None, purpose="enrollment", ip_address="203.0.113.9")
    return issued


def changelist_url(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def test_every_cards_model_is_in_the_admin_directly_or_inline():
    inline_only = {EarnRate}
    registered = set(admin.site._registry)

    assert set(apps.get_app_config("cards").get_models()) - inline_only <= registered


@pytest.mark.parametrize("model", CARD_MODELS, ids=lambda model: model.__name__)
def test_changelist_and_change_page_render_for_superuser(admin_client, cards_world, model):
    obj = model.objects.order_by("pk").first()

    changelist = admin_client.get(changelist_url(model))
    change = admin_client.get(change_url(obj))

    assert (changelist.status_code, change.status_code) == (200, 200)


@pytest.mark.parametrize("model", [CardProduct, BusinessProgram], ids=lambda model: model.__name__)
def test_catalogue_add_pages_render(admin_client, model):
    response = admin_client.get(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add"))

    assert response.status_code == 200


# --- The product catalogue ---------------------------------------------------------------


def product_post(product: CardProduct, **changes) -> dict:
    """A saved product's change form as a browser posts it (code, kind, segment and
    currency are read-only there), with ``changes`` applied."""
    data = {
        "name": product.name,
        "rewards_kind": product.rewards_kind,
        "base_earn_rate": str(product.base_earn_rate),
        "redemption_step": str(product.redemption_step),
        "redemption_step_value": str(product.redemption_step_value),
        "annual_rate": "" if product.annual_rate is None else str(product.annual_rate),
        "annual_fee": str(product.annual_fee),
        "card_colour": product.card_colour,
        "earn_rates-TOTAL_FORMS": "0",
        "earn_rates-INITIAL_FORMS": "0",
        "earn_rates-MIN_NUM_FORMS": "0",
        "earn_rates-MAX_NUM_FORMS": "1000",
    }
    return data | changes


@pytest.mark.parametrize(
    ("credit", "annual_rate", "message"),
    [
        (False, "19.99", "A charge card has no APR: leave it blank."),
        (True, "", "A credit card needs an APR (0 or more)."),
        (True, "-1.00", "The APR cannot be negative."),
    ],
    ids=["apr-on-charge", "credit-without-apr", "negative-apr"],
)
def test_an_apr_against_the_products_kind_is_a_form_error_and_changes_nothing(
    admin_client, credit, annual_rate, message
):
    product = CardProductFactory(credit=credit)
    before = product.annual_rate

    response = admin_client.post(change_url(product), product_post(product, annual_rate=annual_rate))

    assert response.status_code == 200
    assert message in response.content.decode()
    product.refresh_from_db()
    assert product.annual_rate == before
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.STAFF_ACTION).exists()


def test_a_credit_products_apr_can_be_changed(admin_client):
    product = CardProductFactory(credit=True)

    response = admin_client.post(change_url(product), product_post(product, annual_rate="19.99"))

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.annual_rate == Decimal("19.99")


def test_a_new_charge_product_with_an_apr_is_a_form_error(admin_client):
    data = product_post(CardProduct(name="Platinum Charge"), annual_rate="19.99") | {
        "code": "platinum-charge",
        "kind": CardProduct.Kind.CHARGE,
        "segment": CardProduct.Segment.PERSONAL,
        "rewards_kind": CardProduct.RewardsKind.POINTS,
        "base_earn_rate": "1.0000",
        "currency": "USD",
    }

    response = admin_client.post(reverse("admin:cards_cardproduct_add"), data)

    assert response.status_code == 200
    assert "A charge card has no APR: leave it blank." in response.content.decode()
    assert not CardProduct.objects.filter(code="platinum-charge").exists()


def test_rewards_kind_is_locked_once_a_product_has_accounts(admin_client, issued):
    product = issued.card.account.product
    assert product.rewards_kind == CardProduct.RewardsKind.POINTS

    page = admin_client.get(change_url(product)).content.decode()
    response = admin_client.post(
        change_url(product), product_post(product, name="Gold Card Plus", rewards_kind=CardProduct.RewardsKind.CASHBACK)
    )

    assert 'name="rewards_kind"' not in page
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.rewards_kind) == ("Gold Card Plus", CardProduct.RewardsKind.POINTS)


def test_rewards_kind_can_change_before_any_account_is_opened(admin_client):
    product = CardProductFactory()

    response = admin_client.post(
        change_url(product), product_post(product, rewards_kind=CardProduct.RewardsKind.CASHBACK)
    )

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.rewards_kind == CardProduct.RewardsKind.CASHBACK


@pytest.mark.parametrize("model", READ_ONLY_MODELS, ids=lambda model: model.__name__)
def test_read_only_models_refuse_add_change_and_delete(admin_client, cards_world, model):
    obj = model.objects.order_by("pk").first()
    opts = model._meta

    add = admin_client.post(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"), {})
    change = admin_client.post(change_url(obj), {})
    delete = admin_client.post(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk]), {"post": "yes"}
    )

    assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
    assert model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("url_for", [lambda card: changelist_url(Card), change_url], ids=["changelist", "change"])
def test_card_pages_never_show_the_card_number_or_its_hash(admin_client, issued, url_for):
    card = issued.card

    html = admin_client.get(url_for(card)).content.decode()

    assert f"•••• {card.last4}" in html
    assert issued.pan not in html
    assert issued.pan[:6] not in html  # first 6 digits are not shown either
    assert card.pan_hash not in html
    assert not re.search(rf">\s*{issued.card_id}\s*<", html)


@pytest.mark.parametrize(
    "page_object",
    [
        lambda card: card.account,
        lambda card: card.transactions.first(),
        lambda card: card.holder,
        lambda card: card.check_failures.first(),
    ],
    ids=["account", "transaction", "cardholder", "card_check_failure"],
)
def test_other_pages_showing_a_card_mask_its_number(admin_client, cards_world, page_object):
    html = admin_client.get(change_url(page_object(cards_world.card))).content.decode()

    assert f"•••• {cards_world.card.last4}" in html
    assert cards_world.pan not in html
    assert cards_world.card.pan_hash not in html


def test_card_admin_configuration_never_names_the_secret_fields(admin_user, issued):
    request = RequestFactory().get("/")
    request.user = admin_user
    card_admin = admin.site._registry[Card]
    inlines = [AccountCardInline(Card, admin.site)]
    named = {
        *card_admin.get_list_display(request),
        *(field.lstrip("=^@") for field in card_admin.get_search_fields(request)),
        *card_admin.get_fields(request, issued.card),
        *card_admin.get_readonly_fields(request, issued.card),
        *card_admin.get_form(request, issued.card).base_fields,
        *(name for inline in inlines for name in inline.get_fields(request, issued.card.account)),
    }

    assert named & set(CARD_SECRET_FIELDS) == set()


def test_card_list_refuses_url_filters_on_the_hash(admin_client, issued):
    response = admin_client.get(changelist_url(Card), {"pan_hash__startswith": issued.card.pan_hash[:4]})

    assert response.status_code == 400


def test_searching_cards_by_last_four_finds_the_card(admin_client, issued):
    issue_card(account=issued.card.account)  # a second card, which must not match

    response = admin_client.get(changelist_url(Card), {"q": issued.card.last4})

    found = set(response.context["cl"].result_list)
    assert issued.card in found
    assert found == set(Card.objects.filter(last4=issued.card.last4))


def test_searching_cards_by_full_number_searches_by_last_four_without_echoing_it(admin_client, issued):
    response = admin_client.get(changelist_url(Card), {"q": issued.pan}, follow=True)

    assert response.redirect_chain[0][0].endswith(f"?q={issued.card.last4}")
    assert issued.pan not in response.content.decode()
    assert issued.card in response.context["cl"].result_list


def test_searching_cards_by_account_reference_finds_its_cards(admin_client, issued):
    issue_card(account=issued.card.account)

    response = admin_client.get(changelist_url(Card), {"q": issued.card.account.reference})

    assert set(response.context["cl"].result_list) == set(issued.card.account.cards.all())


def count_changelist_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), len(response.context["cl"].result_list)


def test_transaction_changelist_queries_do_not_grow_with_rows(admin_client, issued):
    url = changelist_url(Transaction)
    TransactionFactory.create_batch(4, card=issued.card)
    TransactionFactory(account=issued.card.account, kind="payment", amount=Decimal("-10.00"), merchant_name="")
    admin_client.get(url)  # warm the session and content-type caches
    five = count_changelist_queries(admin_client, url)
    TransactionFactory.create_batch(45, card=issued.card)

    fifty = count_changelist_queries(admin_client, url)

    assert (five[1], fifty[1]) == (5, 50)
    assert fifty[0] == five[0]


def test_card_changelist_queries_do_not_grow_with_rows(admin_client, issued):
    url = changelist_url(Card)
    for _ in range(4):
        issue_card(account=issued.card.account)
    admin_client.get(url)
    five = count_changelist_queries(admin_client, url)
    for _ in range(45):
        issue_card(account=issued.card.account)

    fifty = count_changelist_queries(admin_client, url)

    assert (five[1], fifty[1]) == (5, 50)
    assert fifty[0] == five[0]


def test_payment_method_pages_do_not_show_the_bank_account_hash(admin_client, cards_world):
    method = PaymentMethod.objects.get()

    html = admin_client.get(change_url(method)).content.decode()
    html += admin_client.get(changelist_url(PaymentMethod)).content.decode()

    assert "•••• 6789" in html
    assert method.account_hash not in html


def test_business_program_change_records_a_staff_action(admin_client, admin_user, cards_world):
    from security.models import SecurityEvent

    program = BusinessProgram.objects.get()
    administrator = program.administrators.get()

    response = admin_client.post(change_url(program), {"name": "Renamed Co", "administrators": [administrator.pk]})

    assert response.status_code == 302
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.STAFF_ACTION)
    assert (event.actor, event.detail["model"], event.detail["object_id"]) == (
        admin_user,
        "cards.businessprogram",
        str(program.pk),
    )


# --- Freezing a card, and no page showing a card number or card ID -----------------------


def test_the_freeze_page_shows_the_card_masked_and_asks_for_a_reason(admin_client, issued):
    url = reverse("admin:cards_card_freeze", args=[issued.card.pk])

    html = admin_client.get(url).content.decode()

    assert f"Freeze card: •••• {issued.card.last4}" in html
    assert 'name="reason"' in html
    assert issued.pan not in html and issued.pan[:6] not in html
    assert not re.search(rf">\s*{issued.card_id}\s*<", html)


def test_a_card_that_is_not_active_cannot_be_frozen(admin_client, issued):
    Card.objects.filter(pk=issued.card.pk).update(status=Card.Status.INACTIVE)

    page = admin_client.get(change_url(issued.card)).content.decode()
    response = admin_client.post(reverse("admin:cards_card_freeze", args=[issued.card.pk]), {"reason": "Fraud"})

    assert reverse("admin:cards_card_freeze", args=[issued.card.pk]) not in page
    assert "Only an active card can be frozen." in response.content.decode()
    assert Card.objects.get(pk=issued.card.pk).status == Card.Status.INACTIVE


def test_no_admin_page_shows_a_card_number_or_card_id(admin_client, cards_world):
    """Every registered model's list, and the pages of its first rows in the card world."""
    pages = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        pages += [change_url(obj) for obj in model_admin.get_queryset(RequestFactory().get("/")).order_by("pk")[:3]]
    pages.append(reverse("admin:cards_card_freeze", args=[cards_world.card.pk]))

    for url in pages:
        response = admin_client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert cards_world.pan not in html and cards_world.pan[:6] not in html, url
        assert cards_world.card.pan_hash not in html, url
        assert not re.search(rf">\s*{cards_world.card_id}\s*<", html), url
