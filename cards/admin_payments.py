"""Admin for payments and disputes: the staff side of cards.payments and cards.disputes.
Imported by cards/admin.py, after it registered the read-only Payment and Dispute
admins, which this module replaces with the same pages plus staff actions.

Rows stay read-only (no add, change or delete, even for superusers). What staff do
(mark a payment returned, work a dispute) is a page per action with a reason or a note,
calling the service, so money moves through the ledger and the cardholder is told.
Those pages need the model's "change" permission (dispute and payment staff).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from portal.money import format_money
from security.admin import ReadOnlyAdminMixin

from . import disputes, payments
from .admin import DisputeAdmin as BaseDisputeAdmin
from .admin import PaymentAdmin as BasePaymentAdmin
from .models import AlertPreference, Dispute, DisputeAttachment, DisputeEvent, Payment
from .views_disputes import attachment_response

# --- Forms for the staff pages -----------------------------------------------------------


class PaymentReturnForm(forms.Form):
    reason = forms.ChoiceField(label="Why the bank returned it", choices=payments.ReturnReason.CHOICES)
    note = forms.CharField(
        label="Note (internal)", required=False, max_length=200, widget=forms.TextInput(attrs={"size": 60})
    )


class DisputeNoteForm(forms.Form):
    note = forms.CharField(
        label="Note to the cardholder",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5, "cols": 70}),
        help_text="The cardholder reads this on their dispute page and in the email we send.",
    )


class DisputeOptionalNoteForm(DisputeNoteForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["note"].required = False


def _staff_page(admin_obj, request, obj, *, title: str, intro: str, form, perform, done_url: str):
    """One staff action: a form with a reason or note, then the service."""
    if request.method == "POST" and form.is_valid():
        try:
            message = perform(form.cleaned_data)
        except (payments.PaymentError, disputes.DisputeError) as error:
            form.add_error(None, error.message)
        else:
            admin_obj.message_user(request, message, messages.SUCCESS)
            return redirect(done_url)
    opts = admin_obj.model._meta
    context = {
        **admin_obj.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "subject": obj,
        "opts": opts,
        "form": form,
        "change_url": done_url,
        "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
    }
    return TemplateResponse(request, "admin/cards/staff_money_action.html", context)


# --- Payments ----------------------------------------------------------------------------


admin.site.unregister(Payment)


@admin.register(Payment)
class PaymentAdmin(BasePaymentAdmin):
    list_filter = ("status", "kind", ("returned_at", admin.EmptyFieldListFilter))
    list_select_related = ("account", "method", "created_by")
    fieldsets = (
        (None, {"fields": ("account", "method", "created_by", "kind", "amount", "currency", "scheduled_for")}),
        ("Status", {"fields": ("status", "transaction", "created_at", "posted_at", "cancelled_at", "cancelled_by")}),
        (
            "Returned by the bank",
            {"fields": ("return_transaction", "return_reason", "return_note", "returned_at", "returned_by")},
        ),
        ("Idempotency", {"fields": ("idempotency_key",)}),
        ("Staff actions", {"fields": ("staff_actions",)}),
    )
    fields = None
    readonly_fields = flatten_fieldsets(fieldsets)

    def get_urls(self):
        extra = [
            path(
                "<int:payment_id>/return/",
                self.admin_site.admin_view(self.return_view),
                name="cards_payment_return",
            )
        ]
        return extra + super().get_urls()

    @admin.display(description="Actions")
    def staff_actions(self, obj: Payment) -> str:
        if obj.pk is None or obj.status != Payment.Status.POSTED:
            return "-"
        url = reverse("admin:cards_payment_return", args=[obj.pk])
        return format_html('<a class="button" href="{}">Mark returned by the bank</a>', url)

    def return_view(self, request, payment_id: int):
        if not request.user.has_perm("cards.change_payment"):
            raise PermissionDenied
        payment = get_object_or_404(Payment.objects.select_related("account", "method"), pk=payment_id)
        form = PaymentReturnForm(request.POST if request.method == "POST" else None)

        def perform(data):
            payments.payment_return(
                staff=request.user, payment=payment, reason=data["reason"], note=data["note"], request=request
            )
            money = format_money(payment.amount, payment.currency)
            return f"Payment of {money} marked returned: the credit is reversed and the cardholder has been told."

        return _staff_page(
            self,
            request,
            payment,
            title="Mark payment returned",
            intro=(
                f"{format_money(payment.amount, payment.currency)} from the bank account ending "
                f"{payment.method.account_last4}, received {payment.posted_at:%Y-%m-%d}. "
                "This adds the amount back to the balance (a returned-payment transaction) and tells the cardholder."
                if payment.posted_at
                else "This payment has not been received, so it cannot be returned."
            ),
            form=form,
            perform=perform,
            done_url=reverse("admin:cards_payment_change", args=[payment.pk]),
        )


# --- Disputes: the queue -----------------------------------------------------------------


class DisputeQueueFilter(admin.SimpleListFilter):
    """The queue opens on the disputes that need work."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("open", "Open (needs work)"),
            ("waiting", "Waiting for the cardholder"),
            ("closed", "Closed"),
            ("all", "All"),
        ]

    def value(self):
        return super().value() or "open"

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(status__in=[Dispute.Status.SUBMITTED, Dispute.Status.UNDER_REVIEW])
        if self.value() == "waiting":
            return queryset.filter(status=Dispute.Status.INFO_NEEDED)
        if self.value() == "closed":
            return queryset.filter(status__in=[Dispute.Status.RESOLVED, Dispute.Status.DECLINED])
        return queryset


class DisputeEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DisputeEvent
    extra = 0
    can_delete = False
    fields = ("at", "kind", "status", "note", "actor", "by_staff")
    readonly_fields = fields
    ordering = ("at", "id")


class DisputeAttachmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DisputeAttachment
    extra = 0
    can_delete = False
    fields = ("download", "content_type", "size", "sha256", "uploaded_by", "created_at")
    readonly_fields = fields

    @admin.display(description="File")
    def download(self, obj: DisputeAttachment) -> str:
        url = reverse("admin:cards_dispute_attachment", args=[obj.dispute_id, obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.original_name)


STAFF_ACTIONS = (
    ("review", "Start review"),
    ("request_info", "Request information"),
    ("credit", "Grant temporary credit"),
    ("resolve", "Resolve in the cardholder's favour"),
    ("decline", "Decline"),
)


admin.site.unregister(Dispute)


@admin.register(Dispute)
class DisputeAdmin(BaseDisputeAdmin):
    """The dispute queue: oldest open first. Each action is a page with a note."""

    list_display = ("created_at", "merchant", "card_number", "account_reference", "amount", "reason", "status")
    list_filter = (DisputeQueueFilter, "status", "reason")
    list_select_related = ("transaction__account", "transaction__card", "opened_by")
    ordering = ("created_at", "id")
    inlines = (DisputeEventInline, DisputeAttachmentInline)
    fieldsets = (
        (None, {"fields": ("status", "staff_actions", "transaction", "charge", "opened_by", "reason", "description")}),
        ("Money", {"fields": ("amount", "temporary_credit", "resolution_credit", "credit_reversal")}),
        ("Dates", {"fields": ("created_at", "updated_at", "resolved_at")}),
    )
    fields = None
    readonly_fields = flatten_fieldsets(fieldsets)

    @admin.display(description="Merchant", ordering="transaction__merchant_name")
    def merchant(self, obj: Dispute) -> str:
        return obj.transaction.merchant_name or "-"

    @admin.display(description="Card")
    def card_number(self, obj: Dispute) -> str:
        return obj.transaction.card.masked_number if obj.transaction.card else "-"

    @admin.display(description="Charge")
    def charge(self, obj: Dispute) -> str:
        txn = obj.transaction
        return (
            f"{format_money(txn.amount, txn.currency)} at {txn.merchant_name or '-'} on "
            f"{timezone.localtime(txn.transacted_at):%Y-%m-%d}, card {txn.card.masked_number if txn.card else '-'}"
        )

    @admin.display(description="Actions")
    def staff_actions(self, obj: Dispute) -> str:
        if obj.pk is None or obj.status not in Dispute.OPEN_STATUSES:
            return "Closed: no further action."
        available = [
            (reverse(f"admin:cards_dispute_{action}", args=[obj.pk]), label)
            for action, label in STAFF_ACTIONS
            if not (action == "review" and obj.status != Dispute.Status.SUBMITTED)
            and not (action == "credit" and obj.temporary_credit_id)
        ]
        return format_html_join(" ", '<a class="button" href="{}">{}</a>', available)

    def get_urls(self):
        extra = [
            path(
                f"<int:dispute_id>/{action}/",
                self.admin_site.admin_view(self._action_view(action)),
                name=f"cards_dispute_{action}",
            )
            for action, _label in STAFF_ACTIONS
        ]
        extra.append(
            path(
                "<int:dispute_id>/attachments/<int:attachment_id>/",
                self.admin_site.admin_view(self.attachment_view),
                name="cards_dispute_attachment",
            )
        )
        return extra + super().get_urls()

    def attachment_view(self, request, dispute_id: int, attachment_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        attachment = get_object_or_404(DisputeAttachment, dispute_id=dispute_id, pk=attachment_id)
        return attachment_response(attachment)

    def _action_view(self, action: str):
        services = {
            "review": (disputes.dispute_review_start, DisputeOptionalNoteForm, "Taken into review."),
            "request_info": (disputes.dispute_request_info, DisputeNoteForm, "Information requested."),
            "credit": (disputes.dispute_credit_grant, DisputeOptionalNoteForm, "Temporary credit posted."),
            "resolve": (disputes.dispute_resolve, DisputeNoteForm, "Resolved in the cardholder's favour."),
            "decline": (disputes.dispute_decline, DisputeNoteForm, "Dispute declined."),
        }
        service, form_class, done = services[action]
        title = dict(STAFF_ACTIONS)[action]

        def view(request, dispute_id: int):
            if not request.user.has_perm("cards.change_dispute"):
                raise PermissionDenied
            dispute = get_object_or_404(
                Dispute.objects.select_related("transaction__card", "transaction__account"), pk=dispute_id
            )
            if not disputes.staff_may_work(staff=request.user, dispute=dispute):
                raise PermissionDenied  # e.g. the agent's own dispute
            form = form_class(request.POST if request.method == "POST" else None)
            txn = dispute.transaction
            amount = format_money(dispute.amount or txn.amount, txn.currency)
            intro = {
                "credit": f"Posts a credit of {amount} to the account now. Declining the dispute later reverses it.",
                "resolve": "Closes the dispute in the cardholder's favour. "
                + (
                    "The temporary credit becomes final."
                    if dispute.temporary_credit_id
                    else f"A credit of {amount} is posted now."
                ),
                "decline": "Closes the dispute. "
                + ("The temporary credit is reversed." if dispute.temporary_credit_id else "No credit was given."),
                "request_info": "Say exactly what the cardholder should send; they can add notes and files.",
                "review": "Tells the cardholder we are reviewing their dispute.",
            }[action]

            def perform(data):
                service(staff=request.user, dispute=dispute, note=data["note"], request=request)
                return f"{done} The cardholder has been told."

            return _staff_page(
                self,
                request,
                dispute,
                title=title,
                intro=f"Dispute of {amount} at {txn.merchant_name or '-'} ({dispute.get_status_display()}). {intro}",
                form=form,
                perform=perform,
                done_url=reverse("admin:cards_dispute_change", args=[dispute.pk]),
            )

        return view


# --- The timeline, files and alert choices, read-only ------------------------------------


@admin.register(DisputeEvent)
class DisputeEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "dispute", "kind", "status", "actor", "by_staff")
    list_filter = ("kind", "by_staff")
    list_select_related = ("dispute", "actor")
    ordering = ("-at", "-id")
    show_full_result_count = False
    fields = ("dispute", "kind", "status", "note", "actor", "by_staff", "at")
    readonly_fields = fields


@admin.register(DisputeAttachment)
class DisputeAttachmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # The stored path is never shown: files are fetched through the download link only.
    list_display = ("created_at", "dispute", "download", "content_type", "size")
    list_filter = ("content_type",)
    list_select_related = ("dispute",)
    ordering = ("-created_at", "-id")
    fields = ("dispute", "download", "content_type", "size", "sha256", "uploaded_by", "created_at")
    readonly_fields = fields

    def get_exclude(self, request, obj=None):
        return ("file",)

    @admin.display(description="File")
    def download(self, obj: DisputeAttachment) -> str:
        url = reverse("admin:cards_dispute_attachment", args=[obj.dispute_id, obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.original_name)


@admin.register(AlertPreference)
class AlertPreferenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What a cardholder asked to be told about (support reads it when someone says
    "I never got the alert"); delivery itself is in Notifications."""

    list_display = ("user", "kind", "email", "sms", "threshold", "days_before", "updated_at")
    list_filter = ("kind", "email", "sms")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    ordering = ("user_id", "kind")
    fields = ("user", "kind", "email", "sms", "threshold", "days_before", "updated_at")
    readonly_fields = fields
