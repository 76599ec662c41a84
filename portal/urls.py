from django.contrib import admin
from django.urls import include, path
from two_factor.urls import urlpatterns as two_factor_urlpatterns

from accounts.views import SignInView

from . import views

portal_patterns = (
    [
        path("", views.home, name="home"),
        path("healthz", views.health, name="health"),
    ],
    "portal",
)

# django-two-factor-auth's pages, with its login view replaced by ours under the same
# name (two_factor:login) so its other views and templates keep working.
_two_factor_patterns, _two_factor_namespace = two_factor_urlpatterns
two_factor_patterns = (
    [path("account/login/", SignInView.as_view(), name="login")]
    + [pattern for pattern in _two_factor_patterns if getattr(pattern, "name", None) != "login"],
    _two_factor_namespace,
)

urlpatterns = [
    path("", include(portal_patterns)),
    path("", include(two_factor_patterns)),
    path("account/recover/", include("accounts.urls_recovery")),
    path("account/", include("accounts.urls")),
    path("cards/", include("cards.urls")),
    path("security/", include("security.urls")),
    path("admin/", admin.site.urls),
]
