"""Admin for logins (``User``) and the issuer's person records (``Cardholder``).

The cardholder page is where customer service works: one search box (name, User ID,
email, phone or a card's last 4), then cards, accounts, lock status, two-step
verification, recent sign-ins with their risk reasons and open disputes, with the staff
actions the staff member may use. Each action asks for a reason, calls the same service
a cardholder's own request would, and is recorded as a ``SecurityEvent`` naming the
staff member. Each checks a permission of its own (accounts.staff_roles), never just
"is staff"; nobody acts on their own login, and only staff managers on a staff login.

A login's User ID and contact details change only through the services that verify and
audit them, so they are read-only here. Staff managers (``accounts.manage_staff``) make
people staff and put them in groups; superusers alone grant superuser status and single
permissions, set passwords, or change another superuser.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from cards import cardnumbers
from cards.models import Card
from portal.digits import is_digits
from security import staff
from security.admin import ReadOnlyAdminMixin, RowIdsCheckedMixin, StaffAuditMixin, changelist_link
from security.contact import ContactChangeError, kind_label

from . import recovery, selectors, services
from .forms import (
    StaffContactReplaceForm,
    StaffIdentityVerificationForm,
    StaffReasonForm,
    StaffRecoveryLinkForm,
    StaffUserIdChangeForm,
    normalize_phone,
)
from .models import Cardholder, User

# --- Staff actions on a login ------------------------------------------------------------


@dataclass(frozen=True)
class StaffAction:
    name: str  # the URL name after "admin:accounts_user_"
    label: str
    permission: str


STAFF_ACTIONS = (
    StaffAction("verify_identity", "Verify identity", "accounts.verify_identity"),
    StaffAction("unlock", "Unlock sign-in", "accounts.unlock_user"),
    StaffAction("reset_two_step", "Reset two-step verification", "accounts.restore_access"),
    StaffAction("replace_contact", "Replace a contact", "accounts.restore_access"),
    StaffAction("recovery_link", "Send a recovery link", "accounts.restore_access"),
    StaffAction("send_user_id", "Send the User ID", "accounts.resend_user_id"),
    StaffAction("change_user_id", "Change User ID", "accounts.change_user_id"),
)
ACTION_PERMISSIONS = {action.name: action.permission for action in STAFF_ACTIONS}
MANAGE_STAFF = "accounts.manage_staff"


def staff_may_act(*, actor: User, subject: User, permission: str) -> bool:
    """Whether this staff member may use a staff action on this login. Nobody acts on
    their own login (verifying your own identity would open your own recovery); a staff
    login is recovered only by staff managers, and a superuser only by a superuser."""
    if not (actor.is_active and actor.is_staff and actor.has_perm(permission)):
        return False
    if subject.pk == actor.pk:
        return False
    if subject.is_superuser and not actor.is_superuser:
        return False
    return not subject.is_staff or actor.has_perm(MANAGE_STAFF)


def staff_actions_for(*, actor: User, subject: User) -> list[tuple[str, str]]:
    """(label, URL) of the staff actions this staff member may use on this login."""
    return [
        (action.label, reverse(f"admin:accounts_user_{action.name}", args=[subject.pk]))
        for action in STAFF_ACTIONS
        if staff_may_act(actor=actor, subject=subject, permission=action.permission)
    ]


class UserChangeForm(auth_forms.UserChangeForm):
    class Meta(auth_forms.UserChangeForm.Meta):
        model = User


class UserCreationForm(auth_forms.AdminUserCreationForm):
    class Meta(auth_forms.AdminUserCreationForm.Meta):
        model = User
        fields = ("username",)


class AdminPasswordChangeForm(auth_forms.AdminPasswordChangeForm):
    """Sets the password through the same service as every other route, so the admin
    also feeds the password history the reuse rule reads."""

    def save(self, commit=True):
        if not self.cleaned_data["set_usable_password"]:
            return super().save(commit)
        services.password_set(user=self.user, raw_password=self.cleaned_data["password1"])
        return self.user


@admin.register(User)
class UserAdmin(RowIdsCheckedMixin, StaffAuditMixin, auth_admin.UserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ("username", "cardholder", "email", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    list_select_related = ("cardholder",)
    search_fields = ("username", "email", "phone", "cardholder__legal_name")
    search_help_text = "User ID, email, phone or cardholder name."
    ordering = ("username",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            "Cardholder and contact",
            {"fields": ("cardholder", "display_name", "email", "email_verified_at", "phone", "phone_verified_at")},
        ),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined", "username_changed_at")}),
        ("Activity", {"fields": ("activity",)}),
    )
    # Changed through services only (verification, alerts, a security event).
    service_managed_fields = (
        "username",
        "cardholder",
        "display_name",
        "email",
        "email_verified_at",
        "phone",
        "phone_verified_at",
        "last_login",
        "date_joined",
        "username_changed_at",
        "activity",
    )
    superuser_only_fields = ("is_superuser", "user_permissions")
    staff_manager_fields = ("is_staff", "groups")
    own_record_fields = ("is_active", "is_staff", "groups")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:  # the add form: User ID and password only
            return ()
        readonly = list(self.service_managed_fields)
        if not request.user.is_superuser:
            readonly += self.superuser_only_fields
            if not request.user.has_perm(MANAGE_STAFF):
                # Making someone staff, or choosing their groups, is a staff manager's.
                readonly += self.staff_manager_fields
            if obj.pk == request.user.pk:
                # Nobody raises their own privileges.
                readonly += self.own_record_fields
        return list(dict.fromkeys(readonly))

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        if obj is not None and obj.is_staff and not request.user.has_perm(MANAGE_STAFF):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Deactivate instead: deleting a login would unlink it from its audit trail.
        return False

    def user_change_password(self, request, id, form_url=""):
        # Cardholders reset their own passwords through recovery; support staff never
        # choose one for them.
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def save_model(self, request, obj, form, change):
        if change or not form.cleaned_data.get("set_usable_password"):
            return super().save_model(request, obj, form, change)
        # A new login's first password goes through the service like every later one,
        # so it enters the history (the form has validated it already).
        obj.set_unusable_password()
        super().save_model(request, obj, form, change)
        services.password_set(user=obj, raw_password=form.cleaned_data["password1"])
        return None

    def audit_subject(self, obj: User) -> User:
        return obj

    change_form_template = "admin/accounts/user/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        subject = User.objects.filter(pk=object_id).first() if is_digits(str(object_id)) else None
        extra_context = dict(extra_context or {})
        if subject is not None:
            extra_context["staff_actions"] = staff_actions_for(actor=request.user, subject=subject)
            if subject.cardholder_id and request.user.has_perm("accounts.view_cardholder"):
                extra_context["cardholder_url"] = reverse(
                    "admin:accounts_cardholder_change", args=[subject.cardholder_id]
                )
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        extra = [
            path(
                "<int:user_id>/change-user-id/",
                self.admin_site.admin_view(self.change_user_id_view),
                name="accounts_user_change_user_id",
            ),
            path("<int:user_id>/unlock/", self.admin_site.admin_view(self.unlock_view), name="accounts_user_unlock"),
            path(
                "<int:user_id>/verify-identity/",
                self.admin_site.admin_view(self.verify_identity_view),
                name="accounts_user_verify_identity",
            ),
            path(
                "<int:user_id>/reset-two-step/",
                self.admin_site.admin_view(self.reset_two_step_view),
                name="accounts_user_reset_two_step",
            ),
            path(
                "<int:user_id>/replace-contact/",
                self.admin_site.admin_view(self.replace_contact_view),
                name="accounts_user_replace_contact",
            ),
            path(
                "<int:user_id>/send-recovery-link/",
                self.admin_site.admin_view(self.recovery_link_view),
                name="accounts_user_recovery_link",
            ),
            path(
                "<int:user_id>/send-user-id/",
                self.admin_site.admin_view(self.send_user_id_view),
                name="accounts_user_send_user_id",
            ),
        ]
        return extra + super().get_urls()

    def _staff_action(
        self,
        request,
        user_id: int,
        form_class,
        title: str,
        perform,
        *,
        action: str,
        needs_verification: bool = False,
        intro="",
    ):
        user = get_object_or_404(User.objects.select_related("cardholder"), pk=user_id)
        if not staff_may_act(actor=request.user, subject=user, permission=ACTION_PERMISSIONS[action]):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subject": user,
            "opts": self.model._meta,
            "intro": intro,
            "back_url": self._back_to(request, user),
            "back_label": user.cardholder.legal_name if user.cardholder_id else user.username,
        }
        if needs_verification:
            # Account recovery: only after this staff member verified the cardholder.
            verification = staff.recent_verification(user=user, staff=request.user)
            if verification is None:
                if request.method == "POST":
                    messages.error(request, "Nothing was changed. " + staff.NO_VERIFICATION_MESSAGE)
                context.update(
                    form=None,
                    needs_verification=True,
                    no_verification_message=staff.NO_VERIFICATION_MESSAGE,
                    verify_url=reverse("admin:accounts_user_verify_identity", args=[user.pk]),
                )
                return TemplateResponse(request, "admin/accounts/user/staff_action.html", context)
            context["verification"] = verification
            context["verification_valid_until"] = verification.created_at + staff.VERIFICATION_WINDOW
        form_kwargs = {"subject": user} if getattr(form_class, "needs_subject", False) else {}
        form = form_class(request.POST if request.method == "POST" else None, **form_kwargs)
        if request.method == "POST" and form.is_valid():
            try:
                message = perform(user, form.cleaned_data)
            except (
                services.UserIdChangeError,
                ValidationError,
                ContactChangeError,
                staff.VerificationRequired,
                staff.StaffActionError,
            ) as error:
                form.add_error(None, " ".join(getattr(error, "messages", [str(error)])))
            else:
                messages.success(request, message)
                return redirect(self._back_to(request, user))
        context["form"] = form
        return TemplateResponse(request, "admin/accounts/user/staff_action.html", context)

    @staticmethod
    def _back_to(request, user: User) -> str:
        """Back to the cardholder page the action was started from, when there is one."""
        if user.cardholder_id and request.user.has_perm("accounts.view_cardholder"):
            return reverse("admin:accounts_cardholder_change", args=[user.cardholder_id])
        return reverse("admin:accounts_user_change", args=[user.pk])

    def change_user_id_view(self, request, user_id: int):
        def perform(user, data):
            services.user_id_change(
                user=user, new_username=data["new_username"], actor=request.user, reason=data["reason"], request=request
            )
            return f"User ID changed to {data['new_username']}. The cardholder has been told."

        return self._staff_action(
            request, user_id, StaffUserIdChangeForm, "Change User ID", perform, action="change_user_id"
        )

    def unlock_view(self, request, user_id: int):
        def perform(user, data):
            services.sign_in_unlock(user=user, actor=request.user, reason=data["reason"], request=request)
            return f"Sign-in unlocked: {user.username} can log in again."

        # Unlocking lets the caller try passwords again: only once you know who they are.
        return self._staff_action(
            request,
            user_id,
            StaffReasonForm,
            "Unlock sign-in",
            perform,
            action="unlock",
            needs_verification=True,
            intro="Clears the wrong-password count, so the cardholder can log in again at once.",
        )

    def verify_identity_view(self, request, user_id: int):
        def perform(user, data):
            staff.identity_verification_record(
                user=user,
                staff=request.user,
                method=data["method"],
                checks=data["checks"],
                note=data["note"],
                request=request,
            )
            return (
                f"Identity verification recorded for {user.username}. For the next 30 minutes you may reset "
                "two-step verification, replace a contact or send a recovery link."
            )

        return self._staff_action(
            request,
            user_id,
            StaffIdentityVerificationForm,
            "Verify identity",
            perform,
            action="verify_identity",
            intro="Record how you checked who the cardholder is, before any account recovery action.",
        )

    def reset_two_step_view(self, request, user_id: int):
        def perform(user, data):
            removed = staff.two_factor_reset(user=user, staff=request.user, reason=data["reason"], request=request)
            parts = ", ".join(f"{name.replace('_', ' ')}: {count}" for name, count in removed.items())
            return f"Two-step verification reset for {user.username} (removed {parts}). The cardholder has been told."

        return self._staff_action(
            request,
            user_id,
            StaffReasonForm,
            "Reset two-step verification",
            perform,
            action="reset_two_step",
            needs_verification=True,
            intro=(
                "Removes the authenticator app, backup codes and passkeys. The cardholder then logs in with "
                "their password and a code to the contact on file, and can set them up again."
            ),
        )

    def replace_contact_view(self, request, user_id: int):
        def perform(user, data):
            staff.contact_replace(
                user=user,
                staff=request.user,
                kind=data["kind"],
                value=data["value"],
                reason=data["reason"],
                request=request,
            )
            return f"The {kind_label(data['kind'])} was replaced. Every contact on file has been told."

        return self._staff_action(
            request,
            user_id,
            StaffContactReplaceForm,
            "Replace a contact",
            perform,
            action="replace_contact",
            needs_verification=True,
            intro="For a cardholder who no longer has the email or phone on file. Codes go to the new one at once.",
        )

    def recovery_link_view(self, request, user_id: int):
        def perform(user, data):
            staff.recovery_link_send(
                user=user, staff=request.user, channel=data["channel"], reason=data["reason"], request=request
            )
            return "Recovery link sent. It works once, for 30 minutes. Every contact on file has been told."

        return self._staff_action(
            request,
            user_id,
            StaffRecoveryLinkForm,
            "Send a recovery link",
            perform,
            action="recovery_link",
            needs_verification=True,
            intro=(
                "Sends a link to set a new password to a contact on file. It works once, for 30 minutes, and "
                "does not sign the cardholder in."
            ),
        )

    def send_user_id_view(self, request, user_id: int):
        def perform(user, data):
            sent = recovery.user_id_reminder_send(
                user=user,
                route=recovery.ReminderRoute.STAFF,
                request=request,
                actor=request.user,
                reason=data["reason"],
            )
            if not sent:
                raise staff.StaffActionError(
                    "Nothing was sent: there is no email address on file, or a reminder went out in the last "
                    "15 minutes."
                )
            return f"The User ID was emailed to the address on file for {user.username}."

        return self._staff_action(
            request,
            user_id,
            StaffReasonForm,
            "Send the User ID",
            perform,
            action="send_user_id",
            intro="Emails the User ID to the address on file (never read it out on a call).",
        )

    @admin.display(description="Activity")
    def activity(self, obj: User) -> str:
        links = (
            changelist_link("security.securityevent", "Security events", user__id__exact=obj.pk),
            changelist_link("security.trusteddevice", "Trusted devices", user__id__exact=obj.pk),
            changelist_link("security.notification", "Notifications", user__id__exact=obj.pk),
            changelist_link("security.identityverification", "Identity verifications", user__id__exact=obj.pk),
            changelist_link("cards.paymentmethod", "Payment methods", owner__id__exact=obj.pk),
        )
        return format_html_join(" · ", "{}", ((link,) for link in links))


@admin.register(Cardholder)
class CardholderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The issuer's record of a person, and the page staff serve them from. Date of
    birth and postal code verify enrollment, so nobody edits them here."""

    list_display = ("legal_name", "online_login", "card_numbers", "email", "phone", "postal_code")
    list_select_related = ("user",)
    search_fields = ("legal_name", "email", "phone", "postal_code", "user__username", "user__email", "user__phone")
    search_help_text = "Name, User ID, email, phone, or the last 4 digits of a card."
    ordering = ("legal_name", "id")
    show_full_result_count = False
    fields = (
        "legal_name",
        "name_on_card",
        "date_of_birth",
        "postal_code",
        "email",
        "phone",
        "created_at",
        "online_login",
    )
    readonly_fields = fields
    change_form_template = "admin/accounts/cardholder/change_form.html"

    def get_queryset(self, request):
        # The list shows each person's cards: one more query for the page, not one a row.
        cards = Card.objects.only("id", "holder_id", "last4", "status").order_by("issued_at", "id")
        return super().get_queryset(request).prefetch_related(Prefetch("cards", queryset=cards))

    # --- look-up ---------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        # A whole card number pasted into the search box: search by its last 4 instead,
        # so the number is not echoed into the page or kept in the browser's history.
        term = cardnumbers.normalize_pan(request.GET.get(SEARCH_VAR, ""))
        if is_digits(term) and len(term) >= 12:
            params = request.GET.copy()
            params[SEARCH_VAR] = term[-4:]
            self.message_user(
                request,
                "Search by the last 4 digits of a card; the full number is never looked up here.",
                messages.WARNING,
            )
            return HttpResponseRedirect(f"{request.path}?{params.urlencode()}")
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if len(term) == 4 and is_digits(term):
            # Four digits are a card's last 4: an exact match through the card table.
            return queryset.filter(selectors.cardholders_with_card_last4(last4=term)), False
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        phone = _as_phone(term)
        if phone:
            # "(202) 555-0123" is stored as +12025550123, on the person or their login.
            found = found | queryset.filter(Q(phone=phone) | Q(user__phone=phone))
        return found, may_have_duplicates

    @admin.display(description="User ID", ordering="user__username")
    def online_login(self, obj: Cardholder) -> str:
        user = getattr(obj, "user", None)
        if user is None:
            return "Not enrolled"
        return format_html('<a href="{}">{}</a>', reverse("admin:accounts_user_change", args=[user.pk]), user.username)

    @admin.display(description="Cards")
    def card_numbers(self, obj: Cardholder) -> str:
        return ", ".join(card.masked_number for card in obj.cards.all()) or "-"

    # --- the cardholder page -------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        holder = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if holder is not None and self.has_view_permission(request, holder):
            # Headed by the person, not "View cardholder".
            extra_context.update(self._page(request, holder), title=holder.legal_name, subtitle=None)
        return super().change_view(request, object_id, form_url, extra_context)

    def _page(self, request, holder: Cardholder) -> dict:
        actor = request.user
        overview = selectors.cardholder_overview(cardholder=holder)
        user = overview.user
        cards = (
            Card.objects.filter(holder=holder)
            .select_related("account__product")
            .only(
                "id",
                "last4",
                "role",
                "status",
                "expiry_month",
                "expiry_year",
                "account__reference",
                "account__product__name",
            )
            .order_by("issued_at", "id")
        )
        may_view = {name: actor.has_perm(f"cards.view_{name}") for name in ("card", "cardaccount", "dispute")}
        may_freeze = actor.has_perm("cards.freeze_card") or actor.has_perm("cards.change_card")
        verification = staff.recent_verification(user=user, staff=actor) if user is not None else None
        return {
            "overview": overview,
            "card_rows": [
                {
                    "card": card,
                    "url": reverse("admin:cards_card_change", args=[card.pk]) if may_view["card"] else "",
                    "freeze_url": (
                        reverse("admin:cards_card_freeze", args=[card.pk])
                        if may_freeze and card.status == Card.Status.ACTIVE
                        else ""
                    ),
                }
                for card in cards
            ],
            "account_rows": [
                {
                    "account": account,
                    "url": reverse("admin:cards_cardaccount_change", args=[account.pk])
                    if may_view["cardaccount"]
                    else "",
                    "basic_member": account.primary_cardholder_id == holder.pk,
                }
                for account in overview.accounts
            ],
            "dispute_rows": [
                {
                    "dispute": dispute,
                    "url": reverse("admin:cards_dispute_change", args=[dispute.pk]) if may_view["dispute"] else "",
                }
                for dispute in overview.open_disputes
            ],
            "staff_actions": staff_actions_for(actor=actor, subject=user) if user is not None else [],
            "unlock_url": (
                reverse("admin:accounts_user_unlock", args=[user.pk])
                if user is not None and staff_may_act(actor=actor, subject=user, permission="accounts.unlock_user")
                else ""
            ),
            "verification": verification,
            "verification_valid_until": verification.created_at + staff.VERIFICATION_WINDOW if verification else None,
        }


def _as_phone(term: str) -> str:
    """The term as a phone number in the stored form (E.164), or ""."""
    digits = sum(ch.isdigit() for ch in term)
    if digits < 7 or any(not (ch.isdigit() or ch in "+()-. ") for ch in term):
        return ""
    try:
        return normalize_phone(term)
    except ValidationError:
        return ""
