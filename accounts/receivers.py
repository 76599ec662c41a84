"""Receivers for django.contrib.auth and django-axes signals. They only translate the
signal into a call to a service; the rules live in the services."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from security import sessions

from . import services, signin


@receiver(user_login_failed, dispatch_uid="accounts.sign_in_failed")
def on_sign_in_failed(sender, credentials, request=None, **kwargs):
    if request is None:
        return
    signin.ip_failure_record(signin.request_ip(request))
    services.sign_in_failure_record(
        request=request,
        username=credentials.get("username", "") or "",
        locked=bool(getattr(request, "axes_locked_out", False)),
    )


@receiver(user_logged_in, dispatch_uid="accounts.signed_in")
def on_signed_in(sender, request, user, **kwargs):
    if request is None:
        return
    signin.session_stamp(request)
    services.sign_in_success_record(request=request, user=user)
    sessions.session_started(request=request, user=user)


@receiver(user_logged_out, dispatch_uid="accounts.signed_out")
def on_signed_out(sender, request, user, **kwargs):
    if user is not None:
        services.sign_out_record(request=request, user=user)
    if request is not None:
        sessions.session_ended(session_key=request.session.session_key)


@receiver(user_locked_out, dispatch_uid="accounts.locked_out")
def on_locked_out(sender, request, username, ip_address, **kwargs):
    services.lockout_record(request=request, username=username or "")
