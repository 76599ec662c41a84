"""Account recovery, included at "account/recover/" by portal/urls.py."""

from django.urls import path

from .views import recovery as views

app_name = "recovery"

urlpatterns = [
    path("", views.start, name="start"),
    path("password/", views.password, name="password"),
    path("password/code/", views.password_code, name="password_code"),
    path("password/new/", views.password_new, name="password_new"),
    path("user-id/", views.user_id, name="user_id"),
    path("user-id/card/", views.user_id_card, name="user_id_card"),
    path("user-id/details/", views.user_id_details, name="user_id_details"),
    path("user-id/sent/", views.user_id_sent, name="user_id_sent"),
    path("link/<str:token>/", views.link_open, name="link"),
    path("link-password/", views.link_password, name="link_password"),
]
