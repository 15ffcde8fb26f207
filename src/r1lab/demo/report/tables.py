"""The report's tables (stages, models) as rows of formatted cells, shared by the HTML and Markdown."""

from __future__ import annotations

from typing import Any

from r1lab.demo.progress import format_seconds
from r1lab.demo.report.numbers import _num, _pct


def stage_rows(results: dict[str, Any]) -> list[list[str]]:
    """The stages table: what each stage produced, the accuracy of the model it made, its wall time."""
    models = results["models"]
    stage_model = {"cold_start": "cold_start", "select": "instruct", "grpo": "grpo", "distill": "student"}
    rows = []
    for index, stage in enumerate(results["stages"], start=1):
        model = models.get(stage_model.get(stage["name"], ""), {})
        rows.append(
            [
                f"{index}. {stage['title']}",
                stage["summary"].get("line", ""),
                _pct(model.get("pass@1"), model.get("pass@1_stderr")) if model else "",
                _pct(model.get("cons@n")) if model else "",
                _num(model.get("length_mean")) if model else "",
                format_seconds(stage["seconds"]),
            ]
        )
    rows.append(["total", "", "", "", "", format_seconds(results["pipeline_seconds"])])
    return rows


def model_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for m in results["models"].values():
        rows.append(
            [
                m["title"],
                _pct(m.get("pass@1"), m.get("pass@1_stderr")),
                _pct(m.get("cons@n")),
                _pct(m.get("pass@n")),
                _num(m.get("length_mean")),
                _num(m.get("length_median")),
                _num(m.get("length_p90")),
                _pct(m.get("format"), m.get("format_stderr"))
                if _real(results)
                else _pct(m.get("shows_working")),
                _pct(m.get("truncation_rate")),
            ]
        )
    return rows


def _real(results: dict[str, Any]) -> bool:
    """A run from a given model: its table shows the <think> format, not the tiny model's trace style."""
    return results["config"].get("model") is not None


def _n(results: dict[str, Any]) -> Any:
    models = results["models"]
    return next(iter(models.values())).get("num_samples") if models else "n"


def stage_headers(results: dict[str, Any]) -> list[str]:
    return [
        "stage",
        "what it did",
        "pass@1 (%)",
        f"cons@{_n(results)} (%)",
        "mean length (tokens)",
        "wall time",
    ]


def model_headers(results: dict[str, Any]) -> list[str]:
    n = _n(results)
    return [
        "model",
        "pass@1 (%)",
        f"cons@{n} (%)",
        f"pass@{n} (%)",
        "mean len",
        "median len",
        "p90 len",
        "<think> format (%)" if _real(results) else "shows working (%)",
        "truncated (%)",
    ]
