"""The staff console: the Django admin, open only to active staff whose session was
confirmed with a second factor they hold (an authenticator app, a passkey, or a backup
code of theirs), and whose password meets the staff policy.

Installed as the default admin site by ``security.apps.StaffAdminConfig`` (in
INSTALLED_APPS in place of ``django.contrib.admin``), so every ``admin.register`` lands
here. Built on django-two-factor-auth's ``AdminSiteOTPRequired``: a code texted or
emailed to the contact on file verifies a cardholder's sign-in but not a staff session,
since a swapped SIM or a read mailbox would then open the console.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from two_factor.admin import AdminSiteOTPRequired

from accounts.passwords import staff_password_outdated
from portal.net import local_path

from .models import OutOfBandDevice

SET_UP_APP_MESSAGE = (
    "The staff console needs two-step verification with an authenticator app. Set it up here, then log in "
    "again with a code from the app."
)
CODE_AGAIN_MESSAGE = "The staff console needs a code from your authenticator app. Log in again to continue."


def staff_second_factor_confirmed(user) -> bool:
    """This session was confirmed with a factor the staff member holds (not a code sent
    to a contact on file)."""
    device = getattr(user, "otp_device", None)
    return device is not None and not isinstance(device, OutOfBandDevice)


def staff_second_factor_exists(user) -> bool:
    """The staff member has an authenticator app or a passkey to confirm a session with."""
    from .passkeys import passkeys_for_user

    return TOTPDevice.objects.filter(user=user, confirmed=True).exists() or passkeys_for_user(user=user).exists()


class DateHierarchyCheckedMixin:
    """Far dates in a date hierarchy's URL filters (``?created_at__year=9999&...month=12
    &...day=31``, or a year of 20 digits) are refused like any bad filter (Django
    redirects to the list with ``?e=1``) instead of a 500. Django's ChangeList catches
    only the ValueError of building the first day; the day, month or year after it
    overflows (``OverflowError``, or ``ValueError`` for year 10,000) outside that
    check. ``StaffAdminSite.register`` adds this to every ModelAdmin with a
    ``date_hierarchy``, so a new one cannot forget it."""

    def get_changelist_instance(self, request: HttpRequest):
        try:
            return super().get_changelist_instance(request)  # type: ignore[misc]
        except OverflowError as error:
            raise IncorrectLookupParameters(error) from error
        except ValueError as error:
            if f"{self.date_hierarchy}__year" not in request.GET:  # type: ignore[attr-defined]
                raise
            raise IncorrectLookupParameters(error) from error


class StaffAdminSite(AdminSiteOTPRequired):
    site_header = f"{settings.ISSUER_NAME} staff console"
    site_title = "Staff console"
    index_title = "Staff console"

    def register(self, model_or_iterable, admin_class=None, **options) -> None:
        admin_class = admin_class or admin.ModelAdmin
        if options:  # what Django's register would build from them
            admin_class = type(admin_class.__name__, (admin_class,), {"__module__": __name__, **options})
        if admin_class.date_hierarchy and not issubclass(admin_class, DateHierarchyCheckedMixin):
            admin_class = type(
                admin_class.__name__,
                (DateHierarchyCheckedMixin, admin_class),
                {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
            )
        super().register(model_or_iterable, admin_class)

    def has_permission(self, request: HttpRequest) -> bool:
        # The parent: active, staff, and verified by django-otp in this session.
        return (
            super().has_permission(request)
            and staff_second_factor_confirmed(request.user)
            and not staff_password_outdated(request)
        )

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """Where the admin sends anyone it refuses. Our sign-in page asks staff for a code
        every time (accounts.views.sign_in), so the console has no sign-in form of its own."""
        next_url = self._next_url(request)
        user = request.user
        if self.has_permission(request):
            return redirect(next_url)
        if not user.is_authenticated:
            return redirect_to_login(next_url)
        if not (user.is_active and user.is_staff):
            raise PermissionDenied
        if staff_password_outdated(request):
            messages.warning(
                request,
                f"Staff passwords must be at least {settings.STAFF_PASSWORD_MIN_LENGTH} characters long. "
                "Choose a new password to open the staff console.",
            )
            return redirect("security:password")
        if not staff_second_factor_exists(user):
            messages.warning(request, SET_UP_APP_MESSAGE)
            return redirect("security:two_step")
        # They have an app (or a passkey), but this session was not confirmed with it:
        # for example it began before they became staff. A fresh sign-in asks for it.
        logout(request)
        messages.info(request, CODE_AGAIN_MESSAGE)
        return redirect_to_login(next_url)

    def password_change(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        # The portal's own page: it keeps the password history, signs other sessions
        # out and tells the person, which the admin's form would not.
        return redirect("security:password")

    def _next_url(self, request: HttpRequest) -> str:
        candidate = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
        return local_path(request, candidate, reverse("admin:index", current_app=self.name))
