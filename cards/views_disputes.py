"""Dispute pages (mounted at /disputes/, namespace "disputes"): open a dispute on a
charge, follow its timeline, add information, download its files. Every object comes
through a ``*_get_for_user`` selector (404 alike for missing and not yours)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import dispute_selectors as selectors
from . import disputes
from .forms_disputes import DisputeForm, DisputeInfoForm
from .models import Dispute, DisputeAttachment


@login_required
@require_GET
def dispute_list(request: HttpRequest) -> HttpResponse:
    found = selectors.disputes_for_user(user=request.user)
    return render(request, "cards/disputes/list.html", {"disputes": found})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def dispute_start(request: HttpRequest, transaction_id: int) -> HttpResponse:
    txn = selectors.transaction_get_for_dispute(user=request.user, transaction_id=transaction_id)
    refusal = selectors.dispute_refusal(transaction=txn)
    existing = selectors.dispute_for_transaction(transaction=txn)
    context = {"transaction": txn, "refusal": refusal, "existing": existing}
    if refusal:
        return render(request, "cards/disputes/start.html", context)
    form = DisputeForm(request.POST if request.method == "POST" else None, request.FILES or None, charge=txn.amount)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            dispute = disputes.dispute_open(
                actor=request.user,
                transaction_obj=txn,
                reason=data["reason"],
                description=data["description"],
                amount=data["amount"],
                attachments=data["attachments"],
                request=request,
            )
        except disputes.DisputeError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, "We received your dispute. We'll email you at each step.")
            return redirect("disputes:detail", dispute.pk)
    return render(request, "cards/disputes/start.html", context | {"form": form})


@login_required
@require_GET
def dispute_detail(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = selectors.dispute_get_for_user(user=request.user, dispute_id=dispute_id)
    return _detail(request, dispute, DisputeInfoForm())


def _detail(request: HttpRequest, dispute: Dispute, form: DisputeInfoForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "cards/disputes/detail.html",
        {
            "dispute": dispute,
            "transaction": dispute.transaction,
            "timeline": selectors.dispute_timeline(dispute=dispute),
            "attachments": selectors.dispute_attachments(dispute=dispute),
            "is_open": dispute.status in Dispute.OPEN_STATUSES,
            "form": form,
        },
        status=status,
    )


@never_cache
@login_required
@require_POST
def dispute_add_info(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = selectors.dispute_get_for_user(user=request.user, dispute_id=dispute_id)
    form = DisputeInfoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            disputes.dispute_add_info(
                actor=request.user,
                dispute=dispute,
                note=form.cleaned_data["note"],
                attachments=form.cleaned_data["attachments"],
            )
        except disputes.DisputeError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, "Thank you. We added this to your dispute.")
            return redirect("disputes:detail", dispute.pk)
    return _detail(request, dispute, form)


@login_required
@require_GET
def attachment_download(request: HttpRequest, dispute_id: int, attachment_id: int) -> HttpResponse:
    attachment = selectors.dispute_attachment_get_for_user(
        user=request.user, dispute_id=dispute_id, attachment_id=attachment_id
    )
    return attachment_response(attachment)


def attachment_response(attachment: DisputeAttachment) -> FileResponse:
    """The file as a download, with its checked type; never rendered by the browser as
    a page of ours (sandboxed, no sniffing, not cached). Also used by the admin."""
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404("This file is no longer available.") from None
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.original_name, content_type=attachment.content_type
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
