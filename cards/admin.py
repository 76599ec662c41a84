"""Admin for cards. Card numbers appear only as "•••• 1234": the keyed hash, its key
version and the first six digits never reach a page, a form, a search or a URL filter.

Cards, accounts, transactions, rewards and payments are view-only here; staff act on
them through pages that ask for a reason and call services (freeze a card below; the
dispute queue and payment returns in admin_payments.py). Change lists join what they
display (``list_select_related``) so a page costs the same number of queries for 5 rows
or 100.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join

from portal.digits import is_digits
from security.admin import (
    HiddenFieldsMixin,
    ReadOnlyAdminMixin,
    RowIdsCheckedMixin,
    StaffAuditMixin,
    changelist_link,
)

from . import cardnumbers, services
from .models import (
    Autopay,
    BusinessProgram,
    Card,
    CardAccount,
    CardCheckFailure,
    CardProduct,
    Dispute,
    EarnRate,
    Payment,
    PaymentMethod,
    RewardEntry,
    Transaction,
)

CARD_SECRET_FIELDS = ("pan_hash", "pan_key_version", "first6")


# --- Inlines ----------------------------------------------------------------------------


class CardInline(ReadOnlyAdminMixin, HiddenFieldsMixin, admin.TabularInline):
    model = Card
    hidden_fields = CARD_SECRET_FIELDS
    extra = 0
    show_change_link = True
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account__product", "holder")

    @admin.display(description="Card number")
    def number(self, obj: Card) -> str:
        return obj.masked_number

    @admin.display(description="Expires")
    def expiry(self, obj: Card) -> str:
        return obj.expiry_display


class AccountCardInline(CardInline):
    """The cards on an account, on the account page."""

    fk_name = "account"
    fields = ("number", "holder", "role", "status", "expiry")
    readonly_fields = fields


class EarnRateInline(admin.TabularInline):
    model = EarnRate
    extra = 0


# --- Products and programs: the editable catalogue --------------------------------------


class CardProductForm(forms.ModelForm):
    """Checks the APR rule of ``product_apr_only_for_credit`` itself. Django validates a
    constraint only when all its fields are on the form, and ``kind`` is read-only once
    a product is saved, so an APR on a charge product reached the database: a 500."""

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind") if "kind" in self.fields else self.instance.kind
        if kind is None or "annual_rate" not in cleaned:
            return cleaned  # the field's own error is already shown
        annual_rate = cleaned["annual_rate"]
        if kind == CardProduct.Kind.CHARGE and annual_rate is not None:
            self.add_error("annual_rate", "A charge card has no APR: leave it blank.")
        elif kind == CardProduct.Kind.CREDIT and annual_rate is None:
            self.add_error("annual_rate", "A credit card needs an APR (0 or more).")
        elif kind == CardProduct.Kind.CREDIT and annual_rate < 0:
            self.add_error("annual_rate", "The APR cannot be negative.")
        return cleaned


@admin.register(CardProduct)
class CardProductAdmin(RowIdsCheckedMixin, StaffAuditMixin, admin.ModelAdmin):
    form = CardProductForm
    list_display = ("name", "code", "kind", "segment", "rewards_kind", "base_earn_rate", "annual_fee", "currency")
    list_filter = ("kind", "segment", "rewards_kind")
    search_fields = ("code", "name")
    ordering = ("name",)
    inlines = (EarnRateInline,)

    def get_readonly_fields(self, request, obj=None):
        # Accounts are opened against these: a product cannot turn from charge into
        # credit, personal into business or change currency under them.
        if obj is None:
            return ()
        locked = ("code", "kind", "segment", "currency")
        # The rewards kind is the unit of every RewardEntry and rewards balance of the
        # product's accounts: switched under them, 10,000 points would read as $10,000.
        if obj.accounts.exists():
            locked += ("rewards_kind",)
        return locked


@admin.register(BusinessProgram)
class BusinessProgramAdmin(RowIdsCheckedMixin, StaffAuditMixin, admin.ModelAdmin):
    list_display = ("name", "administrator_count", "created_at")
    search_fields = ("name",)
    ordering = ("name",)
    # Administrators are picked from every portal user: an autocomplete rather than
    # filter_horizontal, which would render each of (potentially) millions of users
    # as an <option> on this page.
    autocomplete_fields = ("administrators",)
    fields = ("name", "administrators", "created_at", "activity")
    readonly_fields = ("created_at", "activity")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(administrator_total=Count("administrators", distinct=True))

    @admin.display(description="Administrators", ordering="administrator_total")
    def administrator_count(self, obj: BusinessProgram) -> int:
        return obj.administrator_total

    @admin.display(description="Accounts")
    def activity(self, obj: BusinessProgram) -> str:
        if obj.pk is None:
            return "-"
        return changelist_link(CardAccount, "Accounts in this program", business_program__id__exact=obj.pk)


# --- Accounts and cards -----------------------------------------------------------------


@admin.register(CardAccount)
class CardAccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Accounts open through cards.services.account_open (it issues the reference and
    # enforces the product rules), so they are never added or edited here.
    list_display = (
        "reference",
        "product",
        "primary_cardholder",
        "business_program",
        "status",
        "credit_limit",
        "currency",
        "opened_on",
    )
    list_filter = ("status", "product")
    list_select_related = ("product", "primary_cardholder", "business_program")
    search_fields = ("=reference", "primary_cardholder__legal_name")
    search_help_text = "Account reference (exact) or cardholder name."
    ordering = ("-opened_on", "-id")
    fieldsets = (
        (None, {"fields": ("reference", "product", "status", "primary_cardholder", "business_program")}),
        ("Terms", {"fields": ("credit_limit", "currency", "statement_day", "opened_on")}),
        ("Activity", {"fields": ("activity",)}),
    )
    readonly_fields = flatten_fieldsets(fieldsets)
    inlines = (AccountCardInline,)

    @admin.display(description="Activity")
    def activity(self, obj: CardAccount) -> str:
        links = [
            changelist_link(model, label, **{lookup: obj.pk})
            for model, label, lookup in (
                (Transaction, "Transactions", "account__id__exact"),
                ("statements.statement", "Statements", "account__id__exact"),
                (Payment, "Payments", "account__id__exact"),
                (RewardEntry, "Rewards", "account__id__exact"),
            )
        ]
        return format_html_join(" · ", "{}", ((link,) for link in links))


class CardFreezeForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=200,
        help_text='Why, e.g. "suspected fraud: purchases the cardholder does not recognize". Recorded in the '
        "audit trail.",
        widget=forms.TextInput(attrs={"size": 60}),
    )


@admin.register(Card)
class CardAdmin(ReadOnlyAdminMixin, HiddenFieldsMixin, admin.ModelAdmin):
    """Cards, view-only. Staff with ``cards.freeze_card`` (the fraud team) freeze one
    with a reason, through the same service as the cardholder's own freeze."""

    hidden_fields = CARD_SECRET_FIELDS
    list_display = ("number", "holder", "product", "account_reference", "role", "status", "expiry", "issued_at")
    list_filter = ("status", "role")
    list_select_related = ("holder", "account__product")
    search_fields = ("=last4", "holder__legal_name", "=account__reference")
    search_help_text = "Last 4 digits of the card number, cardholder name, or account reference."
    ordering = ("-issued_at", "-id")
    fieldsets = (
        (None, {"fields": ("number", "account", "holder", "role", "status")}),
        ("Dates and limits", {"fields": ("expiry", "monthly_limit", "issued_at", "activated_at")}),
        ("Verification", {"fields": ("verification_locked_until", "check_failures")}),
        ("Replacement", {"fields": ("replaces", "replacement")}),
        ("Activity", {"fields": ("activity",)}),
    )
    readonly_fields = flatten_fieldsets(fieldsets)
    change_form_template = "admin/cards/card/change_form.html"

    def changelist_view(self, request, extra_context=None):
        # Someone pasted a whole card number into the search box. Search by its last 4
        # instead, so the number is not echoed back into the page or kept in the
        # browser's history of this list.
        term = cardnumbers.normalize_pan(request.GET.get(SEARCH_VAR, ""))
        if is_digits(term) and len(term) >= 12:
            params = request.GET.copy()
            params[SEARCH_VAR] = term[-4:]
            self.message_user(
                request,
                "Search cards by the last 4 digits of the number; the full number is never looked up here.",
                messages.WARNING,
            )
            return HttpResponseRedirect(f"{request.path}?{params.urlencode()}")
        return super().changelist_view(request, extra_context)

    @admin.display(description="Card number", ordering="last4")
    def number(self, obj: Card) -> str:
        return obj.masked_number

    @staticmethod
    def may_freeze(request) -> bool:
        return request.user.has_perm("cards.freeze_card") or request.user.has_perm("cards.change_card")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "may_freeze": self.may_freeze(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        extra = [path("<int:card_id>/freeze/", self.admin_site.admin_view(self.freeze_view), name="cards_card_freeze")]
        return extra + super().get_urls()

    def freeze_view(self, request, card_id: int):
        if not self.may_freeze(request):
            raise PermissionDenied
        card = get_object_or_404(Card.objects.select_related("account__product", "holder"), pk=card_id)
        change_url = reverse("admin:cards_card_change", args=[card.pk])
        form = CardFreezeForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                services.card_freeze(actor=request.user, card=card, reason=form.cleaned_data["reason"], request=request)
            except services.CardServiceError as error:
                form.add_error(None, str(error))
            else:
                self.message_user(
                    request,
                    f"Card {card.masked_number} is frozen: new purchases are declined.",
                    messages.SUCCESS,
                )
                return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": "Freeze card",
            "subject": card,
            "opts": self.model._meta,
            "intro": (
                f"{card.masked_number} ({card.account.product.name}), held by {card.holder.legal_name}. "
                "New purchases are declined at once; purchases already approved still go through."
            ),
            "form": form,
            "change_url": change_url,
            "changelist_url": reverse("admin:cards_card_changelist"),
        }
        return TemplateResponse(request, "admin/cards/card/staff_action.html", context)

    @admin.display(description="Product", ordering="account__product__name")
    def product(self, obj: Card) -> str:
        return obj.account.product.name

    @admin.display(description="Account", ordering="account__reference")
    def account_reference(self, obj: Card) -> str:
        return obj.account.reference

    @admin.display(description="Expires")
    def expiry(self, obj: Card) -> str:
        return obj.expiry_display

    @admin.display(description="Replaced by")
    def replacement(self, obj: Card) -> str:
        replaced_by = getattr(obj, "replaced_by", None)
        return replaced_by.masked_number if replaced_by else "-"

    @admin.display(description="Activity")
    def activity(self, obj: Card) -> str:
        return changelist_link(Transaction, "Transactions on this card", card__id__exact=obj.pk)

    @admin.display(description="Failed checks")
    def check_failures(self, obj: Card) -> str:
        return changelist_link(CardCheckFailure, "Failed card checks", card__id__exact=obj.pk)


