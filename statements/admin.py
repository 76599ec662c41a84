"""Admin for statements: immutable snapshots, shown read-only with their lines."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets

from security.admin import ReadOnlyAdminMixin

from .models import Statement, StatementLine


class StatementLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = StatementLine
    extra = 0
    can_delete = False
    fields = ("posted_on", "kind", "description", "card_shown", "amount", "transaction")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("transaction")

    @admin.display(description="Card")
    def card_shown(self, obj: StatementLine) -> str:
        return f"{obj.card_holder} •••• {obj.card_last4}".strip() if obj.card_last4 else "-"


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "account_reference",
        "period_start",
        "period_end",
        "closing_balance",
        "minimum_due",
        "due_date",
        "pdf_rendered_at",
    )
    list_select_related = ("account",)
    search_fields = ("=account__reference",)
    search_help_text = "Account reference (exact)."
    date_hierarchy = "period_end"
    ordering = ("-period_end", "-id")
    show_full_result_count = False
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "account",
                    "product_name",
                    "pay_in_full",
                    "period_start",
                    "period_end",
                    "due_date",
                    "currency",
                    "credit_limit",
                    "annual_rate",
                )
            },
        ),
        (
            "Figures",
            {
                "fields": (
                    "opening_balance",
                    "purchases",
                    "payments_and_credits",
                    "fees",
                    "interest",
                    "closing_balance",
                    "average_daily_balance",
                    "grace_period",
                    "past_due",
                    "minimum_due",
                )
            },
        ),
        (
            "Rewards",
            {
                "fields": (
                    "rewards_unit",
                    "rewards_earned",
                    "rewards_redeemed",
                    "rewards_balance",
                )
            },
        ),
        ("Document", {"fields": ("created_at", "pdf_file", "pdf_sha256", "pdf_rendered_at", "pdf_requested_at")}),
    )
    readonly_fields = flatten_fieldsets(fieldsets)
    inlines = (StatementLineInline,)

    @admin.display(description="Account", ordering="account__reference")
    def account_reference(self, obj: Statement) -> str:
        return obj.account.reference

    @admin.display(description="PDF")
    def pdf_file(self, obj: Statement) -> str:
        # The file's name only: statements are private files with no MEDIA_URL (the
        # default widget would call .url and fail), served by a view that checks access.
        return obj.pdf.name or "Not rendered yet"
