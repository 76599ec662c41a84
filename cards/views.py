"""The cardholder's pages: dashboard, transactions and exports, rewards, card controls.

Which card (and so which account) a page shows is the card the user chose on the
dashboard (``?card=<id>``, checked through ``card_get_for_user`` and remembered in the
session). What of that account they see is decided by ``selectors.card_scope``: the
whole account for its basic card member or program administrator, only their own
card's activity for a supplementary or employee cardholder.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.charts import bar_chart_svg
from portal.digits import is_digits
from portal.money import format_money
from portal.net import client_ip

from . import exports, selectors, services
from .forms import ActivateCardForm, ExportForm, RedeemForm, TransactionFilterForm, new_idempotency_key
from .models import Card, DeclineReason, Transaction
from .verification import card_check

SESSION_CARD = "cards.selected_card"
PAGE_SIZE = 50


# --- Choosing a card ------------------------------------------------------------------------


def _default_card(user, choices: list[Card]) -> Card | None:
    """The user's own usable card first, then any card they manage, in list order."""

    def rank(card: Card) -> tuple[int, int]:
        own = card.holder_id == user.cardholder_id
        usable = card.status in (Card.Status.ACTIVE, Card.Status.FROZEN, Card.Status.INACTIVE)
        return (0 if own else 1, 0 if usable else 1)

    return min(choices, key=rank, default=None)


def _chosen_scope(request: HttpRequest, *, select: bool = False) -> tuple[list[Card], selectors.CardScope | None]:
    """The user's cards and the scope of the chosen one. With ``select``, a ``card``
    query parameter chooses (404 if it is not a card they may see, as for a missing
    one); otherwise the session's choice, or a sensible default."""
    user = request.user
    choices = selectors.card_choices_for_user(user=user)
    chosen = None
    raw = request.GET.get("card") if select else None
    if raw is not None:
        if not is_digits(raw) or len(raw) > 18:
            raise Http404("No card matches the given query.")
        card = selectors.card_get_for_user(user=user, card_id=int(raw))
        chosen = next(c for c in choices if c.pk == card.pk)
        request.session[SESSION_CARD] = chosen.pk
    else:
        remembered = request.session.get(SESSION_CARD)
        chosen = next((c for c in choices if c.pk == remembered), None) or _default_card(user, choices)
    if chosen is None:
        return choices, None
    return choices, selectors.card_scope(user=user, card=chosen, choices=choices)


def _can_unfreeze(user, card: Card) -> bool:
    """As services.card_unfreeze decides: whoever froze the card may lift their freeze,
    the account's manager any freeze but the fraud team's (only staff lift that)."""
    if card.status != Card.Status.FROZEN:
        return False
    if card.frozen_by_id == user.pk:
        return True
    return card.manages_account and not services.card_frozen_by_staff(card)


def _replacement(card: Card, choices: list[Card]) -> Card | None:
    return next((c for c in choices if c.replaces_id == card.pk), None)


# --- Dashboard ------------------------------------------------------------------------------


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    choices, scope = _chosen_scope(request, select=True)
    if scope is None:
        return render(request, "cards/dashboard.html", {"cards": choices})
    data = selectors.dashboard_for(scope=scope)
    currency = scope.account.currency
    chart = None
    if data.spending:
        chart = bar_chart_svg(
            title=f"Spending by category since {data.cycle.start:%B} {data.cycle.start.day}",
            items=[(item.label, item.amount) for item in data.spending],
            currency=currency,
            chart_id="spending-chart",
        )
    card = scope.card
    return render(
        request,
        "cards/dashboard.html",
        {
            "cards": choices,
            "scope": scope,
            "card": card,
            "d": data,
            "chart": chart,
            "currency": currency,
            "today": timezone.localdate(),
            "can_unfreeze": _can_unfreeze(request.user, card),
            "replacement": _replacement(card, choices),
            "show_card_column": len(scope.cards) > 1,
        },
    )


# --- Card controls --------------------------------------------------------------------------


def _after_control(request: HttpRequest, card: Card) -> HttpResponse:
    request.session[SESSION_CARD] = card.pk
    return redirect("cards:dashboard")


@login_required
@require_POST
def card_freeze(request: HttpRequest, card_id: int) -> HttpResponse:
    card = selectors.card_get_for_user(user=request.user, card_id=card_id)
    try:
        services.card_freeze(actor=request.user, card=card, request=request)
    except services.CardServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Your card ending {card.last4} is frozen. New purchases will be declined until you unfreeze it.",
        )
    return _after_control(request, card)


