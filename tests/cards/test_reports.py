"""Spend figures for business administrators (cards.reports)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from cards import reports, selectors
from cards.models import Card, Transaction
from tests.factories import (
    BusinessProgramFactory,
    CardholderFactory,
    CardProductFactory,
    TransactionFactory,
    UserFactory,
    issue_card,
    open_account,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def program():
    program = BusinessProgramFactory(name="Acme")
    account = open_account(holder=CardholderFactory(), product=CardProductFactory(business=True), program=program)
    program.card = issue_card(
        account=account, holder=CardholderFactory(legal_name="Ann Employee"), role=Card.Role.EMPLOYEE
    ).card
    return program


def local(*args) -> dt.datetime:
    return timezone.make_aware(dt.datetime(*args))


def test_spend_counts_pending_and_posted_purchases_not_declines_reversals_or_refunds(program):
    card = program.card
    for status in ("pending", "posted", "declined", "reversed"):
        TransactionFactory(card=card, amount=Decimal("10.00"), status=status)
    TransactionFactory(card=card, kind=Transaction.Kind.REFUND, amount=Decimal("-4.00"))
    overview = reports.program_overview(program=program)
    assert overview.total_this_month == Decimal("20.00")
    # The same figure the monthly limit checks against.
    assert overview.total_this_month == selectors.card_spend_this_month(card=card)


def test_months_are_the_portals_local_months(program):
    # 02:00 UTC on 1 April is still 31 March in New York.
    TransactionFactory(
        card=program.card, amount=Decimal("7.00"), transacted_at=dt.datetime(2025, 4, 1, 2, tzinfo=dt.UTC)
    )
    report = reports.spend_report(
        program=program, start=dt.date(2025, 3, 1), end=dt.date(2025, 4, 30), group_by=reports.GroupBy.MONTH
    )
    assert [(row.label, row.spend) for row in report.rows] == [("March 2025", Decimal("7.00"))]
    march = reports.spend_report(
        program=program, start=dt.date(2025, 3, 31), end=dt.date(2025, 3, 31), group_by=reports.GroupBy.CATEGORY
    )
    assert march.total.spend == Decimal("7.00")


def test_overview_separates_this_month_from_last_month(program):
    now = local(2025, 6, 15, 12)
    TransactionFactory(card=program.card, amount=Decimal("5.00"), transacted_at=local(2025, 6, 1, 0, 30))
    TransactionFactory(card=program.card, amount=Decimal("3.00"), transacted_at=local(2025, 5, 31, 23, 30))
    TransactionFactory(card=program.card, amount=Decimal("9.00"), transacted_at=local(2025, 4, 30, 23, 30))
    overview = reports.program_overview(program=program, now=now)
    assert (overview.this_month, overview.last_month) == (dt.date(2025, 6, 1), dt.date(2025, 5, 1))
    assert (overview.total_this_month, overview.total_last_month) == (Decimal("5.00"), Decimal("3.00"))


def test_a_chart_shows_the_biggest_lines_and_folds_the_rest_into_one_bar():
    lines = [reports.SpendLine(f"Person {n}", Decimal(100 - n), Decimal("0")) for n in range(12)]
    lines.append(reports.SpendLine("Nobody", Decimal("0"), Decimal("5")))
    items = reports.chart_items(lines)
    assert len(items) == reports.CHART_LINES
    assert items[0] == ("Person 0", Decimal("100"))
    assert items[-1] == ("All others (5)", sum(Decimal(100 - n) for n in range(7, 12)))


def test_near_limit_needs_a_limit_and_a_card_that_can_spend(program):
    card = program.card
    usage = reports.CardUsage(card=card, spent=Decimal("80.00"), limit=Decimal("100.00"))
    assert usage.near_limit and usage.percent_used == 80 and usage.remaining == Decimal("20.00")
    assert not reports.CardUsage(card=card, spent=Decimal("79.99"), limit=Decimal("100.00")).near_limit
    assert not reports.CardUsage(card=card, spent=Decimal("500.00"), limit=None).near_limit
    card.status = Card.Status.CLOSED
    assert not reports.CardUsage(card=card, spent=Decimal("99.00"), limit=Decimal("100.00")).near_limit


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("Corner Coffee", "Corner Coffee"),
        ("", ""),
    ],
)
def test_csv_text_cells_cannot_run_as_spreadsheet_formulas(text, cell):
    assert reports._text(text) == cell


def test_spend_report_refuses_an_unknown_grouping_or_a_backwards_range(program):
    with pytest.raises(ValueError, match="grouping"):
        reports.spend_report(program=program, start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 2), group_by="planet")
    with pytest.raises(ValueError, match="before"):
        reports.spend_report(program=program, start=dt.date(2025, 1, 2), end=dt.date(2025, 1, 1), group_by="month")


def test_overview_query_count_does_not_grow_with_cards_or_transactions(program, django_assert_num_queries):
    for _ in range(2):
        with django_assert_num_queries(2):
            reports.program_overview(program=program)
        card = issue_card(account=program.card.account, holder=CardholderFactory(), role=Card.Role.EMPLOYEE).card
        for _ in range(5):
            TransactionFactory(card=card, amount=Decimal("1.00"))


def test_program_admin_flag_is_dropped_when_the_program_is_deleted(program):
    admin = UserFactory(cardholder=None)
    program.administrators.add(admin)
    assert selectors.user_is_program_admin(user=admin) is True
    Card.objects.filter(account__business_program=program).delete()
    program.accounts.all().delete()
    program.delete()
    assert selectors.user_is_program_admin(user=admin) is False
