"""Report building blocks: plots (PNG) and rendering (Markdown tables, self-contained HTML).

Reports read files (results.json, metrics.jsonl), never live objects, so any finished run
directory can be re-rendered. ``r1lab.report.render`` is import-light; ``r1lab.report.plots``
imports matplotlib when a plot is drawn.
"""

from r1lab.report.render import HtmlPage, fmt_number, markdown_table, percent, png_data_uri

__all__ = ["HtmlPage", "fmt_number", "markdown_table", "percent", "png_data_uri"]
