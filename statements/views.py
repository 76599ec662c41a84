"""Statement pages: the list by year, the PDF download, the transaction exports.

Every statement is fetched through ``selectors.statement_get_for_user``: "not yours"
and "does not exist" are the same 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from cards.exports import transactions_csv, transactions_ofx
from cards.models import CardAccount
from portal.digits import is_digits

from . import cycles, selectors, services
from .forms import StatementFilterForm, account_label
from .models import Statement
from .tasks import statement_pdf_render

PREPARING_REFRESH_SECONDS = 3


def _filename(statement: Statement, extension: str) -> str:
    return f"statement-{statement.period_end:%Y-%m-%d}-account-{statement.account.reference[-5:]}.{extension}"


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@dataclass(frozen=True)
class AccountStatements:
    account: CardAccount
    label: str
    statements: list[Statement]


@login_required
@require_GET
def statement_list(request: HttpRequest) -> HttpResponse:
    accounts = list(selectors.statement_accounts_for_user(user=request.user))
    by_id = {account.pk: account for account in accounts}
    raw_account = request.GET.get("account", "")
    valid = is_digits(raw_account) and len(raw_account) <= 18
    account_id = int(raw_account) if valid and int(raw_account) in by_id else None
    years = selectors.statement_years_for_user(user=request.user, account_id=account_id)
    form = StatementFilterForm(request.GET or None, accounts=accounts, years=years)
    year = form.cleaned_data.get("year") if form.is_bound and form.is_valid() else None
    year = year or (years[0] if years else None)
    if form.is_bound and not form.is_valid():
        # A year or account from an old bookmark: show the newest year instead.
        form = StatementFilterForm({"account": account_id or "", "year": year or ""}, accounts=accounts, years=years)
        form.is_valid()

    groups: list[AccountStatements] = []
    if year is not None:
        statements = list(selectors.statement_list_for_user(user=request.user, year=year, account_id=account_id))
        for account in accounts:
            mine = [statement for statement in statements if statement.account_id == account.pk]
            if mine or account.pk == account_id:
                groups.append(AccountStatements(account, account_label(account), mine))
    return render(
        request,
        "statements/list.html",
        {"form": form, "groups": groups, "year": year, "years": years, "accounts": accounts},
    )


@login_required
@require_GET
def statement_pdf(request: HttpRequest, statement_id: int) -> HttpResponse:
    """The stored PDF, checked against its SHA-256. Not rendered yet: rendered now when
    tasks run in-process (no broker), else queued, with a page that waits for it."""
    statement = selectors.statement_get_for_user(user=request.user, statement_id=statement_id)
    content = services.statement_pdf_content(statement=statement)
    if content is None:
        if not statement_pdf_render.app.conf.task_always_eager:
            services.statement_pdf_request(statement=statement)
            return redirect("statements:preparing", statement_id=statement.pk)
        statement = services.statement_pdf_render(statement=statement)
        content = services.statement_pdf_content(statement=statement)
        if content is None:
            return redirect("statements:preparing", statement_id=statement.pk)
    response = HttpResponse(content, content_type="application/pdf")
    return _attachment(response, _filename(statement, "pdf"))


@login_required
@require_GET
def statement_preparing(request: HttpRequest, statement_id: int) -> HttpResponse:
    """ "Preparing your statement…": refreshes itself (a meta refresh works under the
    strict Content-Security-Policy) until the PDF is stored, then starts the download."""
    statement = selectors.statement_get_for_user(user=request.user, statement_id=statement_id)
    ready = bool(statement.pdf)
    if not ready:
        services.statement_pdf_request(statement=statement)
    pdf_url = reverse("statements:pdf", kwargs={"statement_id": statement.pk})
    return render(
        request,
        "statements/preparing.html",
        {
            "statement": statement,
            "ready": ready,
            "pdf_url": pdf_url,
            "refresh": f"0; url={pdf_url}" if ready else str(PREPARING_REFRESH_SECONDS),
        },
    )


@dataclass(frozen=True)
class _AccountAtClose:
    """The account as the OFX export describes it: its balance at the statement's close."""

    reference: str
    currency: str
    posted_balance: object


@login_required
@require_GET
def statement_csv(request: HttpRequest, statement_id: int) -> StreamingHttpResponse:
    statement = selectors.statement_get_for_user(user=request.user, statement_id=statement_id)
    rows = transactions_csv(selectors.statement_transactions(statement=statement).iterator(chunk_size=500))
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    return _attachment(response, _filename(statement, "csv"))


@login_required
@require_GET
def statement_ofx(request: HttpRequest, statement_id: int) -> StreamingHttpResponse:
    statement = selectors.statement_get_for_user(user=request.user, statement_id=statement_id)
    account = statement.account
    body = transactions_ofx(
        account=_AccountAtClose(account.reference, statement.currency, statement.closing_balance),
        transactions=selectors.statement_transactions(statement=statement).iterator(chunk_size=500),
        date_from=statement.period_start,
        date_to=statement.period_end,
        # The balance is the one at the close, so it is stamped with the close.
        now=min(timezone.now(), cycles.cutoff(statement.period_end) - dt.timedelta(seconds=1)),
    )
    response = StreamingHttpResponse(body, content_type="application/x-ofx")
    return _attachment(response, _filename(statement, "ofx"))
