"""Payments, bank accounts and autopay. Mounted at "payments/" (namespace "payments")."""

from django.urls import path

from . import views_payments as views

app_name = "payments"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("<int:payment_id>/", views.payment_detail, name="detail"),
    path("<int:payment_id>/cancel/", views.payment_cancel, name="cancel"),
    path("accounts/<int:account_id>/pay/", views.pay, name="pay"),
    path("accounts/<int:account_id>/autopay/", views.autopay, name="autopay"),
    path("accounts/<int:account_id>/autopay/change/", views.autopay_edit, name="autopay_edit"),
    path("accounts/<int:account_id>/autopay/off/", views.autopay_off, name="autopay_off"),
    path("bank-accounts/", views.methods, name="methods"),
    path("bank-accounts/add/", views.method_add, name="method_add"),
    path("bank-accounts/<int:method_id>/remove/", views.method_remove, name="method_remove"),
    path("confirm/", views.step_up_start, name="step_up"),
    path("confirm/code/", views.step_up_code, name="step_up_code"),
]
