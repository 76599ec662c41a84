"""Statement PDFs: what a person reads in them (through pdftotext), how they are stored
once with a checksum, and what the renderer is allowed to do."""

import datetime as dt
import hashlib
import re
import subprocess
from decimal import Decimal

import pytest

from statements import pdf, services
from statements.models import Statement

from .conftest import at, pay, post

pytestmark = pytest.mark.django_db

MAR_15 = dt.date(2025, 3, 15)
APR_15 = dt.date(2025, 4, 15)


def pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "statement.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout


def pdf_info(content: bytes, tmp_path, tool: str = "pdfinfo") -> str:
    path = tmp_path / "statement.pdf"
    path.write_bytes(content)
    return subprocess.run([tool, str(path)], capture_output=True, check=True, text=True).stdout


def page_count(content: bytes, tmp_path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)", pdf_info(content, tmp_path), re.MULTILINE).group(1))


def rendered(statement: Statement) -> bytes:
    statement = services.statement_pdf_render(statement=statement)
    with statement.pdf.open("rb") as stored:
        return stored.read()


@pytest.fixture
def credit_statement(credit):
    user, account, issued = credit
    post(account, "1000.00", at(dt.date(2025, 3, 1)), card=issued.card, merchant="Blue Bottle Coffee")
    services.statement_close(account=account, period_end=MAR_15)
    pay(account, "100.00", at(dt.date(2025, 4, 1)))
    post(
        account,
        "48.77",
        at(dt.date(2025, 4, 3)),
        card=issued.card,
        merchant="Café de Flore",
        merchant_city="Paris",
        merchant_country="FR",
        original_amount=Decimal("45.00"),
        original_currency="EUR",
    )
    statement = services.statement_close(account=account, period_end=APR_15)
    return statement, issued


def test_pdf_text_holds_the_period_the_totals_and_page_numbers(credit_statement, tmp_path):
    statement, issued = credit_statement

    content = rendered(statement)
    text = pdf_text(content, tmp_path)
    flat = " ".join(text.split())

    pages = page_count(content, tmp_path)
    assert f"Page 1 of {pages}" in flat
    assert "Mar 16, 2025 – Apr 15, 2025" in flat
    assert "Closing date April 15, 2025" in flat
    assert "Previous balance $1,000.00" in flat
    assert "Payments and credits -$100.00" in flat
    assert "New purchases $48.77" in flat
    # Mar 16-31 at 1,000, Apr 1-2 at 900, Apr 3-15 at 948.77: 30,134.01 balance-days
    # × 24.99% / 365 = 20.6315… → $20.63.
    assert "Interest charged $20.63" in flat
    assert "New balance $969.40" in flat
    assert "Minimum payment due $35.00" in flat
    assert "Payment due date May 10, 2025" in flat
    assert "45.00 EUR · 1 EUR = 1.0838 USD" in flat
    assert f"Card ending {issued.card.last4}" in flat


def test_pdf_never_shows_a_full_card_number(credit_statement, tmp_path):
    statement, issued = credit_statement

    text = pdf_text(rendered(statement), tmp_path)
    digits = re.sub(r"\D", "", text)

    assert issued.pan not in digits
    assert issued.card.first6 + issued.card.last4 not in digits
    assert re.search(r"\d{12,}", text.replace(" ", "")) is None


def test_long_statement_runs_over_several_pages_each_numbered(charge, tmp_path):
    _, account, issued = charge
    for day in range(1, 29):
        for hour in range(9, 14):
            post(
                account,
                "12.34",
                at(dt.date(2025, 2, day) if day > 15 else dt.date(2025, 3, day), hour),
                card=issued.card,
            )
    statement = services.statement_close(account=account, period_end=MAR_15)

    content = rendered(statement)
    text = " ".join(pdf_text(content, tmp_path).split())
    pages = page_count(content, tmp_path)

    assert statement.lines.count() == 140
    assert pages >= 3
    assert [f"Page {n} of {pages}" in text for n in range(1, pages + 1)] == [True] * pages
    assert f"Total for card ending {issued.card.last4} $1,727.60" in text


def test_business_statement_has_a_section_per_employee_card(business, tmp_path):
    account = business["account"]
    post(account, "310.00", at(dt.date(2025, 3, 2)), card=business["basic"].card, merchant="Hilton Hotels")
    for issued in business["employee_cards"]:
        post(account, "45.10", at(dt.date(2025, 3, 4)), card=issued.card, merchant="Shell Oil")
    statement = services.statement_close(account=account, period_end=MAR_15)

    text = " ".join(pdf_text(rendered(statement), tmp_path).split())

    assert business["program"].name in text
    assert "Summary by card" in text
    for employee, issued in zip(business["employees"], business["employee_cards"], strict=True):
        assert f"{employee.cardholder.legal_name} Card ending {issued.card.last4}" in text
        assert f"Total for card ending {issued.card.last4} $45.10" in text


def test_fonts_are_the_bundled_ones_embedded_as_subsets(credit_statement, tmp_path):
    statement, _ = credit_statement

    listing = pdf_info(rendered(statement), tmp_path, tool="pdffonts").splitlines()[2:]
    # name, type..., embedded, subset, unicode: only the @font-face family, embedded.
    fonts = {(line.split()[0].split("+", 1)[1], tuple(line.split()[-5:-2])) for line in listing}

    assert fonts == {("Statement-Sans", ("yes", "yes", "yes")), ("Statement-Sans-Bold", ("yes", "yes", "yes"))}


def test_pdf_is_rendered_once_and_stored_with_its_sha256(credit_statement, monkeypatch):
    statement, _ = credit_statement
    stored = services.statement_pdf_render(statement=statement)

    def render_again(statement):
        raise AssertionError("rendered twice")

    monkeypatch.setattr(pdf, "statement_pdf_bytes", render_again)
    again = services.statement_pdf_render(statement=Statement.objects.get(pk=statement.pk))

    with stored.pdf.open("rb") as file:
        content = file.read()
    assert again.pdf.name == stored.pdf.name
    assert stored.pdf_sha256 == hashlib.sha256(content).hexdigest()
    assert content.startswith(b"%PDF-")
    assert str(statement.account.reference) not in stored.pdf.name
    assert services.statement_pdf_content(statement=again) == content


def test_a_stored_file_that_changed_is_not_served_and_is_rendered_again(credit_statement, caplog):
    statement, _ = credit_statement
    stored = services.statement_pdf_render(statement=statement)
    path = stored.pdf.path
    with open(path, "ab") as file:
        file.write(b"% tampered")

    content = services.statement_pdf_content(statement=stored)
    fresh = Statement.objects.get(pk=statement.pk)

    assert content is None
    assert "checksum mismatch" in caplog.text
    assert (fresh.pdf.name, fresh.pdf_sha256) == ("", "")
    rerendered = services.statement_pdf_render(statement=fresh)
    assert services.statement_pdf_content(statement=rerendered).startswith(b"%PDF-")


def test_the_print_stylesheet_is_parsed_once_per_process(credit_statement):
    statement, _ = credit_statement
    pdf.print_setup.cache_clear()

    pdf.statement_pdf_bytes(statement)
    pdf.statement_pdf_bytes(statement)

    assert pdf.print_setup.cache_info().misses == 1


def test_the_document_fetches_nothing(caplog):
    html = '<p>Hi</p><img src="http://127.0.0.1:9/probe.png"><img src="file:///etc/passwd">'

    content = pdf.html_to_pdf(html)

    assert content.startswith(b"%PDF-")
    assert caplog.text.count("Statement documents load nothing") == 2
