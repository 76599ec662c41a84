from django.urls import path

from . import views

app_name = "statements"

urlpatterns = [
    path("", views.statement_list, name="list"),
    path("<int:statement_id>/pdf/", views.statement_pdf, name="pdf"),
    path("<int:statement_id>/preparing/", views.statement_preparing, name="preparing"),
    path("<int:statement_id>/transactions.csv", views.statement_csv, name="csv"),
    path("<int:statement_id>/transactions.ofx", views.statement_ofx, name="ofx"),
]
