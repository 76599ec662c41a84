from django.apps import AppConfig


class CardsConfig(AppConfig):
    name = "cards"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, pre_delete

        from . import selectors
        from .models import BusinessProgram

        # The header's "Business" link is cached per user: drop it when rights change.
        m2m_changed.connect(
            selectors.program_administrators_changed,
            sender=BusinessProgram.administrators.through,
            dispatch_uid="cards.business_admin_flag",
        )
        pre_delete.connect(selectors.program_deleted, sender=BusinessProgram, dispatch_uid="cards.business_deleted")