@admin.register(CardCheckFailure)
class CardCheckFailureAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Failed proofs of card possession (wrong card ID, expiry, identity fact): what
    fraud staff read when a card's verification is locked. Append-only."""

    list_display = ("created_at", "purpose", "card_number", "ip_address")
    list_filter = ("purpose",)
    list_select_related = ("card",)
    search_fields = ("ip_address", "=card__last4")
    search_help_text = "IP address, or the card's last 4 digits (exact)."
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    show_full_result_count = False
    fields = ("created_at", "purpose", "card", "ip_address")
    readonly_fields = fields

    @admin.display(description="Card")
    def card_number(self, obj: CardCheckFailure) -> str:
        return obj.card.masked_number if obj.card else "Unknown number"


# --- Money movements: read-only ledgers -------------------------------------------------


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Millions of rows: no full count, only filters on choices (no query to build them),
    # and every column read from the joined account and card.
    list_display = (
        "transacted_at",
        "account_reference",
        "card_number",
        "kind",
        "status",
        "amount",
        "currency",
        "merchant_name",
        "category",
    )
    list_filter = ("status", "kind", "category", "card_present")
    list_select_related = ("account", "card")
    search_fields = ("=network_id", "=account__reference", "merchant_name")
    search_help_text = "Network id or account reference (exact), or merchant name."
    date_hierarchy = "transacted_at"
    ordering = ("-transacted_at", "-id")
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("account", "card", "kind", "status", "amount", "currency")}),
        ("Foreign currency", {"fields": ("original_amount", "original_currency")}),
        ("Merchant", {"fields": ("merchant_name", "merchant_city", "merchant_country", "mcc", "category")}),
        (
            "Processing",
            {"fields": ("card_present", "network_id", "decline_reason", "transacted_at", "posted_at", "created_at")},
        ),
    )
    readonly_fields = flatten_fieldsets(fieldsets)

    @admin.display(description="Account", ordering="account__reference")
    def account_reference(self, obj: Transaction) -> str:
        return obj.account.reference

    @admin.display(description="Card")
    def card_number(self, obj: Transaction) -> str:
        return obj.card.masked_number if obj.card else "-"


