"""Payments pages: the flows a person takes, step-up before bank-account and autopay
changes, 404 for anything not theirs, and no 500 for anything typed."""

import datetime as dt
import html
import re
import time
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cards import step_up
from cards.models import Autopay, CardAccount, Payment, PaymentMethod
from tests.cards.payments_helpers import ROUTING, StatementFactory, bank_account, commits, spend
from tests.factories import CardProductFactory, UserFactory, issue_card, open_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(charge_card):
    spend(charge_card, "300.00")
    return charge_card.card.holder.user


@pytest.fixture
def account(owner, charge_card):
    return CardAccount.objects.get(pk=charge_card.card.account_id)


@pytest.fixture
def method(owner):
    return bank_account(owner)


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


def stepped_up(client, user):
    session = client.session
    session[step_up.SESSION_KEY] = {"user": user.pk, "at": int(time.time()), "channel": "email"}
    session.save()
    return client


def pay_data(method_obj, **overrides):
    today = timezone.localdate()
    data = {
        "method": method_obj.pk,
        "amount_choice": "other",
        "other_amount": "100.00",
        "when": "now",
        "pay_day": today.day,
        "pay_month": today.month,
        "pay_year": today.year,
        "idempotency_key": "k" * 32,
    }
    return data | overrides


def text(response) -> str:
    return html.unescape(response.content.decode())


# --- Overview and paying -----------------------------------------------------------------


def test_pages_need_sign_in(client, account, method):
    urls = [
        reverse("payments:overview"),
        reverse("payments:pay", args=[account.pk]),
        reverse("payments:methods"),
        reverse("payments:method_add"),
        reverse("payments:autopay", args=[account.pk]),
    ]
    assert {client.get(url).status_code for url in urls} == {302}


def test_overview_shows_the_balance_and_no_statement_yet(signed_in, account):
    html = text(signed_in.get(reverse("payments:overview")))
    assert "$300.00" in html and "Your first statement is not ready yet" in html
    assert reverse("payments:pay", args=[account.pk]) in html


def test_the_form_offers_only_honest_amounts(signed_in, account, method):
    html = text(signed_in.get(reverse("payments:pay", args=[account.pk])))
    assert "Current balance: $300.00" in html
    assert "Minimum payment due" not in html and "Statement balance:" not in html
    StatementFactory(account=account, closing_balance=Decimal("250.00"), minimum_due=Decimal("35.00"))
    html = text(signed_in.get(reverse("payments:pay", args=[account.pk])))
    assert "Minimum payment due: $35.00" in html and "Statement balance: $250.00" in html


def test_pay_now_review_then_confirm_posts_once(signed_in, account, method):
    url = reverse("payments:pay", args=[account.pk])
    review = signed_in.post(url, pay_data(method, action="review"))
    assert "Check your payment" in text(review) and "$100.00" in text(review)
    assert Payment.objects.count() == 0
    with commits():
        done = signed_in.post(url, pay_data(method, action="confirm"))
    payment = Payment.objects.get()
    assert done.url == reverse("payments:detail", args=[payment.pk])
    assert payment.idempotency_key.startswith(f"web-{method.owner.pk}-")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.POSTED
    assert CardAccount.objects.get(pk=account.pk).posted_balance == Decimal("200.00")


def test_a_replayed_confirmation_makes_no_second_payment(signed_in, account, method):
    url = reverse("payments:pay", args=[account.pk])
    first = signed_in.post(url, pay_data(method, action="confirm"))
    again = signed_in.post(url, pay_data(method, action="confirm"), follow=True)
    assert Payment.objects.count() == 1
    assert first.url == again.redirect_chain[0][0]
    assert "already submitted this payment" in text(again)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"other_amount": "0"}, "more than $0.00"),
        ({"other_amount": "-20"}, "can't be negative"),
        ({"other_amount": "300.01"}, "You can pay up to $300.00"),
        ({"other_amount": "ten dollars"}, "dollars and cents"),
        ({"when": "later", "pay_day": "1", "pay_month": "1", "pay_year": "2020"}, "can't be in the past"),
        ({"when": "later", "pay_day": "31", "pay_month": "2", "pay_year": "2030"}, "Enter a real date"),
        ({"when": "later", "pay_day": "", "pay_month": "", "pay_year": ""}, "Enter the date"),
        ({"method": "999999"}, "Choose a bank account"),
        ({"amount_choice": "minimum"}, "Choose how much to pay"),
        ({"idempotency_key": "short"}, "This payment form has expired"),
    ],
)
def test_bad_payment_input_gets_a_clear_error_not_a_500(signed_in, account, method, overrides, message):
    response = signed_in.post(reverse("payments:pay", args=[account.pk]), pay_data(method, **overrides))
    assert response.status_code == 200
    assert message in text(response)
    assert "There is a problem" in text(response)
    assert Payment.objects.count() == 0


