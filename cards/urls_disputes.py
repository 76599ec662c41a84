"""Disputes. Mounted at "disputes/" (namespace "disputes")."""

from django.urls import path

from . import views_disputes as views

app_name = "disputes"

urlpatterns = [
    path("", views.dispute_list, name="list"),
    path("new/<int:transaction_id>/", views.dispute_start, name="start"),
    path("<int:dispute_id>/", views.dispute_detail, name="detail"),
    path("<int:dispute_id>/add/", views.dispute_add_info, name="add_info"),
    path("<int:dispute_id>/files/<int:attachment_id>/", views.attachment_download, name="attachment"),
]