@admin.register(RewardEntry)
class RewardEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # An append-only ledger (the model refuses updates and deletes as well).
    list_display = ("created_at", "account_reference", "kind", "unit", "quantity", "description")
    list_filter = ("kind", "unit")
    list_select_related = ("account",)
    search_fields = ("=account__reference",)
    search_help_text = "Account reference (exact)."
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    show_full_result_count = False
    fields = ("account", "transaction", "kind", "unit", "quantity", "description", "created_at")
    readonly_fields = fields

    @admin.display(description="Account", ordering="account__reference")
    def account_reference(self, obj: RewardEntry) -> str:
        return obj.account.reference


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnlyAdminMixin, HiddenFieldsMixin, admin.ModelAdmin):
    hidden_fields = ("account_hash",)
    list_display = ("nickname", "owner", "bank_account", "routing_number", "created_at", "removed_at")
    list_filter = (("removed_at", admin.EmptyFieldListFilter),)
    list_select_related = ("owner",)
    search_fields = ("owner__username", "nickname", "=account_last4")
    ordering = ("-created_at", "-id")
    fields = ("owner", "nickname", "bank_account", "routing_number", "created_at", "removed_at")
    readonly_fields = fields

    @admin.display(description="Bank account")
    def bank_account(self, obj: PaymentMethod) -> str:
        return f"•••• {obj.account_last4}"


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "account_reference",
        "method",
        "kind",
        "amount",
        "currency",
        "scheduled_for",
        "status",
        "posted_at",
    )
    list_filter = ("status", "kind")
    list_select_related = ("account", "method")
    search_fields = ("=account__reference", "=idempotency_key")
    search_help_text = "Account reference or idempotency key (exact)."
    date_hierarchy = "scheduled_for"
    ordering = ("-created_at", "-id")
    show_full_result_count = False
    fields = (
        "account",
        "method",
        "created_by",
        "kind",
        "amount",
        "currency",
        "scheduled_for",
        "status",
        "idempotency_key",
        "transaction",
        "created_at",
        "posted_at",
    )
    readonly_fields = fields

    @admin.display(description="Account", ordering="account__reference")
    def account_reference(self, obj: Payment) -> str:
        return obj.account.reference