@login_required
@require_POST
def card_unfreeze(request: HttpRequest, card_id: int) -> HttpResponse:
    card = selectors.card_get_for_user(user=request.user, card_id=card_id)
    try:
        services.card_unfreeze(actor=request.user, card=card, request=request)
    except PermissionDenied as exc:
        if services.card_frozen_by_staff(card):
            messages.error(request, str(exc))  # the fraud team's freeze: call us
        else:
            who = (
                "your company's card program administrator"
                if card.role == Card.Role.EMPLOYEE
                else "the basic card member"
            )
            messages.error(request, f"Your card ending {card.last4} was frozen by {who}: ask them to unfreeze it.")
    except services.CardServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Your card ending {card.last4} is unfrozen. You can use it again now.")
    return _after_control(request, card)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def card_report_lost(request: HttpRequest, card_id: int) -> HttpResponse:
    """A confirmation page saying what happens, then the report itself."""
    card = selectors.card_get_for_user(user=request.user, card_id=card_id)
    closed = card.status in (Card.Status.LOST_STOLEN, Card.Status.CLOSED)
    if request.method == "POST" and not closed:
        try:
            issued = services.card_report_lost_stolen(actor=request.user, card=card, request=request)
        except services.CardServiceError as exc:
            messages.error(request, str(exc))
        else:
            text = f"We've blocked your card ending {card.last4}: it can't be used for new purchases."
            if issued is not None:
                text += f" A replacement card ending {issued.card.last4} is on its way. Activate it when it arrives."
            messages.success(request, text)
        return _after_control(request, card)
    return render(request, "cards/report_lost.html", {"card": card, "closed": closed})


# --- Transactions ---------------------------------------------------------------------------


def _cursor(request: HttpRequest, name: str) -> selectors.Cursor | None:
    raw = request.GET.get(name)
    return selectors.Cursor.decode(raw) if raw else None


@login_required
@require_GET
def transactions(request: HttpRequest) -> HttpResponse:
    choices, scope = _chosen_scope(request)
    if scope is None:
        return render(request, "cards/transactions.html", {"cards": choices})
    form = TransactionFilterForm(request.GET, cards=list(scope.cards))
    context = {"scope": scope, "form": form, "show_card_column": len(scope.cards) > 1}
    if form.is_valid():
        try:
            before, after = _cursor(request, "before"), _cursor(request, "after")
        except selectors.CursorError:
            messages.warning(request, "That page link has expired, so here are the newest transactions.")
            before = after = None
        filtered = selectors.transactions_filter(transactions=scope.transactions(), filters=form.filters())
        page = selectors.keyset_page(
            filtered.select_related("card"), time_field="transacted_at", before=before, after=after, limit=PAGE_SIZE
        )
        context |= {"page": page, "filters": form.filters(), "paged": before is not None or after is not None}
    return render(request, "cards/transactions.html", context)


@login_required
@require_GET
def transaction_detail(request: HttpRequest, transaction_id: int) -> HttpResponse:
    txn = selectors.transaction_get_for_user(user=request.user, transaction_id=transaction_id)
    history = list(selectors.transaction_status_history(transaction=txn))
    reward_rows = selectors.transaction_rewards(transaction=txn)
    # Declined because frozen: "unfreeze it" helps only if the freeze is one they can lift.
    card = txn.card
    fraud_frozen = (
        txn.decline_reason == DeclineReason.CARD_FROZEN
        and card is not None
        and card.status == Card.Status.FROZEN
        and services.card_frozen_by_staff(card)
    )
    return render(
        request,
        "cards/transaction_detail.html",
        {
            "txn": txn,
            "fraud_frozen": fraud_frozen,
            "history": history,
            "reward_rows": reward_rows,
            "points": txn.account.product.rewards_kind == "points",
            "decline_reason": DeclineReason(txn.decline_reason).label if txn.decline_reason else "",
        },
    )


