"""Published scores to compare a run against: DeepSeek's and Open-R1's numbers for R1-Distill.

The numbers live in ``published.json`` beside this module, one record per (model, benchmark,
metric, source), with every source's citation, the exact place it was read from, and its
sampling protocol, so a comparison never loses where a number came from. Values are fractions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from r1lab.report.render import markdown_table, percent

PUBLISHED_FILE = "published.json"


@dataclass(frozen=True)
class PublishedScore:
    model: str
    benchmark: str
    metric: str
    value: float
    source: str


@dataclass(frozen=True)
class Published:
    """The loaded data file: scores plus the sources they cite."""

    scores: tuple[PublishedScore, ...]
    sources: dict[str, dict[str, str]]

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(score.model for score in self.scores))

    def lookup(self, model: str, benchmark: str, metric: str, source: str) -> float | None:
        for score in self.scores:
            if (score.model, score.benchmark, score.metric, score.source) == (
                model,
                benchmark,
                metric,
                source,
            ):
                return score.value
        return None


@lru_cache(maxsize=1)
def load_published() -> Published:
    """Read ``published.json`` (bundled with the package)."""
    text = (resources.files("r1lab.evaluation") / PUBLISHED_FILE).read_text(encoding="utf-8")
    data = json.loads(text)
    scores = tuple(PublishedScore(**row) for row in data["scores"])
    return Published(scores=scores, sources=data["sources"])


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9.]", "", name.lower())


def match_model(name: str | None) -> str | None:
    """The published model a run's model name refers to, e.g. a local path ending in the HF name.

    Matching ignores case and punctuation, and takes the longest published name contained in
    ``name`` (so ``.../deepseek-r1-distill-qwen-14b`` is not mistaken for the 1.5B... model).
    """
    if not name:
        return None
    squashed = _squash(name)
    candidates = [m for m in load_published().models if _squash(m) in squashed]
    return max(candidates, key=len) if candidates else None


#: (benchmark, metric) pairs shown by --compare, in order.
COMPARED = [("math500", "pass@1"), ("aime24", "pass@1"), ("aime24", "cons@64")]


def compare_rows(results: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows placing this run's scores beside the published ones.

    ``results`` are results.json objects. When the run's model is one of the six R1-Distill
    models, only that model's published numbers are shown; otherwise all six are listed for
    reference, with this run in a row of its own.
    """
    published = load_published()
    source_ids = list(published.sources)
    headers = ["model", "benchmark", "metric", "this run"] + [
        published.sources[s]["label"] for s in source_ids
    ]
    rows: list[list[str]] = []
    by_benchmark = {r["benchmark"]: r for r in results}
    run_model = next((r.get("model") for r in results if r.get("model")), None)
    matched = match_model(run_model)
    models = [matched] if matched else published.models
    for benchmark, metric in COMPARED:
        run = by_benchmark.get(benchmark)
        ours = _run_value(run, metric) if run else "-"
        for model in models:
            values = [published.lookup(model, benchmark, metric, s) for s in source_ids]
            if all(v is None for v in values):
                continue
            shown_ours = ours if matched else "-"
            rows.append([model, benchmark, metric, shown_ours] + [percent(v) for v in values])
        if not matched and run:
            rows.append([run_model or "(this run)", benchmark, metric, ours] + ["-"] * len(source_ids))
    # Benchmarks run but not in the published table still show, so --compare never hides a score.
    for benchmark, run in by_benchmark.items():
        if benchmark not in {b for b, _ in COMPARED}:
            rows.append(
                [run_model or "(this run)", benchmark, "pass@1", _run_value(run, "pass@1")]
                + ["-"] * len(source_ids)
            )
    return headers, rows


def _run_value(run: dict[str, Any], metric: str) -> str:
    metrics = run.get("metrics", {})
    if metric not in metrics:
        # cons@64 is only defined for 64 samples: say so rather than compare cons@4 with it.
        return "-"
    stderr = metrics.get(f"{metric}_stderr")
    return percent(metrics[metric], stderr)


def compare_table(results: list[dict[str, Any]]) -> str:
    """Markdown: the run beside DeepSeek-reported and Open-R1 numbers, then the sources."""
    headers, rows = compare_rows(results)
    published = load_published()
    lines = [markdown_table(headers, rows), "", "Sources:"]
    for source in published.sources.values():
        lines.append(f"- {source['label']}: {source['citation']} {source['url']} ({source['protocol']})")
    return "\n".join(lines) + "\n"
