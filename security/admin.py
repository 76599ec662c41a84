"""Admin for the security app, and the guards every app's admin is built from.

The guards sit here because this app owns the audit trail; they hold nothing specific
to security models and could move to ``portal/admin.py`` unchanged.
"""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import services
from .masking import mask_contact
from .models import (
    BackupCode,
    BackupCodeDevice,
    IdentityVerification,
    Notification,
    OneTimeCode,
    OutOfBandDevice,
    RecoveryLink,
    SecurityEvent,
    TrustedDevice,
    UserSession,
)

HIDDEN = "hidden"

# --- Shared by the admins of every app --------------------------------------------------
# One more guard is not mixed in by hand: ``security.admin_site.DateHierarchyCheckedMixin``
# (far dates in a date hierarchy are refused, not a 500) is added by the site itself to
# every ModelAdmin registered with a ``date_hierarchy``.


class ReadOnlyAdminMixin:
    """View-only for everyone, superusers included: no add, change or delete, and every
    POST to those views is refused with 403. Staff actions on these rows come later as
    admin actions that call services, never as free edits of the row."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class HiddenFieldsMixin:
    """Fields that never reach a page: kept out of every form and refused as URL filters
    (``?pan_hash__startswith=...`` would otherwise be allowed on a local field and
    turn the change list into an oracle). Lists, details and search fields must not
    name them either; the tests check that."""

    hidden_fields: tuple[str, ...] = ()

    def get_exclude(self, request: HttpRequest, obj: Any = None):
        return (*(super().get_exclude(request, obj) or ()), *self.hidden_fields)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if set(lookup.split(LOOKUP_SEP)) & set(self.hidden_fields):
            return False
        return super().lookup_allowed(lookup, value, request)


def _is_row_id(field, value: Any) -> bool:
    """Whether ``value`` can be a value of this key column (type and range)."""
    try:
        field.run_validators(field.to_python(value))
    except ValidationError:
        return False
    return True


class RowIdsMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A many-to-many choice (groups, permissions, a program's administrators) that
    refuses ids no page offers ("abc", a NUL, a number beyond the column) before the
    database sees them, and leaves them out when the form is shown again. Django hands
    them to ``pk__in`` (the field's check, the autocomplete widget), which was a 500."""

    def _key(self):
        opts = self.queryset.model._meta
        return opts.get_field(self.to_field_name) if self.to_field_name else opts.pk

    def clean(self, value):
        for item in value if isinstance(value, (list, tuple)) else ():
            if not _is_row_id(self._key(), item):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": item}
                )
        return super().clean(value)

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            value = [item for item in value if isinstance(item, Model) or _is_row_id(self._key(), item)]
        return super().prepare_value(value)


class RowIdsCheckedMixin:
    """For a ModelAdmin whose forms or actions take row ids from the browser: ids that
    cannot be rows are refused with a message, never passed to the database (where
    "abc" or 2**63 was a 500). Many-to-many fields use ``RowIdsMultipleChoiceField``;
    an action's ticked rows (``_selected_action``) are checked before it runs."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs.setdefault("form_class", RowIdsMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def response_action(self, request: HttpRequest, queryset):
        pk = self.model._meta.pk
        if not all(_is_row_id(pk, value) for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)):
            self.message_user(
                request, "Nothing was changed: tick the rows in the list, then choose the action.", messages.ERROR
            )
            return None  # the change list answers with a redirect back to itself
        return super().response_action(request, queryset)


class StaffAuditMixin:
    """Every add, change and delete made in the admin also lands in the audit trail as a
    staff action, beside Django's own LogEntry, so investigators read one history."""

    def audit_subject(self, obj: Model):
        """The portal user the change is about, when there is one."""
        return None

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        self._audit(request, obj, "added", message)
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        self._audit(request, obj, "changed", message)
        return entry

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, obj, "deleted", [])
        return super().log_deletions(request, queryset)

    def _audit(self, request: HttpRequest, obj: Model, action: str, message: Any) -> None:
        services.security_event_record(
            kind=SecurityEvent.Kind.STAFF_ACTION,
            outcome=SecurityEvent.Outcome.SUCCESS,
            user=self.audit_subject(obj),
            actor=request.user,
            request=request,
            detail={
                "via": "admin",
                "action": action,
                "model": obj._meta.label_lower,
                "object_id": str(obj.pk),
                "object": str(obj)[:200],
                "change": message,
            },
        )


