"""Business administration: a program administrator's overview, employee cards and their
controls, and spend reports.

Every page first finds the program or card through a ``*_for_admin`` selector, which
answers 404 for anything outside the programs the user administers: another program's
card and a card that does not exist look the same, and a user who administers nothing
gets 404 for every page here (not 403, which would say there is something to see).
Every change goes through cards.services, which checks the actor again and records a
security event naming them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.money import format_money

from . import reports, selectors, services
from .forms_business import BlockedCategoriesForm, CardRequestForm, MonthlyLimitForm, ReportForm
from .models import BusinessProgram, Card, Category

SESSION_PROGRAM = "business_program_id"
SECTIONS = {"overview": "business:overview", "cards": "business:cards", "reports": "business:reports"}


def _admin_only(view: Callable) -> Callable:
    """Signed in (else the sign-in page), then an administrator of some program (else 404)."""

    @wraps(view)
    @never_cache
    @login_required
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        programs = list(selectors.programs_administered_by(user=request.user))
        if not programs:
            raise Http404("No business program matches the given query.")
        request.business_programs = programs
        return view(request, *args, **kwargs)

    return wrapped


def _program(request: HttpRequest, program_id: int) -> BusinessProgram:
    """The program from the list already read for this request (no second query)."""
    for program in request.business_programs:
        if program.pk == program_id:
            request.session[SESSION_PROGRAM] = program.pk
            return program
    raise Http404("No business program matches the given query.")


def _context(request: HttpRequest, program: BusinessProgram, section: str, **extra) -> dict:
    return {"program": program, "programs": request.business_programs, "section": section, **extra}


def _card_name(card: Card) -> str:
    return f"{card.holder.legal_name}'s card •••• {card.last4}"


# --- Program pages ----------------------------------------------------------------------------


@_admin_only
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The last program looked at this session, or the first by name."""
    remembered = request.session.get(SESSION_PROGRAM)
    program = next((p for p in request.business_programs if p.pk == remembered), request.business_programs[0])
    return redirect("business:overview", program_id=program.pk)


@_admin_only
@require_GET
def switch(request: HttpRequest) -> HttpResponse:
    """The program switcher's form (GET, so it works without JavaScript)."""
    try:
        program_id = int(request.GET.get("program", ""))
    except ValueError:
        raise Http404("No business program matches the given query.") from None
    program = _program(request, program_id)
    section = SECTIONS.get(request.GET.get("section", ""), "business:overview")
    return redirect(section, program_id=program.pk)


@_admin_only
@require_GET
def overview(request: HttpRequest, program_id: int) -> HttpResponse:
    program = _program(request, program_id)
    data = reports.program_overview(program=program)
    this_month, last_month = f"{data.this_month:%B %Y}", f"{data.last_month:%B %Y}"
    return render(
        request,
        "cards/business/overview.html",
        _context(
            request,
            program,
            "overview",
            overview=data,
            this_month=this_month,
            last_month=last_month,
            employee_chart=reports.chart_items(data.by_employee),
            category_chart=reports.chart_items(data.by_category),
            card_chart=reports.chart_items(data.by_card),
            near_limit_percent=reports.NEAR_LIMIT_PERCENT,
        ),
    )


@_admin_only
@require_GET
def card_list(request: HttpRequest, program_id: int) -> HttpResponse:
    program = _program(request, program_id)
    usage = reports.program_card_usage(program=program)
    return render(
        request,
        "cards/business/card_list.html",
        _context(
            request,
            program,
            "cards",
            usage=usage,
            currency=reports.program_currency(item.card for item in usage),
            requests=list(selectors.card_request_list_for_program(program=program)),
            month=f"{timezone.localdate():%B}",
        ),
    )


@_admin_only
@require_http_methods(["GET", "POST"])
def card_request(request: HttpRequest, program_id: int) -> HttpResponse:
    program = _program(request, program_id)
    accounts = list(selectors.program_account_list(program=program))
    form = CardRequestForm(request.POST if request.method == "POST" else None, accounts=accounts)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        account = selectors.program_account_get(program=program, account_id=data["account"])
        try:
            queued = services.employee_card_request(
                actor=request.user,
                account=account,
                legal_name=data["legal_name"],
                name_on_card=data["name_on_card"],
                date_of_birth=data["date_of_birth"],
                postal_code=data["postal_code"],
                email=data["email"],
                phone=data["phone"],
                monthly_limit=data["monthly_limit"],
                blocked_categories=data["blocked_categories"],
                idempotency_key=data["idempotency_key"],
                request=request,
            )
        except services.CardServiceError as exc:
            form.add_error(None, str(exc))
        else:
            # From the request queued, which a repeated submit returns unchanged.
            messages.success(
                request,
                f"We've received your request for a card for {queued.legal_name}. We'll issue it within "
                "2 business days and send it to your business address; it appears in this list once issued.",
            )
            return redirect("business:cards", program_id=program.pk)
    return render(
        request, "cards/business/card_request.html", _context(request, program, "cards", form=form, accounts=accounts)
    )


