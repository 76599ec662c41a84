"""The alerts page (mounted at /alerts/, namespace "alerts"): the signed-in user's own
choices, nothing else's."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import alert_rules
from .forms_alerts import AlertPreferencesForm


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def alert_settings(request: HttpRequest) -> HttpResponse:
    user = request.user
    can_text = bool(alert_rules.sms_number(user))
    form = AlertPreferencesForm(
        request.POST if request.method == "POST" else None,
        preferences=alert_rules.preferences_for_user(user=user),
        can_text=can_text,
    )
    if request.method == "POST" and form.is_valid():
        alert_rules.preferences_save(user=user, preferences=form.chosen())
        messages.success(request, "Your alert choices are saved.")
        return redirect("alerts:settings")
    return render(
        request,
        "cards/alerts/settings.html",
        {
            "form": form,
            "can_text": can_text,
            "email": user.email,
            "security_alerts": alert_rules.SECURITY_ALERTS,
        },
    )
