"""seed_demo's statements: every past cycle of every active demo account, consistent
with the demo's transactions and payments, and nothing posted twice."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from cards.models import CardAccount, Transaction
from statements import cycles
from statements.models import Statement, StatementLine

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_world():
    call_command("seed_demo", "--years", "1", stdout=io.StringIO())


def test_demo_statements_chain_hold_every_posted_transaction_and_post_nothing(demo_world):
    checked = 0
    for account in CardAccount.objects.filter(transactions__status="posted").distinct():
        statements = list(Statement.objects.filter(account=account).order_by("period_end"))
        assert len(statements) >= 11
        previous = None
        for statement in statements:
            lines = StatementLine.objects.filter(statement=statement).aggregate(total=Sum("amount"))["total"]
            net = statement.purchases + statement.payments_and_credits + statement.fees + statement.interest
            assert statement.opening_balance == (previous.closing_balance if previous else Decimal("0.00"))
            assert statement.closing_balance == statement.opening_balance + net
            assert round(Decimal(lines or 0), 2) == net
            previous = statement
        end = cycles.cutoff(statements[-1].period_end)
        posted = Transaction.objects.filter(account=account, status="posted")
        assert (
            posted.filter(posted_at__lt=end).count() == StatementLine.objects.filter(statement__account=account).count()
        )
        assert not posted.filter(posted_at__gte=end, statement_line__isnull=False).exists()
        checked += 1
    assert checked >= 8
    # The backfill posted nothing: the interest and fees are the simulation's own.
    assert not Transaction.objects.filter(network_id__startswith="stmt-").exists()
    assert Statement.objects.filter(interest__gt=0).exists()  # the revolver's interest
    assert Statement.objects.filter(fees__gt=0).exists()  # annual fees
    # The demo's people pay at least the minimum by the due date.
    assert not Statement.objects.filter(past_due__gt=0).exists()
