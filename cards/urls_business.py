"""Business administration pages, mounted at business/ (portal.urls)."""

from django.urls import path

from . import views_business as views

app_name = "business"

urlpatterns = [
    path("", views.index, name="index"),
    path("switch/", views.switch, name="switch"),
    path("<int:program_id>/", views.overview, name="overview"),
    path("<int:program_id>/cards/", views.card_list, name="cards"),
    path("<int:program_id>/cards/request/", views.card_request, name="card_request"),
    path("<int:program_id>/reports/", views.report, name="reports"),
    path("<int:program_id>/reports/summary.csv", views.report_csv, name="report_csv"),
    path("<int:program_id>/reports/transactions.csv", views.transactions_csv, name="transactions_csv"),
    path("cards/<int:card_id>/", views.card_detail, name="card"),
    path("cards/<int:card_id>/limit/", views.card_limit, name="card_limit"),
    path("cards/<int:card_id>/categories/", views.card_categories, name="card_categories"),
    path("cards/<int:card_id>/freeze/", views.card_freeze, name="card_freeze"),
    path("cards/<int:card_id>/unfreeze/", views.card_unfreeze, name="card_unfreeze"),
    path("cards/<int:card_id>/close/", views.card_close, name="card_close"),
]
