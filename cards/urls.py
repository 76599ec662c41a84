from django.urls import path

from . import views, webhook

app_name = "cards"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    # The dashboard took over the card list; its old name keeps working for links.
    path("", views.dashboard, name="list"),
    path("activate/", views.card_activate, name="activate"),
    path("<int:card_id>/freeze/", views.card_freeze, name="freeze"),
    path("<int:card_id>/unfreeze/", views.card_unfreeze, name="unfreeze"),
    path("<int:card_id>/lost-or-stolen/", views.card_report_lost, name="report_lost"),
    path("transactions/", views.transactions, name="transactions"),
    path("transactions/export/", views.transactions_export, name="transactions_export"),
    path("transactions/<int:transaction_id>/", views.transaction_detail, name="transaction"),
    path("rewards/", views.rewards, name="rewards"),
    path("processor/webhook/", webhook.processor_webhook, name="processor_webhook"),
]
