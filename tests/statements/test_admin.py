import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from statements.models import Statement, StatementLine
from tests.factories import TransactionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(db):
    # pytest-django's own admin_user is called "admin", which is not a valid User ID.
    return User.objects.create_superuser("staff.admin", password="staff-admin-password-1")


def close_statement(*, card, lines=2, pdf="", period_end=dt.date(2025, 5, 15)):
    # Made directly, not through statement_close: these tests are about the admin pages.
    """A closed cycle with ``lines`` posted purchases on it."""
    statement = Statement.objects.create(
        account=card.account,
        period_start=period_end - dt.timedelta(days=29),
        period_end=period_end,
        opening_balance=Decimal("0.00"),
        purchases=Decimal("42.50") * lines,
        closing_balance=Decimal("42.50") * lines,
        minimum_due=Decimal("0.00"),
        due_date=period_end + dt.timedelta(days=26),
        pdf=pdf,
        pdf_sha256="0" * 64 if pdf else "",
    )
    for transaction in TransactionFactory.create_batch(lines, card=card):
        StatementLine.objects.create(
            statement=statement,
            transaction=transaction,
            card=card,
            card_last4=card.last4,
            posted_on=period_end,
            description=transaction.merchant_name,
            amount=transaction.amount,
        )
    return statement


def test_every_statements_model_is_in_the_admin_directly_or_inline():
    inline_only = {StatementLine}

    assert set(apps.get_app_config("statements").get_models()) - inline_only <= set(admin.site._registry)


@pytest.fixture
def issued(cardholder_with_card):
    return cardholder_with_card[1]


def test_statement_changelist_and_change_page_render_for_superuser(admin_client, issued):
    statement = close_statement(card=issued.card, pdf="statements/2025/statement-1.pdf")

    changelist = admin_client.get(reverse("admin:statements_statement_changelist"))
    change = admin_client.get(reverse("admin:statements_statement_change", args=[statement.pk]))

    assert (changelist.status_code, change.status_code) == (200, 200)
    html = change.content.decode()
    assert "statements/2025/statement-1.pdf" in html  # named, not linked: there is no public URL
    assert "Corner Coffee" in html
    assert f"•••• {issued.card.last4}" in html
    assert issued.pan not in html


def test_statements_cannot_be_added_changed_or_deleted(admin_client, issued):
    statement = close_statement(card=issued.card)

    add = admin_client.post(reverse("admin:statements_statement_add"), {})
    change = admin_client.post(reverse("admin:statements_statement_change", args=[statement.pk]), {"minimum_due": "0"})
    delete = admin_client.post(reverse("admin:statements_statement_delete", args=[statement.pk]), {"post": "yes"})

    assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
    assert StatementLine.objects.filter(statement=statement).count() == 2


def test_statement_page_queries_do_not_grow_with_lines(admin_client, issued):
    few = close_statement(card=issued.card, lines=5)
    many = close_statement(card=issued.card, lines=50, period_end=dt.date(2025, 6, 15))
    admin_client.get(reverse("admin:statements_statement_change", args=[few.pk]))

    with CaptureQueriesContext(connection) as five:
        admin_client.get(reverse("admin:statements_statement_change", args=[few.pk]))
    with CaptureQueriesContext(connection) as fifty:
        admin_client.get(reverse("admin:statements_statement_change", args=[many.pk]))

    assert len(fifty) == len(five)
