"""Sample traces for the report: a few test problems, each model's first answer, disagreements first."""

from __future__ import annotations

import html
from typing import Any

from r1lab.demo.config import MODEL_TITLES
from r1lab.demo.report.numbers import details, full_response
from r1lab.demo.stages import Paths


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
        traces.append(
            {
                "id": pid,
                "problem": any_row["problem"],
                "gold": any_row["gold"],
                "responses": {
                    name: {
                        "text": full_response(rows[pid]),
                        "extracted": rows[pid]["extracted"][0],
                        "correct": bool(rows[pid]["correct"][0]),
                    }
                    for name, rows in per_model.items()
                },
            }
        )
    return traces


def trace_html(trace: dict[str, Any]) -> str:
    parts = [
        '<div class="trace">',
        f"<p><b>{html.escape(trace['problem'])}</b> &nbsp; gold answer: <code>{html.escape(trace['gold'])}</code></p>",
        '<div class="trace-row">',
    ]
    for name, response in trace["responses"].items():
        mark = "✓" if response["correct"] else "✗"
        cls = "ok" if response["correct"] else "bad"
        parts.append(
            f'<div class="trace-cell"><div class="trace-head {cls}">{mark} {html.escape(MODEL_TITLES[name])}'
            f" → <code>{html.escape(str(response['extracted']))}</code></div>"
            f"<pre>{html.escape(response['text'])}</pre></div>"
        )
    parts.append("</div></div>")
    return "".join(parts)
