"""Clear the form data django-axes kept with failed sign-ins before its sensitive field
names were configured (portal/settings.py, AXES_SENSITIVE_PARAMETERS): those rows hold
passwords, and card numbers typed as User IDs, as typed."""

from django.db import migrations


def post_data_clear(apps, schema_editor):
    AccessAttempt = apps.get_model("axes", "AccessAttempt")
    AccessAttempt.objects.exclude(post_data="").update(post_data="")


class Migration(migrations.Migration):
    dependencies = [
        ("security", "0006_payment_event_kinds"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(post_data_clear, migrations.RunPython.noop)]
