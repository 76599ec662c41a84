import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.urls import reverse

from security import sessions


def idle_timeout_for(user) -> int:
    """Seconds of inactivity after which this person is signed out: staff, who can open
    the staff console, sooner than cardholders."""
    if getattr(user, "is_staff", False):
        return min(settings.STAFF_SESSION_IDLE_TIMEOUT, settings.SESSION_IDLE_TIMEOUT)
    return settings.SESSION_IDLE_TIMEOUT


class SessionTimeoutMiddleware:
    """Signs a person out after 15 minutes without activity (PCI DSS 8.2.8), staff after
    10 (STAFF_SESSION_IDLE_TIMEOUT), and after 12 hours in any case. The page warns
    before the idle limit and offers to extend."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            expired = self._expired(request)
            if expired:
                logout(request)
                messages.info(request, expired)
                if request.headers.get("Accept", "").startswith("application/json"):
                    return JsonResponse({"signed_in": False}, status=401)
                return redirect_to_login(request.get_full_path())
        return self.get_response(request)

    def _expired(self, request) -> str:
        session = request.session
        now = int(time.time())
        started = session.get("signed_in_at")
        last = session.get("last_activity")
        if started is None or last is None:
            session["signed_in_at"] = session.get("signed_in_at", now)
            session["last_activity"] = now
            return ""
        if now - started > settings.SESSION_ABSOLUTE_TIMEOUT:
            return "For your security you were signed out after 12 hours. Please log in again."
        idle_limit = idle_timeout_for(request.user)
        if now - last > idle_limit:
            minutes = idle_limit // 60
            return f"For your security you were signed out after {minutes} minutes without activity."
        # Polling how much time is left must not itself count as activity.
        if request.path != reverse("accounts:session_status"):
            session["last_activity"] = now
            sessions.session_touch(request=request)
        return ""
