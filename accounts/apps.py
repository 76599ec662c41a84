from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate


def _staff_groups_after_migrate(sender, using, apps=global_apps, **kwargs):
    from .staff_roles import staff_groups_sync

    staff_groups_sync(apps=apps, using=using)


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the signal receivers

        # The staff groups follow accounts.staff_roles after every migrate (and after a
        # test database is flushed), so new models' permissions reach them.
        post_migrate.connect(_staff_groups_after_migrate, sender=self, dispatch_uid="accounts.staff_groups")
