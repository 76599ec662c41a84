"""Admin for logins (``User``) and the issuer's person records (``Cardholder``).

Staff may switch a login on or off and manage who is staff and in which groups. A
login's User ID and contact details change only through the services that verify and
audit them, so they are read-only here. Superusers alone grant superuser status and
single permissions, set passwords, or change another superuser.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from cards.admin import HolderCardInline
from security import staff
from security.admin import ReadOnlyAdminMixin, StaffAuditMixin, changelist_link
from security.contact import ContactChangeError, kind_label

from . import services
from .forms import (
    StaffContactReplaceForm,
    StaffIdentityVerificationForm,
    StaffReasonForm,
    StaffRecoveryLinkForm,
    StaffUserIdChangeForm,
)
from .models import Cardholder, User


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
class UserAdmin(StaffAuditMixin, auth_admin.UserAdmin):
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
    own_record_fields = ("is_active", "is_staff", "groups")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:  # the add form: User ID and password only
            return ()
        readonly = list(self.service_managed_fields)
        if not request.user.is_superuser:
            readonly += self.superuser_only_fields
            if obj.pk == request.user.pk:
                # Nobody raises their own privileges.
                readonly += self.own_record_fields
        return readonly

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
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
        ]
        return extra + super().get_urls()

    def _staff_action(
        self, request, user_id: int, form_class, title: str, perform, *, needs_verification: bool = False, intro=""
    ):
        user = get_object_or_404(User, pk=user_id)
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subject": user,
            "opts": self.model._meta,
            "intro": intro,
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
        form = form_class(request.POST or None, **form_kwargs)
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
                return redirect("admin:accounts_user_change", user.pk)
        context["form"] = form
        return TemplateResponse(request, "admin/accounts/user/staff_action.html", context)

    def change_user_id_view(self, request, user_id: int):
        def perform(user, data):
            services.user_id_change(
                user=user, new_username=data["new_username"], actor=request.user, reason=data["reason"], request=request
            )
            return f"User ID changed to {data['new_username']}. The cardholder has been told."

        return self._staff_action(request, user_id, StaffUserIdChangeForm, "Change User ID", perform)

    def unlock_view(self, request, user_id: int):
        def perform(user, data):
            services.sign_in_unlock(user=user, actor=request.user, reason=data["reason"], request=request)
            return f"{user.username} can log in again."

        return self._staff_action(request, user_id, StaffReasonForm, "Unlock sign-in", perform)

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
            needs_verification=True,
            intro=(
                "Sends a link to set a new password to a contact on file. It works once, for 30 minutes, and "
                "does not sign the cardholder in."
            ),
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
    # The issuer's record from the card application. Date of birth and postal code
    # verify enrollment, so nobody edits them here.
    list_display = ("legal_name", "online_login", "email", "phone", "postal_code", "created_at")
    list_select_related = ("user",)
    search_fields = ("legal_name", "email", "phone", "postal_code")
    search_help_text = "Name, email, phone or postal code."
    ordering = ("legal_name", "id")
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
    inlines = (HolderCardInline,)

    @admin.display(description="User ID")
    def online_login(self, obj: Cardholder) -> str:
        user = getattr(obj, "user", None)
        if user is None:
            return "Not enrolled"
        return format_html('<a href="{}">{}</a>', reverse("admin:accounts_user_change", args=[user.pk]), user.username)
