import time

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from portal.net import local_path

from ..middleware import idle_timeout_for
from .sign_in import SignInView

__all__ = ["SignInView", "sign_out", "session_status", "session_extend"]


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    # logout() flushes the session on the server, not only the cookie.
    logout(request)
    messages.success(request, "You have signed out. Close the browser if this is a shared computer.")
    return redirect("portal:home")


def _seconds_left(request: HttpRequest) -> int:
    last = request.session.get("last_activity", int(time.time()))
    return max(0, idle_timeout_for(request.user) - (int(time.time()) - last))


@login_required
@require_GET
def session_status(request: HttpRequest) -> JsonResponse:
    """How long until the idle sign-out; polled by the page's timeout warning."""
    return JsonResponse({"signed_in": True, "seconds_left": _seconds_left(request)})


@login_required
@require_POST
def session_extend(request: HttpRequest) -> HttpResponse:
    # The middleware already counted this request as activity.
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"signed_in": True, "seconds_left": _seconds_left(request)})
    return HttpResponseRedirect(local_path(request, request.POST.get("next"), reverse("portal:home")))
