from django.urls import path

from . import views, webhook

app_name = "cards"

urlpatterns = [
    path("", views.card_list, name="list"),
    path("activate/", views.card_activate, name="activate"),
    path("processor/webhook/", webhook.processor_webhook, name="processor_webhook"),
]
