from django.urls import path

from . import views

app_name = "security"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("devices/", views.device_list, name="devices"),
    path("devices/<int:device_id>/remove/", views.device_remove, name="device_remove"),
    path("devices/remove-all/", views.device_remove_all, name="device_remove_all"),
    path("activity/", views.activity, name="activity"),
    path("sessions/<int:session_id>/end/", views.session_end, name="session_end"),
    path("sessions/end-others/", views.sessions_end_others, name="sessions_end_others"),
    path("password/", views.password_change, name="password"),
]
