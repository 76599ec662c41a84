from django.urls import path

from . import views
from .views import enrollment, user_id

app_name = "accounts"

urlpatterns = [
    path("sign-out/", views.sign_out, name="sign_out"),
    path("session/", views.session_status, name="session_status"),
    path("session/extend/", views.session_extend, name="session_extend"),
    path("enroll/", enrollment.enroll_card, name="enroll"),
    path("enroll/login-details/", enrollment.enroll_login, name="enroll_login"),
    path("enroll/confirm/", enrollment.enroll_confirm, name="enroll_confirm"),
    path("password/check/", enrollment.password_check, name="password_check"),
    path("user-id/", user_id.user_id_change, name="user_id_change"),
    path("user-id/confirm/", user_id.user_id_confirm, name="user_id_confirm"),
]
