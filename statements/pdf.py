"""Statement PDFs with WeasyPrint.

Fast by construction (see DESIGN.md's WeasyPrint notes): the print stylesheet is small
and parsed once per process, with the bundled fonts loaded into one long-lived
``FontConfiguration``; transactions are laid out as block rows, not one giant table;
renders happen in a long-lived process (a Celery worker, or the web process when tasks
run eagerly). The document fetches nothing: the HTML's URL fetcher refuses every URL,
so no merchant name or other text can make the renderer reach out.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from . import cycles, selectors
from .models import Statement

STATIC_DIR = Path(__file__).resolve().parent / "static" / "statements"
PRINT_CSS = STATIC_DIR / "print.css"


class _NoFetching(URLFetcher):
    def fetch(self, url, headers=None):
        raise ValueError(f"Statement documents load nothing ({url[:40]!r} refused)")


@functools.cache
def print_setup() -> tuple[CSS, FontConfiguration]:
    """The parsed print stylesheet and the font configuration its @font-face rules
    were loaded into: built on first use, then shared by every render in the process."""
    font_config = FontConfiguration()
    stylesheet = CSS(
        filename=str(PRINT_CSS), font_config=font_config, url_fetcher=URLFetcher(allowed_protocols={"file"})
    )
    return stylesheet, font_config


def statement_html(statement: Statement) -> str:
    document = selectors.statement_document(statement=statement)
    account = statement.account
    available = None
    if statement.credit_limit is not None:
        available = max(Decimal("0.00"), statement.credit_limit - statement.closing_balance)
    return render_to_string(
        "statements/pdf/statement.html",
        {
            "statement": statement,
            "document": document,
            "ISSUER_NAME": settings.ISSUER_NAME,
            "SUPPORT_PHONE": settings.SUPPORT_PHONE,
            "cardholder_name": account.primary_cardholder.legal_name,
            "program_name": account.business_program.name if account.business_program_id else "",
            "account_ending": account.reference[-5:],
            "days": (statement.period_end - statement.period_start).days + 1,
            "available_credit": available,
            "late_fee": cycles.LATE_FEE,
        },
    )


def html_to_pdf(html: str) -> bytes:
    stylesheet, font_config = print_setup()
    return HTML(string=html, url_fetcher=_NoFetching()).write_pdf(stylesheets=[stylesheet], font_config=font_config)


def statement_pdf_bytes(statement: Statement) -> bytes:
    return html_to_pdf(statement_html(statement))