def test_a_date_after_the_due_date_is_warned_on_the_review_page(signed_in, account, method):
    statement = StatementFactory(account=account, closing_balance=Decimal("250.00"))
    late = statement.due_date + dt.timedelta(days=3)
    data = pay_data(method, when="later", pay_day=late.day, pay_month=late.month, pay_year=late.year, action="review")
    html = text(signed_in.post(reverse("payments:pay", args=[account.pk]), data))
    assert "after your payment due date" in html and "Schedule payment" in html


def test_without_a_bank_account_the_page_says_to_add_one(signed_in, account):
    html = text(signed_in.get(reverse("payments:pay", args=[account.pk])))
    assert "first add the bank account" in html


def test_schedule_then_cancel(signed_in, account, method):
    later = timezone.localdate() + dt.timedelta(days=6)
    data = pay_data(method, when="later", pay_day=later.day, pay_month=later.month, pay_year=later.year)
    signed_in.post(reverse("payments:pay", args=[account.pk]), data | {"action": "confirm"})
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.SCHEDULED
    assert "Cancel this payment" in text(signed_in.get(reverse("payments:detail", args=[payment.pk])))
    signed_in.post(reverse("payments:cancel", args=[payment.pk]))
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CANCELLED


def test_overview_costs_the_same_queries_for_one_or_many_accounts(client):
    user = UserFactory()
    client.force_login(user)
    product = CardProductFactory()

    def add_account():
        account = open_account(holder=user.cardholder, product=product)
        issued = issue_card(account=account)
        spend(issued, "10.00")
        StatementFactory(account=account)
        return account

    add_account()
    client.get(reverse("payments:overview"))  # warm per-user caches (the header's links)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("payments:overview"))
    for _ in range(8):
        add_account()
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("payments:overview"))
    assert response.status_code == 200
    assert len(many.captured_queries) == len(one.captured_queries)


# --- Step-up and bank accounts -----------------------------------------------------------


def test_adding_a_bank_account_needs_a_code_to_a_verified_contact(signed_in, owner):
    add = reverse("payments:method_add")
    start = signed_in.get(add)
    assert start.url.startswith(reverse("payments:step_up"))
    with commits():
        sent = signed_in.post(start.url, {"channel": "email", "next": add})
    assert sent.url == reverse("payments:step_up_code")
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    wrong = signed_in.post(sent.url, {"code": "000000" if code != "000000" else "111111"})
    assert "not right" in text(wrong)
    assert signed_in.post(sent.url, {"code": code}).url == add
    with commits():
        done = signed_in.post(
            add,
            {
                "nickname": "Joint",
                "routing_number": ROUTING,
                "account_number": "1234 5678 9",
                "account_number_confirm": "123456789",
            },
        )
    assert done.url == reverse("payments:methods")
    method = PaymentMethod.objects.get(owner=owner)
    assert (method.nickname, method.account_last4) == ("Joint", "6789")


def test_without_a_verified_contact_step_up_explains_what_to_do(client):
    user = UserFactory(email_verified_at=None)
    client.force_login(user)
    html = text(client.get(reverse("payments:step_up")))
    assert "you have none yet" in html


def test_a_code_to_an_unverified_contact_is_never_sent(client):
    user = UserFactory(email_verified_at=None)
    client.force_login(user)
    client.post(reverse("payments:step_up"), {"channel": "email"})
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"routing_number": "021000022"}, "not a valid routing number"),
        ({"routing_number": "12345"}, "9 digits"),
        ({"account_number": "12"}, "4 to 17 digits"),
        ({"account_number_confirm": "000"}, "don't match"),
    ],
)
def test_bad_bank_details_get_clear_errors_and_the_number_is_not_echoed(signed_in, owner, data, message):
    stepped_up(signed_in, owner)
    form = {"routing_number": ROUTING, "account_number": "987654321", "account_number_confirm": "987654321"} | data
    response = signed_in.post(reverse("payments:method_add"), form)
    assert response.status_code == 200 and message in text(response)
    assert "987654321" not in text(response)