def changelist_link(model: type[Model] | str, label: str, **filters: Any) -> str:
    """A link to a model's admin change list, filtered (for "this user's events").
    ``model`` may be a label ("statements.statement") to avoid importing another app."""
    opts = apps.get_model(model)._meta if isinstance(model, str) else model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return format_html('<a href="{}?{}">{}</a>', url, urlencode(filters), label)


# --- Security models --------------------------------------------------------------------


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The append-only audit trail: readable, never editable, even by superusers."""

    list_display = ("kind", "outcome", "user", "actor", "ip_address", "created_at")
    list_filter = ("kind", "outcome")
    list_select_related = ("user", "actor")
    search_fields = ("username_attempted", "user__username", "ip_address")
    search_help_text = "User ID (attempted or signed in) or IP address."
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("created_at", "kind", "outcome", "user", "actor", "username_attempted")}),
        ("Where from", {"fields": ("ip_address", "user_agent")}),
        ("Risk", {"fields": ("risk_score", "risk_reasons")}),
        ("Detail", {"fields": ("detail",)}),
    )
    readonly_fields = flatten_fieldsets(fieldsets)


@admin.register(TrustedDevice)
class TrustedDeviceAdmin(ReadOnlyAdminMixin, HiddenFieldsMixin, admin.ModelAdmin):
    # Revoking a device is a service (it records DEVICE_REMOVED); it arrives as an action.
    hidden_fields = ("token_hash",)
    list_display = ("name", "user", "first_used_at", "last_used_at", "last_network", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    list_select_related = ("user",)
    search_fields = ("user__username", "name")
    ordering = ("-last_used_at", "-id")
    fields = ("user", "name", "first_used_at", "last_used_at", "last_network", "revoked_at")
    readonly_fields = fields


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, HiddenFieldsMixin, admin.ModelAdmin):
    """The outbox. Sensitive messages carry one-time codes: their subject and body are
    never shown, and no URL filter may probe them (``?body__contains=`` would let a
    reader guess a pending code digit by digit). The recipient is shown masked."""

    hidden_fields = ("to", "subject", "body")
    list_display = (
        "channel",
        "masked_to",
        "kind",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    )
    list_filter = ("channel", "status", "sensitive")
    list_select_related = ("user",)
    search_fields = ("user__username", "=kind", "=idempotency_key")
    search_help_text = "User ID, exact kind (e.g. sign_in_code) or idempotency key."
    ordering = ("-created_at", "-id")
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("user", "channel", "masked_to", "kind", "sensitive", "idempotency_key")}),
        ("Message", {"fields": ("message_subject", "message_body")}),
        ("Delivery", {"fields": ("status", "attempts", "last_error", "created_at", "claimed_at", "sent_at")}),
    )
    readonly_fields = flatten_fieldsets(fieldsets)

    @admin.display(description="Recipient")
    def masked_to(self, obj: Notification) -> str:
        return obj.masked_to

    @admin.display(description="Subject")
    def message_subject(self, obj: Notification) -> str:
        return HIDDEN if obj.sensitive else obj.subject

    @admin.display(description="Body")
    def message_body(self, obj: Notification) -> str:
        return HIDDEN if obj.sensitive else obj.body


@admin.register(OneTimeCode)
class OneTimeCodeAdmin(ReadOnlyAdminMixin, HiddenFieldsMixin, admin.ModelAdmin):
    """Codes sent for a flow: when, where (masked) and what became of them; never the
    code's hash or the flow binding it is tied to."""

    hidden_fields = ("code_hash", "binding", "destination")
    list_display = (
        "purpose",
        "channel",
        "masked_destination",
        "user",
        "created_at",
        "expires_at",
        "failed_attempts",
        "used_at",
        "voided_at",
    )
    list_filter = ("purpose", "channel")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    ordering = ("-created_at", "-id")
    show_full_result_count = False
    fields = (
        "user",
        "purpose",
        "channel",
        "masked_destination",
        "created_at",
        "expires_at",
        "failed_attempts",
        "used_at",
        "voided_at",
    )
    readonly_fields = fields

    @admin.display(description="Sent to")
    def masked_destination(self, obj: OneTimeCode) -> str:
        return mask_contact(obj.destination)


