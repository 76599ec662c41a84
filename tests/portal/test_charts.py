import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.utils.safestring import SafeString

from portal.charts import LABEL_MAX_CHARS, bar_chart_svg

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def bars(root: ET.Element) -> list[ET.Element]:
    # Each row draws a full-width track first, then the bar itself.
    return [row.findall(f"{SVG}rect")[1] for row in root.findall(f"{SVG}g")]


def test_chart_is_an_image_named_by_its_title_and_described_with_every_number():
    svg = bar_chart_svg(
        title="Spending by category",
        items=[("Groceries", Decimal("120.50")), ("Travel", Decimal("1234.00"))],
    )
    root = parse(svg)

    assert isinstance(svg, SafeString)
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    assert root.find(f"{SVG}title").text == "Spending by category"
    desc = root.find(f"{SVG}desc")
    assert desc.get("id") == desc_id
    assert desc.text == "2 items. Groceries: $120.50; Travel: $1,234.00. Total: $1,354.50."


def test_longest_bar_fills_the_width_and_others_scale_to_it():
    root = parse(
        bar_chart_svg(title="Spend", items=[("A", Decimal("50")), ("B", Decimal("100")), ("C", Decimal("25"))])
    )
    widths = [float(bar.get("width")) for bar in bars(root)]
    track = float(root.find(f"{SVG}g").findall(f"{SVG}rect")[0].get("width"))

    assert widths == [track / 2, track, track / 4]


def test_labels_and_title_are_escaped():
    svg = bar_chart_svg(
        title='Spend <script>alert("t")</script>',
        items=[('<img src=x onerror="alert(1)">', Decimal("10")), ("Tom & Jerry's", Decimal("5"))],
    )
    root = parse(svg)  # still well-formed XML

    assert "<script>" not in svg
    assert "<img" not in svg
    assert root.find(f"{SVG}title").text == 'Spend <script>alert("t")</script>'
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Tom & Jerry's" in texts


def test_no_inline_style_or_script():
    svg = bar_chart_svg(title="Spend", items=[("A", Decimal("1")), ("B", Decimal("-1"))])

    assert "style=" not in svg
    assert "<script" not in svg
    assert not re.search(r"\son\w+=", svg)


def test_empty_data_says_there_is_nothing_to_show():
    root = parse(bar_chart_svg(title="Spend", items=[]))

    assert root.get("role") == "img"
    assert root.find(f"{SVG}desc").text == "No amounts to show."
    assert [t.text for t in root.iter(f"{SVG}text")] == ["Nothing to show yet."]
    assert root.findall(f"{SVG}rect") == []


def test_all_zero_values_draw_empty_bars_without_dividing_by_zero():
    root = parse(bar_chart_svg(title="Spend", items=[("A", Decimal("0")), ("B", Decimal("0.00"))]))

    assert [bar.get("width") for bar in bars(root)] == ["0", "0"]
    assert root.find(f"{SVG}desc").text == "2 items. A: $0.00; B: $0.00. Total: $0.00."


def test_negative_value_is_drawn_left_of_a_zero_line_and_named_a_credit():
    root = parse(bar_chart_svg(title="Net", items=[("Purchases", Decimal("300")), ("Refunds", Decimal("-100"))]))
    positive, negative = bars(root)
    zero_line = root.find(f"{SVG}line")

    zero_x = float(zero_line.get("x1"))
    assert float(positive.get("x")) == pytest.approx(zero_x)
    assert float(negative.get("x")) + float(negative.get("width")) == pytest.approx(zero_x)
    assert float(positive.get("width")) == pytest.approx(3 * float(negative.get("width")))
    assert positive.get("fill") != negative.get("fill")
    assert "Refunds: -$100.00 (a net credit)" in root.find(f"{SVG}desc").text
    assert "-$100.00" in [t.text for t in root.iter(f"{SVG}text")]


def test_only_positive_values_need_no_zero_line():
    root = parse(bar_chart_svg(title="Spend", items=[("A", Decimal("1"))]))

    assert root.find(f"{SVG}line") is None
    assert root.find(f"{SVG}desc").text == "1 item. A: $1.00. Total: $1.00."


def test_currency_is_used_in_the_amounts():
    root = parse(bar_chart_svg(title="Spend", items=[("Hotel", Decimal("80"))], currency="EUR"))

    assert "€80.00" in [t.text for t in root.iter(f"{SVG}text")]


def test_long_labels_are_shortened_on_the_drawing_but_whole_in_the_description():
    label = "Professional services and membership organizations"
    root = parse(bar_chart_svg(title="Spend", items=[(label, Decimal("10"))]))

    drawn = root.find(f"{SVG}g").find(f"{SVG}text").text
    assert drawn.endswith("…")
    assert len(drawn) <= LABEL_MAX_CHARS
    assert label in root.find(f"{SVG}desc").text


def test_two_different_charts_get_different_ids_and_a_chosen_id_is_kept():
    first = parse(bar_chart_svg(title="This month", items=[("A", Decimal("1"))]))
    second = parse(bar_chart_svg(title="Last month", items=[("A", Decimal("1"))]))
    chosen = parse(bar_chart_svg(title="Spend", items=[], chart_id="spend-chart"))

    assert first.get("id") != second.get("id")
    assert chosen.get("id") == "spend-chart"
    assert chosen.get("aria-labelledby") == "spend-chart-title spend-chart-desc"
