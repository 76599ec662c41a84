from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from two_factor.urls import urlpatterns as two_factor_urlpatterns

from accounts.views import SignInView

from . import health, views

portal_patterns = (
    [
        path("", views.home, name="home"),
        # Probes (portal/health.py); answered by portal.middleware.HealthCheckMiddleware
        # before host checks and sessions, routed here too so they can be reversed.
        path("livez", health.liveness, name="liveness"),
        path("readyz", health.readiness, name="readiness"),
        path("healthz", health.readiness, name="health"),  # older name of readyz
    ],
    "portal",
)

# django-two-factor-auth's pages, with its login view replaced by ours under the same
# name (two_factor:login) so its other views and templates keep working. Its setup,
# backup-token and disable pages lead to our two-step page instead: they would make
# plain-text backup tokens, and its "disable" deletes every device on a checkbox.
_two_factor_patterns, _two_factor_namespace = two_factor_urlpatterns
_TWO_FACTOR_REPLACED = {"setup", "setup_complete", "qr", "backup_tokens", "profile", "disable"}
two_factor_patterns = (
    [path("account/login/", SignInView.as_view(), name="login")]
    + [
        path(str(pattern.pattern), RedirectView.as_view(pattern_name="security:two_step"), name=pattern.name)
        if getattr(pattern, "name", None) in _TWO_FACTOR_REPLACED
        else pattern
        for pattern in _two_factor_patterns
        if getattr(pattern, "name", None) != "login"
    ],
    _two_factor_namespace,
)

# Our 500 page shows the request id; a database outage gets the 503 page instead.
handler500 = "portal.middleware.server_error"

urlpatterns = [
    path("", include(portal_patterns)),
    path("", include(two_factor_patterns)),
    path("account/recover/", include("accounts.urls_recovery")),
    path("account/passkeys/", include("security.urls_passkeys")),
    path("account/", include("accounts.urls")),
    path("cards/", include("cards.urls")),
    path("payments/", include("cards.urls_payments")),
    path("disputes/", include("cards.urls_disputes")),
    path("alerts/", include("cards.urls_alerts")),
    path("business/", include("cards.urls_business")),
    path("security/", include("security.urls")),
    path("statements/", include("statements.urls")),
    path("admin/", admin.site.urls),
]
