"""Alert settings. Mounted at "alerts/" (namespace "alerts")."""

from django.urls import path

from . import views_alerts as views

app_name = "alerts"

urlpatterns = [
    path("", views.alert_settings, name="settings"),
]
