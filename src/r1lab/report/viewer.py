"""The trace viewer: one self-contained HTML page to read a run's samples, problem by problem.

An R1-style run of MATH-500 with 4 samples is ~2,000 traces of 10-20k characters: 30 MB of
text. Rendered as DOM that page would take seconds to open and scroll badly, so the page keeps
the text out of the DOM until someone asks for it:

- a small JSON block (``r1-meta``) holds what the problem list needs: ids, problems, gold
  answers, subject/level, pass rates and per-sample outcome/answer/finish reason/length;
- each problem's sample texts are a separate ``<script type="application/x-r1-gzip">`` block
  (gzip, base64; the browser's ``DecompressionStream`` inflates one when a sample is opened);
- the problem list is paginated, filtered and searched in JavaScript, and its state lives in the
  URL hash (``#show=wrong&subject=Algebra&problem=ID&sample=2``), so a link opens a problem.

No network, no CDN, no external file: the script (``viewer.js``), style (``viewer.css``) and the
math renderer (``r1lab.report.math``: vendored KaTeX drawing MathML, once per page) are inlined.
The page opens from disk or an email attachment. Formulas are drawn only as they come on screen,
and each sample shows the span the grader read as its answer (``h``) and the extraction tier
(``t``), highlighted inside the drawn math.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["PAGE_SIZE", "render_viewer", "write_viewer"]

#: Problems per page of the list: a page renders in a few milliseconds whatever the run size.
PAGE_SIZE = 25


def _asset(name: str) -> str:
    return (resources.files("r1lab.report") / name).read_text(encoding="utf-8")


def _script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element (no "</script>" can close it early)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def _pack(texts: Sequence[str], reasoning: Sequence[str]) -> str:
    payload = json.dumps({"t": list(texts), "r": list(reasoning)}, ensure_ascii=False).encode("utf-8")
    return base64.b64encode(gzip.compress(payload, compresslevel=6, mtime=0)).decode("ascii")


def _meta_problem(index: int, problem: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "i": index,
        "id": problem["id"],
        "p": problem.get("problem") or "",
        "g": problem.get("gold"),
        "sub": problem.get("subject"),
        "lvl": problem.get("level"),
        "rate": problem.get("pass_rate"),
        "dis": bool(problem.get("disagree")),
        "s": [
            {
                "x": s.get("extracted"),
                "o": s.get("outcome"),
                "f": s.get("finish_reason"),
                "n": s.get("tokens"),
                "c": s.get("chars"),
                "t": s.get("tier"),
                "h": s.get("span"),
            }
            for s in problem.get("samples", [])
        ],
    }


def render_viewer(
    problems: Sequence[Mapping[str, Any]], *, title: str, header: Mapping[str, str] | None = None
) -> str:
    """The page as text. ``problems``: dicts from ``r1lab.evaluation.samples.viewer_problem``."""
    meta = {
        "title": title,
        "header": dict(header or {}),
        "page_size": PAGE_SIZE,
        "problems": [_meta_problem(i, p) for i, p in enumerate(problems)],
    }
    from r1lab.report.math import math_css, math_script

    blocks = "\n".join(
        f'<script type="application/x-r1-gzip" id="t-{i}">{_pack(p.get("texts", []), p.get("reasoning", []))}</script>'
        for i, p in enumerate(problems)
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{_asset('viewer.css')}{math_css()}</style>\n</head>\n<body>\n"
        f'<header><h1>{html.escape(title)}</h1><dl id="settings"></dl><div id="summary"></div></header>\n'
        '<nav id="controls"></nav>\n<main id="list"><p class="note">Loading... (this page needs JavaScript)</p></main>\n'
        '<nav id="pager"></nav>\n'
        f'<script type="application/json" id="r1-meta">{_script_json(meta)}</script>\n'
        f"{blocks}\n<script>\n{math_script()}\n;\n{_asset('viewer.js')}</script>\n</body>\n</html>\n"
    )


def write_viewer(
    path: str | os.PathLike,
    problems: Sequence[Mapping[str, Any]],
    *,
    title: str,
    header: Mapping[str, str] | None = None,
) -> Path:
    """Write the viewer page atomically (temp file + rename); returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_viewer(problems, title=title, header=header), encoding="utf-8")
    os.replace(tmp, path)
    return path
