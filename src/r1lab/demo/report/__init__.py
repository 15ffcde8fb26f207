"""The demo's report: ``results.json`` (the numbers), ``report.md`` and a self-contained ``report.html``.

Split by section: ``numbers`` reads every number back from the files the stages wrote and builds
results.json, ``figures`` draws the PNGs, ``traces`` picks sample answers, ``tables`` formats the
tables, ``pages`` writes the HTML (CSS inline, plots as base64 PNGs, no JavaScript) and Markdown.
"""

from __future__ import annotations

from r1lab.demo.report.numbers import SCHEMA, build_results, headline, model_numbers, working_share
from r1lab.demo.report.pages import write_report

__all__ = ["SCHEMA", "build_results", "headline", "model_numbers", "working_share", "write_report"]
