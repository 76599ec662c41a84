"""CardRequest.idempotency_key: added empty, filled with a fresh random key on every
existing row, then made unique and required (Django's recipe for adding a unique field
to a table that has rows)."""

import secrets

from django.db import migrations, models

import cards.models


def keys_fill(apps, schema_editor):
    CardRequest = apps.get_model("cards", "CardRequest")
    for card_request in CardRequest.objects.filter(idempotency_key__isnull=True).only("pk").iterator():
        card_request.idempotency_key = "req_" + secrets.token_urlsafe(24)
        card_request.save(update_fields=["idempotency_key"])


class Migration(migrations.Migration):

    dependencies = [
        ("cards", "0007_card_key_versions"),
    ]

    operations = [
        migrations.AddField(
            model_name="cardrequest",
            name="idempotency_key",
            field=models.CharField(max_length=64, null=True, editable=False),
        ),
        migrations.RunPython(keys_fill, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="cardrequest",
            name="idempotency_key",
            field=models.CharField(
                default=cards.models.card_request_key_new, editable=False, max_length=64, unique=True
            ),
        ),
    ]
