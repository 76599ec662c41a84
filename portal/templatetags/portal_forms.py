"""Template helpers for GOV.UK-style form fields and small display formats."""

from __future__ import annotations

import datetime as dt

from django import template
from django.forms import BoundField

register = template.Library()


def hint_id(field: BoundField) -> str:
    return f"{field.auto_id}-hint"


def error_id(field: BoundField) -> str:
    return f"{field.auto_id}-error"


@register.simple_tag
def form_input(field: BoundField, hint: str = "", width: str = "", **attrs: str) -> str:
    """Render a field's widget with the hooks the field template needs.

    Adds the input class (and its error variant), points ``aria-describedby`` at the hint
    and the inline error, and passes any other keyword on as an HTML attribute
    (``autocomplete="username"``, ``inputmode="numeric"``); empty values are dropped so a
    template can pass optional ones through.
    """
    described_by = []
    if hint or field.help_text:
        described_by.append(hint_id(field))
    if field.errors:
        described_by.append(error_id(field))

    if field.widget_type == "checkbox":
        classes = ["checkbox__input"]
    else:
        classes = ["input"]
        if width:
            classes.append(f"input--width-{width}")
        if field.errors:
            classes.append("input--error")

    widget_attrs = {name.replace("_", "-"): value for name, value in attrs.items() if value not in (None, "")}
    widget_attrs["class"] = " ".join(classes)
    if described_by:
        widget_attrs["aria-describedby"] = " ".join(described_by)
    return field.as_widget(attrs=widget_attrs)


@register.filter
def first_visible_field_id(form) -> str:
    """Where an error that belongs to no single field should send the reader."""
    fields = form.visible_fields()
    return fields[0].id_for_label if fields else ""


@register.filter
def duration_minutes(value: dt.timedelta | None) -> int | str:
    if not isinstance(value, dt.timedelta):
        return ""
    return int(value.total_seconds() // 60)
