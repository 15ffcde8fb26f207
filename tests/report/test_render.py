"""Markdown tables and self-contained HTML pages."""

import base64
import re

from r1lab.report.render import HtmlPage, fmt_number, markdown_table, percent, png_data_uri

PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def test_markdown_table_aligns_and_escapes():
    text = markdown_table(["name", "score"], [["a|b", "83.9"], ["multi\nline"]], numeric_columns={1})
    lines = text.splitlines()
    assert lines[0] == "| name | score |"
    assert lines[1] == "|---|---:|"
    assert lines[2] == "| a\\|b | 83.9 |"
    assert lines[3] == "| multi line |  |"  # short rows are padded, newlines flattened


def test_percent_and_numbers():
    assert percent(0.839) == "83.9"
    assert percent(0.5, 0.0123) == "50.0 ± 1.2"
    assert percent(None) == "-"
    assert fmt_number(32768) == "32,768"
    assert fmt_number(12.345) == "12.3"
    assert fmt_number(None) == "-"


def test_html_page_is_self_contained(tmp_path):
    png = tmp_path / "plot.png"
    png.write_bytes(PNG_1X1)
    page = HtmlPage("Run <1>")
    page.heading("Metrics").table(
        ["metric", "value"], [["pass@1", "50.0"]], numeric_columns={1}, highlight={(0, 1)}
    )
    page.image(png, caption="a & b").paragraph("note <b>", "note")
    out = page.write(tmp_path / "sub" / "report.html", footer="r1lab")
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>Run &lt;1&gt;</title>" in html
    assert png_data_uri(PNG_1X1) in html  # the image is inline, base64
    assert "note &lt;b&gt;" in html and "a &amp; b" in html
    assert '<td class="num best">50.0</td>' in html
    assert "<style>" in html and "border-collapse" in html
    # nothing is fetched from elsewhere
    assert not re.search(r'(src|href)="(?!data:)', html)