@admin.register(OutOfBandDevice)
class OutOfBandDeviceAdmin(ReadOnlyAdminMixin, HiddenFieldsMixin, admin.ModelAdmin):
    """The contacts a user receives sign-in codes at (masked). Staff reset them through
    the identity-verified recovery actions, not by editing rows."""

    hidden_fields = ("destination",)
    list_display = ("user", "name", "channel", "masked_to", "confirmed", "throttling_failure_count")
    list_filter = ("channel", "confirmed")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    fields = ("user", "name", "channel", "masked_to", "confirmed", "throttling_failure_count")
    readonly_fields = fields

    @admin.display(description="Sends to")
    def masked_to(self, obj: OutOfBandDevice) -> str:
        return obj.masked_destination


@admin.register(UserSession)
class UserSessionAdmin(ReadOnlyAdminMixin, HiddenFieldsMixin, admin.ModelAdmin):
    """Where people are signed in. The session key is a bearer credential: never shown."""

    hidden_fields = ("session_key",)
    list_display = ("user", "device_name", "ip_address", "created_at", "last_seen_at", "ended_at")
    list_filter = ("ended_at",)
    list_select_related = ("user",)
    search_fields = ("user__username",)
    fields = ("user", "device_name", "ip_address", "created_at", "last_seen_at", "ended_at")
    readonly_fields = fields


# --- Two-step verification and staff recovery ------------------------------------------


@admin.register(BackupCodeDevice)
class BackupCodeDeviceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """That a user has backup codes, and how many are left; never the codes' hashes.
    Staff remove them with "Reset two-step verification" on the user."""

    list_display = ("user", "created_at", "codes_left", "throttling_failure_count")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    fields = ("user", "name", "confirmed", "created_at", "codes_left", "throttling_failure_count")
    readonly_fields = fields

    @admin.display(description="Unused codes")
    def codes_left(self, obj: BackupCodeDevice) -> int:
        return obj.codes.filter(used_at__isnull=True).count()


@admin.register(BackupCode)
class BackupCodeAdmin(ReadOnlyAdminMixin, HiddenFieldsMixin, admin.ModelAdmin):
    hidden_fields = ("code_hash",)
    list_display = ("device", "used_at")
    list_select_related = ("device__user",)
    search_fields = ("device__user__username",)
    fields = ("device", "used_at")
    readonly_fields = fields

    def has_module_permission(self, request: HttpRequest) -> bool:
        # Reached from the backup code sets; not worth a line in the index.
        return False


@admin.register(IdentityVerification)
class IdentityVerificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Append-only: recorded from a user's page ("Verify identity"), never edited."""

    list_display = ("user", "staff", "method", "checks_display", "created_at")
    list_filter = ("method",)
    list_select_related = ("user", "staff")
    search_fields = ("user__username", "staff__username")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    fields = ("user", "staff", "method", "checks_display", "note", "created_at")
    readonly_fields = fields


