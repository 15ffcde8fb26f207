"""Markdown tables and self-contained HTML pages for run reports.

Reports are files people mail around and open offline, so an HTML page built here carries
everything inside it: the CSS inline and every plot as a base64 ``data:`` URI. No network. No
JavaScript either, except on a page made with ``math=True``: it carries the math renderer once
(``r1lab.report.math``) and ``tex()`` blocks are drawn as math on screen, their source a click
away. The same helpers serve evaluation reports, the leaderboard and the demo report.

Typical use::

    page = HtmlPage("MATH-500: my-model")
    page.heading("Metrics")
    page.table(["metric", "value"], [["pass@1", "83.9%"]], numeric_columns={1})
    page.image("length_hist.png", caption="Response length (tokens)")
    page.write("report.html")
"""

from __future__ import annotations

import base64
import html
import os
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "HtmlPage",
    "answer_html",
    "fmt_number",
    "markdown_table",
    "percent",
    "png_data_uri",
    "tex_html",
]


def percent(value: float | None, stderr: float | None = None, digits: int = 1) -> str:
    """A fraction as a percentage, with its standard error when known: ``83.9 ± 1.2``; ``-`` for None."""
    if value is None:
        return "-"
    text = f"{100 * value:.{digits}f}"
    if stderr is not None:
        text += f" ± {100 * stderr:.{digits}f}"
    return text


def fmt_number(value: Any, digits: int = 1) -> str:
    """A number for a table cell: integers as is, floats rounded, None as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _md_cell(value: Any) -> str:
    # A pipe inside a cell would split it; a newline would end the row.
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric_columns: Iterable[int] = ()
) -> str:
    """A GitHub-flavoured Markdown table; ``numeric_columns`` (indices) are right-aligned."""
    right = set(numeric_columns)
    lines = [
        "| " + " | ".join(_md_cell(h) for h in headers) + " |",
        "|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|",
    ]
    for row in rows:
        cells = [_md_cell(c) for c in row]
        cells += [""] * (len(headers) - len(cells))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def png_data_uri(png: str | os.PathLike | bytes) -> str:
    """A PNG file (path) or its bytes as a ``data:image/png;base64,...`` URI."""
    data = png if isinstance(png, bytes) else Path(png).read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


_LATEX_CHARS = re.compile(r"[\\^_{}]")


def tex_html(text: str, *, tag: str = "div", css_class: str = "", mark: tuple[int, int] | None = None) -> str:
    """An element whose text a math page draws (``class="r1tex"``); ``mark``: (start, end) to highlight."""
    classes = html.escape(" ".join(c for c in ("r1tex", css_class) if c))
    if mark and "\r" in text:  # the HTML parser turns CR LF into LF: the offsets move with it
        mark = (mark[0] - text.count("\r\n", 0, mark[0]), mark[1] - text.count("\r\n", 0, mark[1]))
    text = text.replace("\r\n", "\n")
    if tag == "pre" and text.startswith("\n"):  # the parser drops one newline opening a <pre>
        text = "\n" + text
    attr = f' data-mark="{int(mark[0])},{int(mark[1])}"' if mark else ""
    return f'<{tag} class="{classes}"{attr}>{html.escape(text)}</{tag}>'


def answer_html(answer: object) -> str:
    """A short answer: drawn as one formula when it is LaTeX (``\\frac{1}{2}``), else as code."""
    if answer is None:
        return "<code>(none)</code>"
    text = str(answer)
    if _LATEX_CHARS.search(text) and "\\)" not in text:
        return tex_html(f"\\({text}\\)", tag="span", css_class="answer-tex")
    return f"<code>{html.escape(text)}</code>"


def default_css() -> str:
    """The stylesheet bundled with r1lab (``report/style.css``)."""
    return (resources.files("r1lab.report") / "style.css").read_text(encoding="utf-8")


class HtmlPage:
    """Build a self-contained HTML page piece by piece; every method returns ``self``.

    Text is escaped; only ``raw()`` inserts HTML as given.
    """

    def __init__(self, title: str, css: str | None = None, *, math: bool = False):
        self.title = title
        self.css = default_css() if css is None else css
        self.math = math
        self._parts: list[str] = [f"<h1>{html.escape(title)}</h1>"]

    def heading(self, text: str, level: int = 2) -> HtmlPage:
        level = min(max(level, 1), 6)
        self._parts.append(f"<h{level}>{html.escape(text)}</h{level}>")
        return self

    def paragraph(self, text: str, css_class: str | None = None) -> HtmlPage:
        cls = f' class="{html.escape(css_class)}"' if css_class else ""
        self._parts.append(f"<p{cls}>{html.escape(text)}</p>")
        return self

    def preformatted(self, text: str) -> HtmlPage:
        self._parts.append(f"<pre>{html.escape(text)}</pre>")
        return self

    def tex(
        self, text: str, *, tag: str = "div", css_class: str = "", mark: tuple[int, int] | None = None
    ) -> HtmlPage:
        """Text whose LaTeX is drawn as math on a ``math=True`` page (shown as written otherwise)."""
        self._parts.append(tex_html(text, tag=tag, css_class=css_class, mark=mark))
        return self

    def table(
        self,
        headers: Sequence[str],
        rows: Iterable[Sequence[Any]],
        numeric_columns: Iterable[int] = (),
        highlight: Iterable[tuple[int, int]] = (),
    ) -> HtmlPage:
        """A table; ``numeric_columns`` are right-aligned, ``highlight`` (row, col) cells are marked best."""
        right = set(numeric_columns)
        marked = set(highlight)
        head = "".join(
            f'<th class="num">{html.escape(str(h))}</th>' if i in right else f"<th>{html.escape(str(h))}</th>"
            for i, h in enumerate(headers)
        )
        body = []
        for r, row in enumerate(rows):
            cells = []
            for c, value in enumerate(row):
                classes = " ".join(
                    x for x in ("num" if c in right else "", "best" if (r, c) in marked else "") if x
                )
                attr = f' class="{classes}"' if classes else ""
                cells.append(f"<td{attr}>{html.escape(str(value))}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        self._parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")
        return self

    def image(self, png: str | os.PathLike | bytes, caption: str = "", alt: str | None = None) -> HtmlPage:
        """Embed a PNG (path or bytes) inline as base64, with an optional caption."""
        alt_text = html.escape(alt if alt is not None else caption or "plot")
        figure = f'<figure><img src="{png_data_uri(png)}" alt="{alt_text}">'
        if caption:
            figure += f"<figcaption>{html.escape(caption)}</figcaption>"
        self._parts.append(figure + "</figure>")
        return self

    def raw(self, fragment: str) -> HtmlPage:
        """Insert an HTML fragment as is (the caller escapes it)."""
        self._parts.append(fragment)
        return self

    def render(self, footer: str | None = None) -> str:
        foot = f"<footer>{html.escape(footer)}</footer>" if footer else ""
        head, script = "", ""
        if self.math:
            from r1lab.report.math import math_head, typeset_script

            head, script = math_head() + "\n", typeset_script() + "\n"
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(self.title)}</title>\n<style>\n{self.css}</style>\n{head}</head>\n<body>\n"
            + "\n".join(self._parts)
            + f"\n{foot}\n{script}</body>\n</html>\n"
        )

    def write(self, path: str | os.PathLike, footer: str | None = None) -> Path:
        """Write the page atomically (temp file + rename) and return its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.render(footer), encoding="utf-8")
        os.replace(tmp, path)
        return path
