"""Sample traces for the report: a few test problems, each model's first answer, disagreements first.

The report draws their LaTeX as math (``HtmlPage(math=True)``) and marks in each response the
span the grader read as its answer, with the extraction tier.
"""

from __future__ import annotations

import html
from typing import Any

from r1lab.demo.config import MODEL_TITLES
from r1lab.demo.report.numbers import details, full_response
from r1lab.demo.stages import Paths
from r1lab.evaluation.samples import answer_location
from r1lab.report.render import answer_html, tex_html


def pick_traces(paths: Paths, count: int, models: tuple[str, ...]) -> list[dict[str, Any]]:
    """A few test problems with each model's first sample: those where the models disagree first."""
    per_model = {name: {row["id"]: row for row in details(paths, name)} for name in models}
    per_model = {k: v for k, v in per_model.items() if v}
    if not per_model:
        return []
    ids = sorted(set.intersection(*(set(rows) for rows in per_model.values())))

    def verdicts(pid: str) -> tuple[bool, ...]:
        return tuple(bool(rows[pid]["correct"][0]) for rows in per_model.values())

    disagree = [pid for pid in ids if len(set(verdicts(pid))) > 1]
    chosen = (disagree + [pid for pid in ids if pid not in disagree])[:count]
    traces = []
    for pid in chosen:
        any_row = next(iter(per_model.values()))[pid]
        responses = {}
        for name, rows in per_model.items():
            row, text = rows[pid], full_response(rows[pid])
            reason = (row.get("finish_reasons") or [None])[0]
            tier, span = answer_location(text, row["extracted"][0], reason)
            responses[name] = {
                "text": text,
                "extracted": row["extracted"][0],
                "correct": bool(row["correct"][0]),
                "tier": tier,
                "span": list(span) if span else None,
            }
        traces.append(
            {
                "id": pid,
                "problem": any_row["problem"],
                "gold": any_row["gold"],
                "responses": responses,
            }
        )
    return traces


def trace_html(trace: dict[str, Any]) -> str:
    """One problem with each model's response: LaTeX drawn as math, the graded answer marked."""
    parts = [
        '<div class="trace">',
        f"<p>{tex_html(trace['problem'], tag='b')} &nbsp; gold answer: {answer_html(trace['gold'])}</p>",
        '<div class="trace-row">',
    ]
    for name, response in trace["responses"].items():
        mark = "✓" if response["correct"] else "✗"
        cls = "ok" if response["correct"] else "bad"
        span = response.get("span")
        tier = response.get("tier")
        read = f' <span class="tier">({html.escape(tier)})</span>' if tier else ""
        parts.append(
            f'<div class="trace-cell"><div class="trace-head {cls}">{mark} {html.escape(MODEL_TITLES[name])}'
            f" → {answer_html(response['extracted'])}{read}</div>"
            + tex_html(response["text"], tag="pre", css_class="tx", mark=tuple(span) if span else None)
            + "</div>"
        )
    parts.append("</div></div>")
    return "".join(parts)
