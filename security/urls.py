from django.urls import path

from . import views, views_contact, views_reauth, views_two_step

app_name = "security"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("devices/", views.device_list, name="devices"),
    path("devices/<int:device_id>/remove/", views.device_remove, name="device_remove"),
    path("devices/remove-all/", views.device_remove_all, name="device_remove_all"),
    path("passkeys/", views.passkey_list, name="passkeys"),
    path("passkeys/<int:passkey_id>/rename/", views.passkey_rename, name="passkey_rename"),
    path("passkeys/<int:passkey_id>/remove/", views.passkey_remove, name="passkey_remove"),
    path("activity/", views.activity, name="activity"),
    path("sessions/<int:session_id>/end/", views.session_end, name="session_end"),
    path("sessions/end-others/", views.sessions_end_others, name="sessions_end_others"),
    path("password/", views.password_change, name="password"),
    path("confirm/", views_reauth.confirm, name="confirm"),
    path("confirm/code/", views_reauth.confirm_code, name="confirm_code"),
    path("two-step/", views_two_step.overview, name="two_step"),
    path("two-step/app/", views_two_step.app_setup, name="two_step_app"),
    path("two-step/app/remove/", views_two_step.app_remove, name="two_step_app_remove"),
    path("two-step/backup-codes/", views_two_step.backup_codes_new, name="backup_codes_new"),
    path("contact/", views_contact.contact_details, name="contact"),
    path("contact/confirm/", views_contact.contact_confirm, name="contact_confirm"),
    path("contact/<str:kind>/", views_contact.contact_edit, name="contact_edit"),
]
