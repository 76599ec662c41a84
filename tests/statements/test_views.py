"""The statements page and its downloads: who may see them (every role), the year
filter, constant queries, the PDF (two years back too), "Preparing your statement…",
and the CSV and OFX exports."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cards.models import Card
from statements import cycles, services
from statements.models import Statement
from statements.tasks import statement_pdf_render
from tests.factories import UserFactory, issue_card

from .conftest import at, pay, post

pytestmark = pytest.mark.django_db

MAR_15 = dt.date(2025, 3, 15)
APR_15 = dt.date(2025, 4, 15)


def signed_in(client, user):
    client.force_login(user)
    return client


def closed(account, card, period_end=MAR_15, amount="64.20"):
    post(account, amount, at(period_end - dt.timedelta(days=5)), card=card, merchant="Blue Bottle Coffee")
    return services.statement_close(account=account, period_end=period_end)


def urls(statement):
    return {name: reverse(f"statements:{name}", args=[statement.pk]) for name in ("pdf", "csv", "ofx", "preparing")}


# --- Who may see which statements ----------------------------------------------------------------


@pytest.fixture
def household(charge):
    """A charge account with a supplementary card member, each with a login."""
    user, account, issued = charge
    partner = UserFactory()
    supplementary = issue_card(account=account, holder=partner.cardholder, role=Card.Role.SUPPLEMENTARY)
    post(account, "12.00", at(dt.date(2025, 3, 7)), card=supplementary.card, merchant="Partner Shop")
    statement = closed(account, issued.card)
    return {"basic": user, "supplementary": partner, "statement": statement}


def test_basic_card_member_sees_and_downloads_the_account_statement(client, household):
    statement = household["statement"]
    client = signed_in(client, household["basic"])

    page = client.get(reverse("statements:list"))
    download = client.get(urls(statement)["pdf"])

    assert page.status_code == 200
    assert urls(statement)["pdf"] in page.content.decode()
    assert (download.status_code, download["Content-Type"]) == (200, "application/pdf")
    ending = statement.account.reference[-5:]
    assert download["Content-Disposition"] == f'attachment; filename="statement-2025-03-15-account-{ending}.pdf"'
    assert download.content.startswith(b"%PDF-")


@pytest.mark.parametrize("name", ["pdf", "csv", "ofx", "preparing"])
def test_supplementary_card_member_does_not_get_the_account_statement(client, household, name):
    client = signed_in(client, household["supplementary"])

    response = client.get(urls(household["statement"])[name])

    assert response.status_code == 404


def test_supplementary_card_member_sees_no_statements_on_the_page(client, household):
    client = signed_in(client, household["supplementary"])

    page = client.get(reverse("statements:list")).content.decode()

    assert "There are no statements yet" in page
    assert urls(household["statement"])["pdf"] not in page


@pytest.mark.parametrize("name", ["pdf", "csv", "ofx", "preparing"])
def test_someone_else_and_a_missing_statement_are_both_404(client, household, name):
    statement = household["statement"]
    client = signed_in(client, UserFactory())

    not_theirs = client.get(urls(statement)[name])
    missing = client.get(reverse(f"statements:{name}", args=[statement.pk + 1000]))

    assert (not_theirs.status_code, missing.status_code) == (404, 404)


def test_signed_out_visitor_is_sent_to_sign_in(client, household):
    response = client.get(urls(household["statement"])["pdf"])

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor:login"))


@pytest.fixture
def business_statement(business):
    account = business["account"]
    post(account, "310.00", at(dt.date(2025, 3, 2)), card=business["basic"].card)
    post(account, "45.10", at(dt.date(2025, 3, 4)), card=business["employee_cards"][0].card)
    return business | {"statement": services.statement_close(account=account, period_end=MAR_15)}


@pytest.mark.parametrize("who", ["administrator", "owner"])
def test_program_administrator_and_basic_card_member_download_the_business_statement(client, business_statement, who):
    client = signed_in(client, business_statement[who])

    page = client.get(reverse("statements:list"))
    download = client.get(urls(business_statement["statement"])["pdf"])

    assert urls(business_statement["statement"])["pdf"] in page.content.decode()
    assert (download.status_code, download["Content-Type"]) == (200, "application/pdf")


def test_employee_cardholder_does_not_get_the_business_statement(client, business_statement):
    client = signed_in(client, business_statement["employees"][0])

    response = client.get(urls(business_statement["statement"])["pdf"])

    assert response.status_code == 404


def test_administrator_of_another_program_gets_404(client, business_statement):
    from tests.factories import BusinessProgramFactory

    other = UserFactory(cardholder=None, username="other.admin")
    BusinessProgramFactory().administrators.add(other)
    client = signed_in(client, other)

    assert client.get(urls(business_statement["statement"])["pdf"]).status_code == 404


# --- The page -----------------------------------------------------------------------------


def test_statements_years_back_and_the_year_filter(client, charge):
    user, account, issued = charge
    closed(account, issued.card, dt.date(2024, 11, 15))
    pay(account, "64.20", at(dt.date(2024, 11, 20)))
    closed(account, issued.card, dt.date(2024, 12, 15))
    pay(account, "64.20", at(dt.date(2024, 12, 20)))
    closed(account, issued.card, dt.date(2025, 1, 15))
    client = signed_in(client, user)

    newest = client.get(reverse("statements:list")).content.decode()
    older = client.get(reverse("statements:list"), {"year": 2024}).content.decode()
    bookmark = client.get(reverse("statements:list"), {"year": 2019, "account": 999999})

    assert "Jan 15, 2025" in newest
    assert "Dec 15, 2024" not in newest
    assert ("Dec 15, 2024" in older, "Nov 15, 2024" in older, "Jan 15, 2025" in older) == (True, True, False)
    assert re.search(r'<option value="2024" selected>2024</option>', older)
    assert "back to 2024" in newest
    assert (bookmark.status_code, "Jan 15, 2025" in bookmark.content.decode()) == (200, True)


def test_account_filter_for_someone_with_two_accounts(client, charge, credit):
    user, account, issued = charge
    _, other_account, _ = credit
    other_account.primary_cardholder = user.cardholder
    other_account.save(update_fields=["primary_cardholder"])
    second_card = issue_card(account=other_account, holder=user.cardholder)
    mine = closed(account, issued.card)
    other = closed(other_account, second_card.card, amount="99.00")
    client = signed_in(client, user)

    both = client.get(reverse("statements:list")).content.decode()
    one = client.get(reverse("statements:list"), {"account": other_account.pk}).content.decode()

    assert (urls(mine)["pdf"] in both, urls(other)["pdf"] in both) == (True, True)
    assert (urls(mine)["pdf"] in one, urls(other)["pdf"] in one) == (False, True)


def test_page_queries_do_not_grow_with_statements(client, charge):
    user, account, issued = charge
    client = signed_in(client, user)
    closed(account, issued.card, dt.date(2024, 1, 15))
    client.get(reverse("statements:list"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("statements:list"))
    day = dt.date(2024, 1, 15)
    for _ in range(11):
        day = cycles.add_months(day, 1)
        closed(account, issued.card, day)

    with CaptureQueriesContext(connection) as twelve:
        page = client.get(reverse("statements:list"), {"year": 2024})

    assert page.content.decode().count('href="/statements/') >= 36
    assert len(twelve) == len(one)


# --- Downloads -----------------------------------------------------------------------------


def test_a_statement_from_two_years_ago_downloads(client, charge):
    user, account, issued = charge
    two_years_ago = cycles.add_months(cycles.last_close_before(account.statement_day, timezone.localdate()), -24)
    statement = closed(account, issued.card, two_years_ago, amount="512.34")
    client = signed_in(client, user)

    page = client.get(reverse("statements:list"), {"year": two_years_ago.year}).content.decode()
    download = client.get(urls(statement)["pdf"])

    assert urls(statement)["pdf"] in page
    assert (download.status_code, download["Content-Type"]) == (200, "application/pdf")
    assert len(download.content) > 5000
    assert Statement.objects.get(pk=statement.pk).pdf_sha256


def test_repeat_download_is_served_from_storage(client, household, monkeypatch):
    client = signed_in(client, household["basic"])
    first = client.get(urls(household["statement"])["pdf"])
    monkeypatch.setattr("statements.pdf.statement_pdf_bytes", lambda statement: pytest.fail("rendered again"))

    second = client.get(urls(household["statement"])["pdf"])

    assert second.content == first.content


@pytest.fixture
def broker_mode():
    """Tasks go to a broker (not run in-process), as in production."""
    conf = statement_pdf_render.app.conf
    saved, conf.task_always_eager = conf.task_always_eager, False
    yield
    conf.task_always_eager = saved


def test_with_a_broker_the_download_waits_on_a_preparing_page(
    client, household, monkeypatch, django_capture_on_commit_callbacks, broker_mode
):
    queued = []
    monkeypatch.setattr(statement_pdf_render, "delay", lambda statement_id: queued.append(statement_id))
    statement = household["statement"]
    client = signed_in(client, household["basic"])

    with django_capture_on_commit_callbacks(execute=True):
        first = client.get(urls(statement)["pdf"])
        waiting = client.get(urls(statement)["preparing"])
        again = client.get(urls(statement)["preparing"])
    services.statement_pdf_render(statement=statement)
    ready = client.get(urls(statement)["preparing"])

    assert (first.status_code, first["Location"]) == (302, urls(statement)["preparing"])
    page = waiting.content.decode()
    assert "Preparing your statement…" in page
    assert '<meta http-equiv="refresh" content="3">' in page
    assert again.status_code == 200
    assert queued == [statement.pk]  # however often the page refreshes
    assert f'<meta http-equiv="refresh" content="0; url={urls(statement)["pdf"]}">' in ready.content.decode()


def test_csv_export_of_the_statement_transactions(client, household):
    statement = household["statement"]
    client = signed_in(client, household["basic"])

    response = client.get(urls(statement)["csv"])
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = body.strip().splitlines()

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="statement-2025-03-15-account-')
    assert rows[0].startswith("Date,Posted date,Description,Card")
    assert len(rows) == 1 + statement.lines.count()
    assert any("Blue Bottle Coffee" in row and "64.20" in row for row in rows)


def test_ofx_export_carries_the_balance_at_the_close(client, household):
    statement = household["statement"]
    client = signed_in(client, household["basic"])

    response = client.get(urls(statement)["ofx"])
    body = b"".join(response.streaming_content).decode()

    assert response["Content-Type"] == "application/x-ofx"
    assert body.count("<STMTTRN>") == statement.lines.count() == 2
    assert f"<LEDGERBAL><BALAMT>{-statement.closing_balance:.2f}</BALAMT>" in body
    assert statement.closing_balance == Decimal("76.20")
    assert f"<ACCTID>{statement.account.reference}</ACCTID>" in body
