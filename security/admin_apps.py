from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    """``django.contrib.admin`` with the staff console (security.admin_site: two-step
    verification required) as its default site. INSTALLED_APPS lists it in place of
    ``django.contrib.admin``; it lives outside security/apps.py so that app keeps one
    AppConfig."""

    default_site = "security.admin_site.StaffAdminSite"
