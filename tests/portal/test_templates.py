"""The shared layout, the form patterns and the error pages."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.views.defaults import server_error

from cards.models import Card, CardProduct
from tests.factories import CardholderFactory, CardProductFactory, issue_card, open_account

pytestmark = pytest.mark.django_db


def test_server_error_page_renders_without_any_context():
    # Django renders 500.html with an empty context: no request, no context processors.
    response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in html
    assert "call the number on the back of your card" in html


def test_unknown_page_gets_our_404_page(client, settings):
    response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in html
    assert settings.SUPPORT_PHONE in html


def test_layout_has_skip_link_issuer_name_and_support_phone(client, settings):
    html = client.get(reverse("portal:home")).content.decode()
    assert 'href="#main-content"' in html
    assert 'id="main-content"' in html
    assert settings.ISSUER_NAME in html
    assert settings.SUPPORT_PHONE in html


def test_layout_has_no_inline_styles_or_scripts(client, cardholder_with_card):
    user, _ = cardholder_with_card
    client.force_login(user)
    html = client.get(reverse("cards:list")).content.decode()
    assert "style=" not in html
    assert "<style" not in html
    assert "<script>" not in html


def test_signed_in_header_names_the_user_and_signs_out_by_post(client, cardholder_with_card):
    user, _ = cardholder_with_card
    client.force_login(user)
    html = client.get(reverse("cards:list")).content.decode()
    assert user.get_full_name() in html
    assert f'method="post" action="{reverse("accounts:sign_out")}"' in html


def test_wrong_password_shows_error_summary_linking_to_user_id(client, cardholder_with_card):
    user, _ = cardholder_with_card
    response = client.post(
        reverse("two_factor:login"),
        {"sign_in_view-current_step": "auth", "auth-username": user.username, "auth-password": "not-it-at-all"},
    )
    html = response.content.decode()
    assert "There is a problem" in html
    assert 'href="#id_auth-username"' in html
    assert "<title>Error: Log in" in html


def test_empty_user_id_gets_an_inline_error_tied_to_the_field(client):
    response = client.post(
        reverse("two_factor:login"),
        {"sign_in_view-current_step": "auth", "auth-username": "", "auth-password": ""},
    )
    html = response.content.decode()
    assert 'id="id_auth-username-error"' in html
    assert 'aria-describedby="id_auth-username-error"' in html
    assert "input--error" in html


def test_lockout_page_says_what_to_do(settings):
    request = RequestFactory().post("/account/login/")
    request.user = AnonymousUser()
    html = render_to_string("accounts/locked.html", {"minutes": 30, "reason": "user_id"}, request=request)
    assert (
        "Your account is temporarily locked. Try again in 30 minutes, or call the number on the back of your card."
        in html
    )
    assert settings.SUPPORT_PHONE in html


def test_card_list_shows_holder_of_supplementary_cards_and_colour_swatch(client, cardholder_with_card):
    user, issued = cardholder_with_card
    other = CardholderFactory(legal_name="Robin Example")
    issue_card(account=issued.card.account, holder=other, role=Card.Role.SUPPLEMENTARY)
    client.force_login(user)
    html = client.get(reverse("cards:list")).content.decode()
    assert "Robin Example" in html
    assert "Supplementary card member" in html
    assert f'fill="{issued.card.account.product.card_colour}"' in html


def test_card_list_empty_state(client, user):
    client.force_login(user)
    html = client.get(reverse("cards:list")).content.decode()
    assert "There are no cards to show yet" in html


def test_card_list_query_count_does_not_grow_with_cards(client, cardholder_with_card):
    user, _ = cardholder_with_card
    client.force_login(user)
    client.get(reverse("cards:list"))  # the first request after sign-in also stamps the session
    with CaptureQueriesContext(connection) as one_card:
        client.get(reverse("cards:list"))
    product = CardProductFactory(
        code="blue-credit", name="Blue Credit", kind=CardProduct.Kind.CREDIT, annual_rate=Decimal("20.00")
    )
    for _ in range(10):
        account = open_account(holder=user.cardholder, product=product)
        issue_card(account=account)
        issue_card(account=account, holder=CardholderFactory(), role=Card.Role.SUPPLEMENTARY)
    with CaptureQueriesContext(connection) as many_cards:
        html = client.get(reverse("cards:list")).content.decode()
    assert html.count('class="card-picker__item"') == 21
    assert len(many_cards) == len(one_card)
