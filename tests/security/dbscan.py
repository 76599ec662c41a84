"""Look for a secret anywhere in the database: every column of every row of every
model, and the decoded session data."""

from __future__ import annotations

from django.apps import apps
from django.contrib.sessions.models import Session
from django.db import connection


def rows_containing(secret: str) -> list[str]:
    """Where ``secret`` (case-insensitive, with or without a hyphen) appears."""
    wanted = {secret.lower(), secret.lower().replace("-", "")}
    found = []
    tables = set(connection.introspection.table_names())
    for model in apps.get_models():
        if model._meta.db_table not in tables:
            continue  # a table that does not exist holds no rows
        fields = [f.attname for f in model._meta.concrete_fields]
        for row in model._base_manager.values_list(*fields):
            text = " ".join(str(value) for value in row).lower()
            if any(w in text for w in wanted):
                found.append(f"{model._meta.label}: {text[:120]}")
    for session in Session.objects.all():
        if any(w in str(session.get_decoded()).lower() for w in wanted):
            found.append("session data")
    return found
