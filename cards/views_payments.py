"""Payments, bank accounts and autopay pages (mounted at /payments/, namespace
"payments"). Thin: authorize through a ``*_get_for_user`` selector, validate the form,
call one service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from accounts.forms import CodeForm
from portal.money import format_money
from security import codes
from security.masking import mask_contact

from . import payment_selectors as selectors
from . import payments, step_up
from .forms_payments import AutopayForm, PaymentForm, PaymentMethodForm, method_label, new_idempotency_key
from .models import Payment


def _web_key(request: HttpRequest, key: str) -> str:
    # Scoped to the user: a key is never looked up across people.
    return f"web-{request.user.pk}-{key}"


# --- Overview and one payment ------------------------------------------------------------


@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    summaries = selectors.payment_overview(user=request.user)
    methods = list(selectors.payment_methods_for_user(user=request.user))
    return render(request, "cards/payments/overview.html", {"summaries": summaries, "methods": methods})


@login_required
@require_GET
def payment_detail(request: HttpRequest, payment_id: int) -> HttpResponse:
    payment = selectors.payment_get_for_user(user=request.user, payment_id=payment_id)
    return render(request, "cards/payments/detail.html", {"payment": payment})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def payment_cancel(request: HttpRequest, payment_id: int) -> HttpResponse:
    payment = selectors.payment_get_for_user(user=request.user, payment_id=payment_id)
    if request.method == "POST":
        try:
            payments.payment_cancel(actor=request.user, payment=payment)
        except payments.PaymentError as error:
            messages.error(request, error.message)
            return redirect("payments:detail", payment.pk)
        messages.success(
            request,
            f"Your payment of {format_money(payment.amount, payment.currency)} on "
            f"{payment.scheduled_for:%B} {payment.scheduled_for.day}, {payment.scheduled_for.year} is cancelled.",
        )
        return redirect("payments:overview")
    if payment.status != Payment.Status.SCHEDULED:
        messages.error(request, "This payment can't be cancelled: it is no longer scheduled.")
        return redirect("payments:detail", payment.pk)
    return render(request, "cards/payments/cancel.html", {"payment": payment})


# --- Making a payment --------------------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def pay(request: HttpRequest, account_id: int) -> HttpResponse:
    """Page 1: from, how much, when. "Continue" shows the review page (warnings such as
    a date after the due date); "Make payment" there creates the payment, once."""
    account = selectors.payable_account_get_for_user(user=request.user, account_id=account_id)
    methods = list(selectors.payment_methods_for_user(user=request.user))
    options = selectors.payment_options(account=account)
    context = {"account": account, "options": options, "methods": methods}
    if not methods or options.nothing_to_pay:
        return render(request, "cards/payments/pay.html", context)
    if request.method == "GET":
        today = timezone.localdate()
        form = PaymentForm(
            methods=methods,
            options=options,
            initial={
                "idempotency_key": new_idempotency_key(),
                "method": methods[0].pk if len(methods) == 1 else None,
                "when": PaymentForm.WHEN_NOW,
                "pay_day": today.day,
                "pay_month": today.month,
                "pay_year": today.year,
            },
        )
        return render(request, "cards/payments/pay.html", context | {"form": form})
    form = PaymentForm(request.POST, methods=methods, options=options)
    if not form.is_valid() or request.POST.get("action") == "change":
        return render(request, "cards/payments/pay.html", context | {"form": form})
    data = form.cleaned_data
    if request.POST.get("action") != "confirm":
        warning = payments.date_warning(account=account, day=data["scheduled_for"])
        return render(
            request,
            "cards/payments/review.html",
            context
            | {
                "form": form,
                "amount": data["amount"],
                "scheduled_for": data["scheduled_for"],
                "pay_now": data["scheduled_for"] <= timezone.localdate(),
                "method": form.method_obj,
                "method_label": method_label(form.method_obj),
                "warning": warning,
            },
        )
    try:
        payment, created = payments.payment_schedule(
            account=account,
            method=form.method_obj,
            amount=data["amount"],
            scheduled_for=data["scheduled_for"],
            idempotency_key=_web_key(request, data["idempotency_key"]),
            actor=request.user,
        )
    except payments.PaymentError as error:
        field = error.field
        if field == "amount":
            field = "other_amount" if data["amount_choice"] == PaymentForm.AMOUNT_OTHER else "amount_choice"
        elif field == "scheduled_for":
            field = "pay_day"
        form.add_error(field if field in form.fields else None, error.message)
        return render(request, "cards/payments/pay.html", context | {"form": form})
    money = format_money(payment.amount, payment.currency)
    if not created:
        messages.info(request, "You already submitted this payment. It was made once; here it is.")
    elif payment.scheduled_for <= timezone.localdate():
        messages.success(request, f"Thank you. Your payment of {money} is on its way.")
    else:
        when = f"{payment.scheduled_for:%B} {payment.scheduled_for.day}, {payment.scheduled_for.year}"
        messages.success(request, f"Your payment of {money} is scheduled for {when}.")
    return redirect("payments:detail", payment.pk)


# --- Bank accounts -----------------------------------------------------------------------


@login_required
@require_GET
def methods(request: HttpRequest) -> HttpResponse:
    found = [
        (method, selectors.payment_method_in_use(method=method))
        for method in selectors.payment_methods_for_user(user=request.user)
    ]
    return render(request, "cards/payments/methods.html", {"methods": found})


@never_cache
@login_required
@sensitive_post_parameters("account_number", "account_number_confirm")
@require_http_methods(["GET", "POST"])
@step_up.required
def method_add(request: HttpRequest) -> HttpResponse:
    form = PaymentMethodForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            method = payments.payment_method_add(
                user=request.user,
                nickname=data["nickname"],
                routing_number=data["routing_number"],
                account_number=data["account_number"],
                request=request,
            )
        except payments.PaymentError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"{method_label(method)} is ready to pay from.")
            back = request.GET.get("next")
            return redirect(step_up.safe_next(request, back) if back else "payments:methods")
    return render(request, "cards/payments/method_add.html", {"form": form})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def method_remove(request: HttpRequest, method_id: int) -> HttpResponse:
    method = selectors.payment_method_get_for_user(user=request.user, method_id=method_id)
    in_use = selectors.payment_method_in_use(method=method)
    if request.method == "POST":
        try:
            payments.payment_method_remove(user=request.user, method=method, request=request)
        except payments.PaymentError as error:
            messages.error(request, error.message)
            return redirect("payments:methods")
        messages.success(request, f"{method_label(method)} was removed.")
        return redirect("payments:methods")
    return render(request, "cards/payments/method_remove.html", {"method": method, "in_use": in_use})


# --- Autopay -----------------------------------------------------------------------------


@login_required
@require_GET
def autopay(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.payable_account_get_for_user(user=request.user, account_id=account_id)
    current = selectors.autopay_for_account(account=account)
    return render(
        request,
        "cards/payments/autopay.html",
        {
            "account": account,
            "autopay": current if current is not None and current.enabled else None,
            "describe": payments.autopay_describe(current) if current is not None else "",
            "options": selectors.payment_options(account=account),
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@step_up.required
def autopay_edit(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.payable_account_get_for_user(user=request.user, account_id=account_id)
    methods = list(selectors.payment_methods_for_user(user=request.user))
    current = selectors.autopay_for_account(account=account)
    initial = {}
    if current is not None and current.enabled:
        initial = {
            "method": current.method_id,
            "amount_kind": current.amount_kind,
            "fixed_amount": current.fixed_amount,
        }
    elif len(methods) == 1:
        initial = {"method": methods[0].pk}
    form = AutopayForm(request.POST if request.method == "POST" else None, methods=methods, initial=initial)
    if request.method == "POST" and methods and form.is_valid():
        data = form.cleaned_data
        try:
            result = payments.autopay_set(
                actor=request.user,
                account=account,
                method=form.method_obj,
                amount_kind=data["amount_kind"],
                fixed_amount=data["fixed"],
                request=request,
            )
        except payments.PaymentError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request, f"Autopay is on. It will pay {payments.autopay_describe(result)} on each due date."
            )
            return redirect("payments:autopay", account.pk)
    return render(
        request,
        "cards/payments/autopay_edit.html",
        {
            "account": account,
            "form": form,
            "methods": methods,
            "autopay": current if current is not None and current.enabled else None,
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@step_up.required
def autopay_off(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.payable_account_get_for_user(user=request.user, account_id=account_id)
    current = selectors.autopay_for_account(account=account)
    if current is None or not current.enabled:
        messages.info(request, "Autopay is already off for this account.")
        return redirect("payments:autopay", account.pk)
    if request.method == "POST":
        payments.autopay_turn_off(actor=request.user, account=account, request=request)
        messages.success(request, "Autopay is off. Remember to pay by each due date.")
        return redirect("payments:autopay", account.pk)
    return render(request, "cards/payments/autopay_off.html", {"account": account, "autopay": current})


# --- Step-up: a code to a verified contact -----------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def step_up_start(request: HttpRequest) -> HttpResponse:
    next_url = step_up.safe_next(request, request.POST.get("next") or request.GET.get("next"))
    contacts = step_up.verified_contacts(request.user)
    if request.method == "POST":
        channel = request.POST.get("channel", "")
        if channel in dict(contacts):
            try:
                step_up.code_send(request, channel=channel, next_url=next_url)
            except codes.CodeCooldown as wait:
                messages.error(request, str(wait))
            else:
                return redirect("payments:step_up_code")
        else:
            messages.error(request, "Choose where we should send your code.")
    return render(
        request,
        "cards/payments/step_up.html",
        {"contacts": [(channel, mask_contact(value)) for channel, value in contacts], "next": next_url},
    )


@never_cache
@login_required
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def step_up_code(request: HttpRequest) -> HttpResponse:
    state = step_up.flow(request)
    if state is None:
        return redirect("payments:step_up")
    if request.method == "POST" and request.POST.get("action") == "resend":
        try:
            step_up.code_send(request, channel=state["channel"], next_url=state["next"])
        except codes.CodeCooldown as wait:
            messages.error(request, str(wait))
        except KeyError:
            return redirect("payments:step_up")
        else:
            messages.success(request, f"We sent a new code to {state['sent_to']}.")
        return redirect("payments:step_up_code")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        result = step_up.code_check(request, code=form.cleaned_data["code"])
        if result.ok:
            return redirect(step_up.safe_next(request, state.get("next")))
        if step_up.flow(request) is None:
            messages.error(request, result.message)
            return redirect(step_up.start_url(state.get("next") or reverse("payments:overview")))
        form.add_error("code", result.message)
    return render(request, "cards/payments/step_up_code.html", {"form": form, "sent_to": state["sent_to"]})