def test_step_up_expires_after_ten_minutes(signed_in, owner):
    stepped_up(signed_in, owner)
    session = signed_in.session
    session[step_up.SESSION_KEY]["at"] -= step_up.VALIDITY_SECONDS + 1
    session.save()
    assert signed_in.get(reverse("payments:method_add")).status_code == 302


def test_remove_a_bank_account(signed_in, method):
    signed_in.post(reverse("payments:method_remove", args=[method.pk]))
    assert PaymentMethod.objects.get(pk=method.pk).removed_at is not None


def test_remove_refused_while_a_payment_is_scheduled(signed_in, account, method):
    later = timezone.localdate() + dt.timedelta(days=6)
    data = pay_data(method, when="later", pay_day=later.day, pay_month=later.month, pay_year=later.year)
    signed_in.post(reverse("payments:pay", args=[account.pk]), data | {"action": "confirm"})
    response = signed_in.post(reverse("payments:method_remove", args=[method.pk]), follow=True)
    assert "scheduled payment" in text(response)
    assert PaymentMethod.objects.get(pk=method.pk).removed_at is None


# --- Autopay -----------------------------------------------------------------------------


def test_autopay_changes_need_step_up_then_turn_on_and_off(signed_in, owner, account, method):
    edit = reverse("payments:autopay_edit", args=[account.pk])
    assert signed_in.get(edit).url.startswith(reverse("payments:step_up"))
    assert signed_in.post(edit, {"method": method.pk, "amount_kind": "minimum"}).status_code == 302
    assert not Autopay.objects.exists()
    stepped_up(signed_in, owner)
    signed_in.post(edit, {"method": method.pk, "amount_kind": "fixed", "fixed_amount": "75"})
    autopay = Autopay.objects.get(account=account)
    assert (autopay.enabled, autopay.amount_kind, autopay.fixed_amount) == (True, "fixed", Decimal("75.00"))
    assert "$75.00" in text(signed_in.get(reverse("payments:autopay", args=[account.pk])))
    signed_in.post(reverse("payments:autopay_off", args=[account.pk]))
    autopay.refresh_from_db()
    assert autopay.enabled is False


def test_autopay_fixed_without_an_amount_is_an_error(signed_in, owner, account, method):
    stepped_up(signed_in, owner)
    response = signed_in.post(
        reverse("payments:autopay_edit", args=[account.pk]), {"method": method.pk, "amount_kind": "fixed"}
    )
    assert response.status_code == 200 and "Enter the amount you want to pay" in text(response)


# --- Not yours: 404 on every page --------------------------------------------------------


@pytest.fixture
def stranger(client):
    user = UserFactory()
    client.force_login(user)
    return stepped_up(client, user)


def test_a_second_user_gets_404_on_every_page(stranger, account, method, charge_card):
    later = timezone.localdate() + dt.timedelta(days=6)
    with commits():
        from cards import payments

        payment, _ = payments.payment_schedule(
            account=account,
            method=method,
            amount=Decimal("10.00"),
            scheduled_for=later,
            idempotency_key="owner-key-" + "z" * 20,
            actor=method.owner,
        )
    gets = [
        reverse("payments:pay", args=[account.pk]),
        reverse("payments:detail", args=[payment.pk]),
        reverse("payments:cancel", args=[payment.pk]),
        reverse("payments:autopay", args=[account.pk]),
        reverse("payments:autopay_edit", args=[account.pk]),
        reverse("payments:autopay_off", args=[account.pk]),
        reverse("payments:method_remove", args=[method.pk]),
    ]
    assert [stranger.get(url).status_code for url in gets] == [404] * len(gets)
    posts = [
        reverse("payments:pay", args=[account.pk]),
        reverse("payments:cancel", args=[payment.pk]),
        reverse("payments:autopay_edit", args=[account.pk]),
        reverse("payments:autopay_off", args=[account.pk]),
        reverse("payments:method_remove", args=[method.pk]),
    ]
    assert [stranger.post(url, {}).status_code for url in posts] == [404] * len(posts)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SCHEDULED
    assert PaymentMethod.objects.get(pk=method.pk).removed_at is None


def test_a_supplementary_card_member_cannot_pay_the_account(client, charge_card):
    supplementary = UserFactory()
    issue_card(account=charge_card.card.account, holder=supplementary.cardholder, role="supplementary")
    client.force_login(supplementary)
    assert client.get(reverse("payments:pay", args=[charge_card.card.account_id])).status_code == 404
    assert "no bill for you to pay" in text(client.get(reverse("payments:overview")))
