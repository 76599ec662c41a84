from django.contrib import admin
from django.urls import include, path
from two_factor.urls import urlpatterns as two_factor_patterns

from . import views

portal_patterns = (
    [
        path("", views.home, name="home"),
        path("healthz", views.health, name="health"),
    ],
    "portal",
)

urlpatterns = [
    path("", include(portal_patterns)),
    path("", include(two_factor_patterns)),
    path("account/", include("accounts.urls")),
    path("cards/", include("cards.urls")),
    path("admin/", admin.site.urls),
]