@_admin_only
@require_GET
def report(request: HttpRequest, program_id: int) -> HttpResponse:
    program = _program(request, program_id)
    today = timezone.localdate()
    form, result = _report_form(request, today)
    month_start = today.replace(day=1)
    last_month_end = month_start - dt.timedelta(days=1)
    group_by = result["group_by"] if result else reports.GroupBy.EMPLOYEE
    presets = [
        ("This month", ReportForm.initial_for(month_start, today, group_by)),
        ("Last month", ReportForm.initial_for(last_month_end.replace(day=1), last_month_end, group_by)),
        ("This year so far", ReportForm.initial_for(today.replace(month=1, day=1), today, group_by)),
    ]
    spend = None
    if result is not None:
        spend = reports.spend_report(program=program, **result)
    return render(
        request,
        "cards/business/reports.html",
        _context(
            request,
            program,
            "reports",
            form=form,
            report=spend,
            query=_query(ReportForm.initial_for(spend.start, spend.end, spend.group_by)) if spend else "",
            presets=[(label, _query(values)) for label, values in presets],
        ),
    )


def _query(values: dict[str, str]) -> str:
    return urlencode(values)


def _report_form(request: HttpRequest, today: dt.date) -> tuple[ReportForm, dict | None]:
    """The report asked for, or this month by employee when nothing was asked yet."""
    if not request.GET:
        initial = ReportForm.initial_for(today.replace(day=1), today)
        form = ReportForm(initial)
    else:
        form = ReportForm(request.GET)
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    return form, {"start": data["start"], "end": data["end"], "group_by": data["group_by"]}