@login_required
@require_GET
def transactions_export(request: HttpRequest) -> HttpResponse:
    """A form for the date range and file type; with valid answers, the file."""
    choices, scope = _chosen_scope(request)
    if scope is None:
        raise Http404("No card matches the given query.")
    # OFX carries the account's balance: only for those who see the whole account.
    form = ExportForm(request.GET or None, ofx=scope.whole_account)
    if not form.is_valid():
        if not form.is_bound:
            today = timezone.localdate()
            form = ExportForm(
                initial={
                    "date_from": today - dt.timedelta(days=selectors.HISTORY_DAYS),
                    "date_to": today,
                    "file_format": "csv",
                },
                ofx=scope.whole_account,
            )
        return render(request, "cards/export.html", {"scope": scope, "form": form})
    data = form.cleaned_data
    filters = selectors.TransactionFilters(date_from=data["date_from"], date_to=data["date_to"])
    rows = selectors.transactions_filter(transactions=scope.transactions(), filters=filters)
    name = scope.account.reference if scope.whole_account else f"card-{scope.card.last4}"
    filename = f"transactions-{name}-{data['date_from']:%Y%m%d}-{data['date_to']:%Y%m%d}"
    if data["file_format"] == "ofx":
        posted = rows.filter(status=Transaction.Status.POSTED).select_related("card").order_by("transacted_at", "id")
        body = exports.transactions_ofx(
            account=scope.account,
            transactions=posted.iterator(chunk_size=2000),
            date_from=data["date_from"],
            date_to=data["date_to"],
            available=selectors.account_available_credit(account=scope.account),
        )
        response = StreamingHttpResponse(body, content_type="application/x-ofx; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.ofx"'
    else:
        shown = rows.exclude(status=Transaction.Status.DECLINED).select_related("card").order_by("transacted_at", "id")
        response = StreamingHttpResponse(
            exports.transactions_csv(shown.iterator(chunk_size=2000)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    response["Cache-Control"] = "no-store"
    return response


# --- Rewards --------------------------------------------------------------------------------


def _rewards_text(quantity, points: bool) -> str:
    return f"{quantity:,.0f} points" if points else f"{format_money(quantity)} cash back"


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def rewards(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        # The form names its card, so a choice made meanwhile in another tab cannot
        # redirect the redemption to another account.
        raw = request.POST.get("card", "")
        if not is_digits(raw) or len(raw) > 18:
            raise Http404("No card matches the given query.")
        card = selectors.card_get_for_user(user=request.user, card_id=int(raw))
        request.session[SESSION_CARD] = card.pk
    choices, scope = _chosen_scope(request)
    if scope is None or not scope.whole_account:
        if request.method == "POST":
            raise Http404("No account matches the given query.")
        return render(request, "cards/rewards.html", {"scope": scope})
    account = scope.account
    cycle = selectors.billing_cycle(account=account)
    summary = selectors.rewards_summary(account=account, since=cycle.start_at)
    form = RedeemForm(
        request.POST if request.method == "POST" else None,
        rewards=summary,
        initial={
            "quantity": f"{summary.redeemable:.0f}" if summary.points else f"{summary.redeemable:.2f}",
            "idempotency_key": new_idempotency_key(),
            "card": scope.card.pk,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            done = services.rewards_redeem(
                actor=request.user,
                account=account,
                quantity=form.cleaned_data["quantity"],
                idempotency_key=form.cleaned_data["idempotency_key"],
                request=request,
            )
        except services.RewardsError as exc:
            form.add_error("quantity", str(exc))
        else:
            messages.success(
                request,
                f"You redeemed {_rewards_text(-done.entry.quantity, summary.points)} for a "
                f"{format_money(-done.credit.amount, done.credit.currency)} statement credit. "
                "It's on your account now.",
            )
            return redirect("cards:rewards")
    try:
        before, after = _cursor(request, "before"), _cursor(request, "after")
    except selectors.CursorError:
        before = after = None
    page = selectors.keyset_page(
        selectors.reward_entries(account=account), time_field="created_at", before=before, after=after, limit=PAGE_SIZE
    )
    return render(
        request,
        "cards/rewards.html",
        {"scope": scope, "summary": summary, "form": form, "page": page, "cycle": cycle},
    )


# --- Activation (open to anyone holding the card) ---------------------------------------------


@never_cache
@sensitive_post_parameters("card_number", "card_id", "expiry")
@require_http_methods(["GET", "POST"])
def card_activate(request: HttpRequest) -> HttpResponse:
    """Open to anyone holding the card: the number, card ID and expiry prove it."""
    form = ActivateCardForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        result = card_check(
            pan=data["card_number"],
            card_id=data["card_id"],
            expiry=data["expiry"],
            purpose="activation",
            ip=client_ip(request),
            request=request,
        )
        if not result.ok:
            form.add_error(None, result.message)
        elif result.card.status == Card.Status.ACTIVE:
            form.add_error(None, f"Your card ending {result.card.last4} is already active. You can use it now.")
        elif result.card.status == Card.Status.FROZEN:
            form.add_error(
                None,
                f"Your card ending {result.card.last4} is already active, and it is frozen. "
                "Unfreeze it on your cards page, or call the number on the back of your card.",
            )
        elif result.card.status != Card.Status.INACTIVE:
            form.add_error(
                None,
                "This card can't be activated because it has been closed or reported lost or stolen. "
                "Use your replacement card, or call the number on the back of your card.",
            )
        else:
            try:
                card = services.card_activate(card=result.card, request=request)
            except services.CardServiceError:
                # Activated by another request since the check (a double click).
                form.add_error(None, f"Your card ending {result.card.last4} is already active. You can use it now.")
            else:
                messages.success(request, f"Your card ending {card.last4} is active and ready to use.")
                return redirect("cards:dashboard" if request.user.is_authenticated else "accounts:enroll")
    return render(request, "cards/activate.html", {"form": form})
