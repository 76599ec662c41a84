"""Admin for the processor's records and the employee card queue. Imported by
cards/admin.py. Card numbers appear only masked; processor events never held one."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from security.admin import ReadOnlyAdminMixin, RowIdsCheckedMixin

from . import services
from .models import CardRequest, ProcessorEvent, TransactionEvent


@admin.register(TransactionEvent)
class TransactionEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Status history of transactions (append-only)."""

    list_display = ("at", "network_id", "status", "amount", "detail")
    list_filter = ("status",)
    list_select_related = ("transaction",)
    search_fields = ("=transaction__network_id",)
    search_help_text = "Network id (exact)."
    ordering = ("-at", "-id")
    show_full_result_count = False
    fields = ("transaction", "status", "amount", "detail", "at")
    readonly_fields = fields

    @admin.display(description="Network id", ordering="transaction__network_id")
    def network_id(self, obj: TransactionEvent) -> str:
        return obj.transaction.network_id


@admin.register(ProcessorEvent)
class ProcessorEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every applied webhook event and the answer we gave (append-only)."""

    list_display = ("received_at", "event_id", "type", "network_id", "card_number", "status_code")
    list_filter = ("type", "status_code")
    list_select_related = ("card",)
    search_fields = ("=event_id", "=network_id")
    search_help_text = "Event id or network id (exact)."
    date_hierarchy = "received_at"
    ordering = ("-received_at", "-id")
    show_full_result_count = False
    fields = ("event_id", "type", "network_id", "card_number", "transaction", "status_code", "response", "received_at")
    readonly_fields = fields

    @admin.display(description="Card")
    def card_number(self, obj: ProcessorEvent) -> str:
        return obj.card.masked_number if obj.card else "-"


@admin.register(CardRequest)
class CardRequestAdmin(RowIdsCheckedMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """New employee cards asked for by program administrators, waiting for staff."""

    list_display = ("created_at", "legal_name", "account", "requested_by", "monthly_limit", "status")
    list_filter = ("status",)
    list_select_related = ("account__product", "requested_by")
    search_fields = ("legal_name", "=account__reference")
    ordering = ("status", "created_at", "id")
    fields = (
        "account",
        "requested_by",
        "legal_name",
        "name_on_card",
        "date_of_birth",
        "postal_code",
        "email",
        "phone",
        "monthly_limit",
        "blocked_categories",
        "status",
        "card",
        "resolved_by",
        "resolved_at",
        "note",
        "created_at",
    )
    readonly_fields = fields
    actions = ("issue_cards",)

    @admin.action(description="Issue the selected cards")
    def issue_cards(self, request, queryset):
        issued = 0
        for card_request in queryset.filter(status=CardRequest.Status.REQUESTED):
            try:
                result = services.card_request_fulfil(staff=request.user, card_request=card_request, request=request)
            except (PermissionDenied, services.CardServiceError) as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return
            # The number is for card production (not built yet): never shown on this page.
            self.message_user(request, f"Issued {result.card.masked_number} for {card_request.legal_name}.")
            issued += 1
        if not issued:
            self.message_user(request, "No waiting requests were selected.", messages.WARNING)