def _csv_response(rows, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(reports.csv_stream(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@_admin_only
@require_GET
def report_csv(request: HttpRequest, program_id: int) -> HttpResponse:
    """The grouped report as CSV; a bad range goes back to the page with the message."""
    program = _program(request, program_id)
    form, result = _report_form(request, timezone.localdate())
    if result is None:
        return redirect(f"{reverse('business:reports', args=[program.pk])}?{request.GET.urlencode()}")
    spend = reports.spend_report(program=program, **result)
    name = f"{slugify(program.name)}-spend-by-{spend.group_by}-{spend.start}-to-{spend.end}.csv"
    return _csv_response(reports.report_csv_rows(spend), name)


@_admin_only
@require_GET
def transactions_csv(request: HttpRequest, program_id: int) -> HttpResponse:
    """Every purchase and refund in the range, one per line (cards as last 4 digits)."""
    program = _program(request, program_id)
    form, result = _report_form(request, timezone.localdate())
    if result is None:
        return redirect(f"{reverse('business:reports', args=[program.pk])}?{request.GET.urlencode()}")
    start, end = result["start"], result["end"]
    name = f"{slugify(program.name)}-transactions-{start}-to-{end}.csv"
    return _csv_response(reports.transaction_csv_rows(program=program, start=start, end=end), name)


# --- One card ---------------------------------------------------------------------------------


def _card(request: HttpRequest, card_id: int) -> tuple[Card, BusinessProgram]:
    card = selectors.business_card_get_for_admin(user=request.user, card_id=card_id)
    return card, _program(request, card.account.business_program_id)


def _card_context(request: HttpRequest, card: Card, program: BusinessProgram, **extra) -> dict:
    return _context(request, program, "cards", card=card, card_name=_card_name(card), **extra)


@_admin_only
@require_GET
def card_detail(request: HttpRequest, card_id: int) -> HttpResponse:
    card, program = _card(request, card_id)
    spent = selectors.card_spend_this_month(card=card)
    usage = reports.CardUsage(card=card, spent=spent, limit=card.monthly_limit)
    labels = dict(Category.choices)
    is_employee_card = card.role == Card.Role.EMPLOYEE
    return render(
        request,
        "cards/business/card_detail.html",
        _card_context(
            request,
            card,
            program,
            usage=usage,
            blocked=[labels.get(value, value) for value in card.blocked_categories or []],
            is_employee_card=is_employee_card,
            controls_refusal=services.employee_card_controls_refusal(card=card) if is_employee_card else "",
            frozen_by_staff=card.status == Card.Status.FROZEN and services.card_frozen_by_staff(card),
            can_close=card.role != Card.Role.BASIC and card.status not in (Card.Status.CLOSED, Card.Status.LOST_STOLEN),
            month=f"{timezone.localdate():%B}",
        ),
    )


def _refuse(request: HttpRequest, card: Card, message: str) -> HttpResponse:
    messages.error(request, message)
    return redirect("business:card", card_id=card.pk)


@_admin_only
@require_http_methods(["GET", "POST"])
def card_limit(request: HttpRequest, card_id: int) -> HttpResponse:
    card, program = _card(request, card_id)
    if card.role != Card.Role.EMPLOYEE:
        return _refuse(request, card, "Monthly limits apply to employee cards only.")
    if refusal := services.employee_card_controls_refusal(card=card):
        return _refuse(request, card, refusal)
    initial = {"monthly_limit": f"{card.monthly_limit:.2f}" if card.monthly_limit is not None else ""}
    form = MonthlyLimitForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        limit = form.cleaned_data["monthly_limit"]
        try:
            services.employee_card_limit_set(actor=request.user, card=card, monthly_limit=limit, request=request)
        except (services.CardServiceError, PermissionDenied) as exc:
            form.add_error("monthly_limit", str(exc))
        else:
            if limit is None:
                text = f"{_card_name(card)} now has no monthly limit."
            else:
                text = (
                    f"The monthly limit on {_card_name(card)} is now {format_money(limit, card.account.currency)}. "
                    "It applies from the next purchase."
                )
            messages.success(request, text)
            return redirect("business:card", card_id=card.pk)
    return render(request, "cards/business/card_limit.html", _card_context(request, card, program, form=form))


@_admin_only
@require_http_methods(["GET", "POST"])
def card_categories(request: HttpRequest, card_id: int) -> HttpResponse:
    card, program = _card(request, card_id)
    if card.role != Card.Role.EMPLOYEE:
        return _refuse(request, card, "Category blocks apply to employee cards only.")
    if refusal := services.employee_card_controls_refusal(card=card):
        return _refuse(request, card, refusal)
    form = BlockedCategoriesForm(
        request.POST if request.method == "POST" else None, initial={"categories": list(card.blocked_categories or [])}
    )
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["categories"]
        try:
            services.employee_card_categories_block(actor=request.user, card=card, categories=chosen, request=request)
        except (services.CardServiceError, PermissionDenied) as exc:
            form.add_error("categories", str(exc))
        else:
            labels = dict(Category.choices)
            if chosen:
                names = ", ".join(labels[value] for value in sorted(chosen, key=lambda v: labels[v]))
                text = f"Purchases in {names} are now blocked on {_card_name(card)}."
            else:
                text = f"No categories are blocked on {_card_name(card)}."
            messages.success(request, text)
            return redirect("business:card", card_id=card.pk)
    return render(request, "cards/business/card_categories.html", _card_context(request, card, program, form=form))


@_admin_only
@require_POST
def card_freeze(request: HttpRequest, card_id: int) -> HttpResponse:
    card, _ = _card(request, card_id)
    try:
        services.card_freeze(actor=request.user, card=card, request=request)
    except (services.CardServiceError, PermissionDenied) as exc:
        return _refuse(request, card, str(exc))
    messages.success(request, f"{_card_name(card)} is frozen: new purchases are declined until you unfreeze it.")
    return redirect("business:card", card_id=card.pk)


@_admin_only
@require_POST
def card_unfreeze(request: HttpRequest, card_id: int) -> HttpResponse:
    card, _ = _card(request, card_id)
    try:
        services.card_unfreeze(actor=request.user, card=card, request=request)
    except (services.CardServiceError, PermissionDenied) as exc:
        return _refuse(request, card, str(exc))
    messages.success(request, f"{_card_name(card)} is unfrozen and can be used again.")
    return redirect("business:card", card_id=card.pk)


@_admin_only
@require_http_methods(["GET", "POST"])
def card_close(request: HttpRequest, card_id: int) -> HttpResponse:
    """A confirmation page: closing cannot be undone."""
    card, program = _card(request, card_id)
    if card.status == Card.Status.CLOSED:
        return _refuse(request, card, f"{_card_name(card)} is already closed.")
    if request.method == "POST":
        try:
            services.card_close(actor=request.user, card=card, request=request)
        except (services.CardServiceError, PermissionDenied) as exc:
            return _refuse(request, card, str(exc))
        messages.success(
            request,
            f"{_card_name(card)} is closed. Purchases already approved will still be charged to the account.",
        )
        return redirect("business:cards", program_id=program.pk)
    return render(request, "cards/business/card_close.html", _card_context(request, card, program))
