"""Server-rendered, accessible SVG charts.

The CSP forbids inline ``style`` attributes and scripts, so charts are plain SVG drawn
with presentation attributes (``fill``, ``x``, ``width``...), which the CSP allows.

Each chart is one ``role="img"`` element named by its ``<title>`` and described by a
``<desc>`` that reads every number out, so a screen reader gets the whole chart in one
stop; pages still show the same numbers in a table beside it (UI.md).

Layout: one row per item, the label on the left and the amount on the right of a text
line, the bar underneath. Stacking text above the bar keeps the chart narrow enough to
stay legible on a 390 px phone screen (the viewBox is about a phone's content width).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from portal.money import format_money, quantize

WIDTH = 320
PADDING = 4
ROW_HEIGHT = 46
TEXT_BASELINE = 17  # within a row
BAR_OFFSET = 24  # within a row
BAR_HEIGHT = 14
FONT_SIZE = 14
FONT_FAMILY = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif"
# Labels longer than this are shortened on the drawing only; <desc> and the table carry them whole.
LABEL_MAX_CHARS = 24

BAR_FILL = "#1d4fa8"  # --link: 7.3:1 on white, well above the 3:1 UI-component minimum
CREDIT_FILL = "#4d5660"  # --text-secondary: credits (net negative) differ in fill *and* in the signed amount
TRACK_FILL = "#e8eef8"  # --brand-tint: the empty part of each row, decorative
TEXT_FILL = "#1b1f24"
AXIS_STROKE = "#5f6b76"


def _chart_id(title: str, items: list[tuple[str, Decimal]]) -> str:
    # Stable for the same content (snapshot-friendly), distinct for different charts on a page.
    digest = hashlib.sha256(repr((title, [(label, str(value)) for label, value in items])).encode()).hexdigest()
    return f"chart-{digest[:10]}"


def _shorten(label: str) -> str:
    return label if len(label) <= LABEL_MAX_CHARS else label[: LABEL_MAX_CHARS - 1].rstrip() + "…"


def _fmt(value: Decimal) -> str:
    # Trim to what the picture needs; callers pass exact Decimals.
    return f"{value:.2f}".rstrip("0").rstrip(".") if value else "0"


def _describe(items: list[tuple[str, Decimal]], currency: str) -> str:
    if not items:
        return "No amounts to show."
    parts = []
    for label, value in items:
        text = f"{label}: {format_money(value, currency)}"
        if value < 0:
            text += " (a net credit)"
        parts.append(text)
    total = sum((value for _, value in items), Decimal("0"))
    noun = "item" if len(items) == 1 else "items"
    return f"{len(items)} {noun}. " + "; ".join(parts) + f". Total: {format_money(total, currency)}."


def bar_chart_svg(
    *,
    title: str,
    items: list[tuple[str, Decimal]],
    currency: str = "USD",
    chart_id: str | None = None,
) -> SafeString:
    """A horizontal bar chart of ``items`` (label, amount) as an accessible inline SVG.

    Negative amounts (for example a category whose refunds outweigh its purchases) are
    drawn to the left of a zero line, in a different fill, with their minus sign in the
    amount text. Empty input yields a small chart that says there is nothing to show.
    """
    items = [(str(label), quantize(value)) for label, value in items]
    chart_id = chart_id or _chart_id(title, items)
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"

    rows = max(len(items), 1)
    height = PADDING * 2 + rows * ROW_HEIGHT
    inner_width = WIDTH - PADDING * 2

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}" '
        f'font-family="{FONT_FAMILY}" font-size="{FONT_SIZE}">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(_describe(items, currency))}</desc>',
    ]

    if not items:
        parts.append(
            f'<text x="{PADDING}" y="{PADDING + TEXT_BASELINE}" fill="{TEXT_FILL}">Nothing to show yet.</text>'
        )
        parts.append("</svg>")
        return mark_safe("".join(parts))  # noqa: S308 - every dynamic part above is escaped

    low = min(Decimal("0"), *(value for _, value in items))
    high = max(Decimal("0"), *(value for _, value in items))
    span = high - low
    # All zero: no scale to speak of; draw empty tracks rather than dividing by zero.
    scale = Decimal(inner_width) / span if span else Decimal("0")
    zero_x = PADDING + (-low * scale)

    for index, (label, value) in enumerate(items):
        top = PADDING + index * ROW_HEIGHT
        bar_y = top + BAR_OFFSET
        bar_width = abs(value) * scale
        bar_x = zero_x - bar_width if value < 0 else zero_x
        fill = CREDIT_FILL if value < 0 else BAR_FILL
        parts.append('<g class="bar-chart__row">')
        parts.append(
            f'<text x="{PADDING}" y="{top + TEXT_BASELINE}" fill="{TEXT_FILL}">{escape(_shorten(label))}</text>'
        )
        parts.append(
            f'<text x="{WIDTH - PADDING}" y="{top + TEXT_BASELINE}" fill="{TEXT_FILL}" text-anchor="end" '
            f'font-weight="600">{escape(format_money(value, currency))}</text>'
        )
        parts.append(
            f'<rect x="{PADDING}" y="{bar_y}" width="{inner_width}" height="{BAR_HEIGHT}" fill="{TRACK_FILL}"/>'
        )
        parts.append(
            f'<rect x="{_fmt(bar_x)}" y="{bar_y}" width="{_fmt(bar_width)}" height="{BAR_HEIGHT}" fill="{fill}"/>'
        )
        parts.append("</g>")

    if low < 0:
        # The zero line only carries meaning when some bars go left of it.
        parts.append(
            f'<line x1="{_fmt(zero_x)}" x2="{_fmt(zero_x)}" y1="{PADDING}" y2="{height - PADDING}" '
            f'stroke="{AXIS_STROKE}" stroke-width="1"/>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every dynamic part above is escaped