@admin.register(Autopay)
class AutopayAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("account_reference", "method", "amount_kind", "fixed_amount", "enabled", "updated_at")
    list_filter = ("enabled", "amount_kind")
    list_select_related = ("account", "method")
    search_fields = ("=account__reference",)
    search_help_text = "Account reference (exact)."
    ordering = ("-updated_at", "-id")
    fields = ("account", "method", "amount_kind", "fixed_amount", "enabled", "updated_at")
    readonly_fields = fields

    @admin.display(description="Account", ordering="account__reference")
    def account_reference(self, obj: Autopay) -> str:
        return obj.account.reference


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Resolving a dispute moves money (temporary credit) and notifies the cardholder:
    # it will be a service-backed action, not a status dropdown.
    list_display = (
        "created_at",
        "transaction",
        "account_reference",
        "opened_by",
        "reason",
        "status",
        "resolved_at",
    )
    list_filter = ("status", "reason")
    list_select_related = ("transaction__account", "opened_by")
    search_fields = ("=transaction__account__reference", "=transaction__network_id", "opened_by__username")
    search_help_text = "Account reference or network id (exact), or the User ID who opened it."
    ordering = ("-created_at", "-id")
    fields = (
        "transaction",
        "opened_by",
        "reason",
        "description",
        "status",
        "temporary_credit",
        "created_at",
        "resolved_at",
    )
    readonly_fields = fields

    @admin.display(description="Account", ordering="transaction__account__reference")
    def account_reference(self, obj: Dispute) -> str:
        return obj.transaction.account.reference


from . import admin_payments as admin_payments  # noqa: E402,F401  (payment returns and the dispute queue)
from . import admin_processing  # noqa: E402,F401  (registers the processor and card-request admins)