@admin.register(RecoveryLink)
class RecoveryLinkAdmin(ReadOnlyAdminMixin, HiddenFieldsMixin, admin.ModelAdmin):
    """Password links staff sent: when, how and what became of them; never the token."""

    hidden_fields = ("token_hash",)
    list_display = ("user", "created_by", "channel", "created_at", "expires_at", "used_at", "voided_at")
    list_filter = ("channel",)
    list_select_related = ("user", "created_by")
    search_fields = ("user__username",)
    ordering = ("-created_at", "-id")
    fields = ("user", "created_by", "verification", "channel", "created_at", "expires_at", "used_at", "voided_at")
    readonly_fields = fields


# --- Libraries' admins, without their secrets or their delete buttons --------------------

# django-otp's own admins show an authenticator app's key (and a QR code of it) and let
# anyone with "add" give a user a device with a key of their choosing; its static tokens
# are kept in plain text. The portal does not use static tokens (security.backup_codes).
for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(TOTPDevice)
class AuthenticatorAppAdmin(ReadOnlyAdminMixin, HiddenFieldsMixin, admin.ModelAdmin):
    """Who has an authenticator app, since when; never its key. Staff remove one with
    "Reset two-step verification" on the user."""

    hidden_fields = ("key",)
    list_display = ("user", "name", "confirmed", "created_at", "last_used_at", "throttling_failure_count")
    list_filter = ("confirmed",)
    list_select_related = ("user",)
    search_fields = ("user__username",)
    ordering = ("-created_at", "-id")
    fields = ("user", "name", "confirmed", "created_at", "last_used_at", "throttling_failure_count")
    readonly_fields = fields


# Django's groups are the staff roles. They are written in code (accounts.staff_roles) and
# put back after every ``migrate``, so an edit here would leave no audit event and be
# undone by the next release: the Group admin is view-only and says where roles change.
# Putting a person in a role stays on their login page (UserAdmin, audited).
STAFF_ROLES_NOTE = (
    "Staff roles are defined in code (accounts/staff_roles.py) and restored after every migrate, "
    "so they cannot be changed here. To give someone a role, add them to the group on their login page."
)


class StaffRoleAdmin(ReadOnlyAdminMixin, GroupAdmin):
    actions = None
    fieldsets = ((None, {"fields": ("name", "permissions"), "description": STAFF_ROLES_NOTE}),)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        return super().changelist_view(request, {"subtitle": STAFF_ROLES_NOTE, **(extra_context or {})})


if admin.site.is_registered(Group):
    admin.site.unregister(Group)
    admin.site.register(Group, StaffRoleAdmin)


# django-axes's admins would let staff delete failed attempts: an unlock with no reason
# and no security event. "Unlock sign-in" on the user does that properly.
class AxesAccessAttemptAdmin(ReadOnlyAdminMixin, HiddenFieldsMixin, AccessAttemptAdmin):
    """Failed attempts, without the request's "Form Data": axes keeps the GET and POST as
    sent and masks only the parameter names its settings list, while the sign-in
    wizard's fields are ``auth-username`` and ``auth-password``. Hidden fields are also
    refused as URL filters (``?post_data__contains=`` would be an oracle)."""

    actions = None
    hidden_fields = ("get_data", "post_data")
    fieldsets = (
        (None, {"fields": ("username", "path_info", "failures_since_start", "expiration")}),
        ("Meta data", {"fields": ("user_agent", "ip_address", "http_accept")}),
    )


for _model, _admin_class in (
    (AccessAttempt, AxesAccessAttemptAdmin),
    (AccessLog, type(AccessLogAdmin.__name__, (ReadOnlyAdminMixin, AccessLogAdmin), {"actions": None})),
    (
        AccessFailureLog,
        type(AccessFailureLogAdmin.__name__, (ReadOnlyAdminMixin, AccessFailureLogAdmin), {"actions": None}),
    ),
):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
        admin.site.register(_model, _admin_class)
