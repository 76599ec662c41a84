"""Staff roles: the groups people work the staff console (the Django admin) through.

Each group holds the least its work needs. The staff actions (verify identity, unlock,
restore access, freeze a card...) check a permission of their own, so holding "change
user" or "change card" is never what lets someone act.

The groups are written from this table by the data migration ``accounts/0003`` and again
after every ``migrate`` (``accounts.apps``): a model added later then gets its
permissions (Administrators hold every permission there is), and a group edited by hand
in the admin is put back to what is written here. Change a role here, not in the admin.
"""

from __future__ import annotations

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Q

CUSTOMER_SERVICE = "Customer service"
DISPUTES = "Disputes"
FRAUD = "Fraud"
ADMINISTRATORS = "Administrators"

# What staff may do beyond viewing and editing rows. "app_label.codename": (model, name).
# Kept here rather than in each model's Meta.permissions so that the whole of what staff
# may do reads in one place; the sync below creates them.
STAFF_PERMISSIONS: dict[str, tuple[str, str]] = {
    "accounts.verify_identity": ("user", "Can record an identity verification"),
    "accounts.unlock_user": ("user", "Can unlock a locked User ID"),
    "accounts.restore_access": ("user", "Can reset two-step verification, replace a contact or send a recovery link"),
    "accounts.resend_user_id": ("user", "Can send a cardholder their User ID"),
    "accounts.change_user_id": ("user", "Can change a User ID"),
    "accounts.manage_staff": ("user", "Can manage staff logins, their groups and their access"),
    "cards.freeze_card": ("card", "Can freeze a card"),
}

ALL = "__all__"

GROUP_PERMISSIONS: dict[str, tuple[str, ...] | str] = {
    # Find the cardholder, check who is calling, and get them back in.
    CUSTOMER_SERVICE: (
        "accounts.view_cardholder",
        "accounts.view_user",
        "accounts.verify_identity",
        "accounts.unlock_user",
        "accounts.restore_access",
        "accounts.resend_user_id",
        "cards.view_card",
        "cards.view_cardaccount",
        "cards.view_transaction",
        "security.view_identityverification",
    ),
    # The dispute queue (cards/admin_payments.py): work disputes, read the charges.
    DISPUTES: (
        "cards.view_transaction",
        "cards.view_dispute",
        "cards.change_dispute",
        "cards.view_disputeevent",
        "cards.view_disputeattachment",
    ),
    # Read the audit trail and risk reasons; stop a card.
    FRAUD: (
        "accounts.view_cardholder",
        "accounts.view_user",
        "security.view_securityevent",
        "security.view_trusteddevice",
        "security.view_usersession",
        "cards.view_card",
        "cards.view_cardaccount",
        "cards.view_transaction",
        "cards.view_cardcheckfailure",
        "cards.freeze_card",
    ),
    # Everything but superuser status.
    ADMINISTRATORS: ALL,
}


def _all_model_permissions_create(*, apps, using: str) -> None:
    """Django creates model permissions after ``migrate`` (post_migrate); inside a
    migration they may not exist yet, so make them here (it skips existing ones)."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # Apps rebuilt from migrations have no models module, which create_permissions
        # takes to mean "no models".
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        try:
            create_permissions(app_config, verbosity=0, using=using, apps=apps)
        finally:
            app_config.models_module = original


def _permissions(Permission, labels, *, using: str):
    condition = Q()
    for label in labels:
        app_label, codename = label.split(".", 1)
        condition |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.using(using).filter(condition)) if labels else []


def staff_groups_sync(*, apps=global_apps, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create the staff permissions and set each group's permissions to the table above.
    Idempotent. A permission of a model that does not exist yet is granted once it does
    (the next ``migrate``)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")

    _all_model_permissions_create(apps=apps, using=using)
    for label, (model, name) in STAFF_PERMISSIONS.items():
        app_label, codename = label.split(".", 1)
        content_type, _ = ContentType.objects.using(using).get_or_create(app_label=app_label, model=model)
        Permission.objects.using(using).get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
    for group_name, labels in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=group_name)
        if labels == ALL:
            group.permissions.set(Permission.objects.using(using).all())
        else:
            group.permissions.set(_permissions(Permission, labels, using=using))
