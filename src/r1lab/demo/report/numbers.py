"""The report's numbers: each model's evaluation, the GRPO curve, the headline, and results.json.

Everything is read back from the files the stages wrote (stage markers, evaluation results and
details, the GRPO metrics.jsonl), so a finished run directory can be re-rendered at any time and
the report can never disagree with the files next to it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import os
from typing import Any

from r1lab import __version__
from r1lab.data.io import read_jsonl
from r1lab.demo.config import MODEL_TITLES, STAGE_TITLES, DemoConfig
from r1lab.demo.stages import Paths

SCHEMA = "r1lab-demo-results/1"
#: The GRPO metrics plotted over steps, in panel order (those present in metrics.jsonl).
CURVE_KEYS = (
    "reward",
    "accuracy",
    "rewards/format",
    "completion_length",
    "frac_reward_zero_std",
    "loss",
    "entropy",
)


def model_numbers(paths: Paths, name: str) -> dict[str, Any] | None:
    """One model's evaluation numbers from its results.json (fractions; lengths in tokens)."""
    path = paths.eval_results(name)
    if not path.exists():
        return None
    results = json.loads(path.read_text(encoding="utf-8"))
    metrics = results.get("metrics", {})
    n = results.get("num_samples")
    lengths = results.get("response_length") or {}
    rows = details(paths, name)
    return {
        "title": MODEL_TITLES[name],
        "model_dir": str(paths.model(name)),
        "num_problems": results.get("num_problems"),
        "num_samples": n,
        "pass@1": metrics.get("pass@1"),
        "pass@1_stderr": metrics.get("pass@1_stderr"),
        "cons@n": metrics.get(f"cons@{n}"),
        "pass@n": metrics.get(f"pass@{n}") if n and n > 1 else metrics.get("pass@1"),
        "truncation_rate": metrics.get("truncation_rate"),
        "length_mean": lengths.get("mean", metrics.get("length_mean")),
        "length_median": lengths.get("median", metrics.get("length_median")),
        "length_p90": lengths.get("p90", metrics.get("length_p90")),
        "shows_working": working_share(rows),
        **format_share(rows),
        "results_file": str(path),
    }


def working_share(rows: list[dict[str, Any]]) -> float | None:
    """Share of sampled responses whose reasoning shows the column working, not only the result line.

    The demo's cold-start traces come in two styles (``short_trace_fraction``); this share says
    which one a model chose.
    """
    from r1lab.data.tasks import shows_working
    from r1lab.prompts import split_reasoning

    verdicts = []
    for row in rows:
        split_out = row.get("reasoning") or [None] * len(row["generations"])
        for text, reasoning in zip(row["generations"], split_out, strict=True):
            if reasoning is None:  # the server left the <think> block in the text
                reasoning = split_reasoning(text)[0]
            verdicts.append(shows_working(reasoning))
    return sum(verdicts) / len(verdicts) if verdicts else None


def full_response(row: dict[str, Any], index: int = 0) -> str:
    """One sample as the model wrote it: servers that split the reasoning out get it put back."""
    from r1lab.prompts import THINK_END, format_response

    text = row["generations"][index]
    reasoning = (row.get("reasoning") or [None] * len(row["generations"]))[index]
    if reasoning and THINK_END not in text:
        return format_response(reasoning, text)
    return text


def format_share(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """Share of sampled responses that earn R1's format reward (<think>...</think> then an answer), ± s.e.

    The standard error is over problems (the samples of one problem are not independent), as
    r1lab.evaluation computes it for pass@1.
    """
    from r1lab.rewards import FormatReward

    reward = FormatReward()
    per_problem = [
        sum(reward.score(full_response(row, i)) for i in range(len(row["generations"])))
        / len(row["generations"])
        for row in rows
        if row.get("generations")
    ]
    if not per_problem:
        return {"format": None, "format_stderr": None}
    n = len(per_problem)
    mean = sum(per_problem) / n
    var = sum((x - mean) ** 2 for x in per_problem) / (n - 1) if n > 1 else 0.0
    return {"format": mean, "format_stderr": (var / n) ** 0.5}


def grpo_curve(paths: Paths) -> list[dict[str, Any]]:
    path = paths.grpo / "metrics.jsonl"
    if not path.exists():
        return []
    keep = ("step", *CURVE_KEYS)
    return [{k: row[k] for k in keep if k in row} for row in read_jsonl(path, skip_torn_tail=True)]


def details(paths: Paths, name: str) -> list[dict[str, Any]]:
    path = paths.eval_details(name)
    return list(read_jsonl(path)) if path.exists() else []


def headline(models: dict[str, Any]) -> str:
    """One honest sentence about what GRPO and distillation did to held-out accuracy (and the format)."""
    cold = models.get("cold_start") or models.get("instruct") or {}
    grpo, student = (models.get(m) or {} for m in ("grpo", "student"))
    if cold.get("pass@1") is None or grpo.get("pass@1") is None:
        return "The evaluation did not finish: no accuracy to report."
    before, after = _share(cold["pass@1"]), _share(grpo["pass@1"])
    delta = 100 * (grpo["pass@1"] - cold["pass@1"])
    noise = 100 * ((cold.get("pass@1_stderr") or 0) ** 2 + (grpo.get("pass@1_stderr") or 0) ** 2) ** 0.5
    if delta > 2 * noise and delta > 0:
        verb = f"GRPO lifted held-out pass@1 from {before} to {after} ({delta:+.1f} ± {noise:.1f} points)"
    elif delta > 0:
        verb = (
            f"GRPO moved held-out pass@1 from {before} to {after} "
            f"({delta:+.1f} ± {noise:.1f} points, within two standard errors: not a clear lift)"
        )
    else:
        verb = f"GRPO did not lift held-out pass@1 in this run: {before} → {after} ({delta:+.1f} ± {noise:.1f} points)"
    # A real model's run states the <think> format; the tiny model's states its trace style (column
    # working), which says nothing about a real model's prose.
    if "instruct" in models:
        format_before, format_after = cold.get("format"), grpo.get("format")
        if format_before is not None and format_after is not None:
            verb += f"; answers in the <think> format: {_share(format_before)} → {_share(format_after)}"
    else:
        working_before, working_after = cold.get("shows_working"), grpo.get("shows_working")
        if (
            working_before is not None
            and working_after is not None
            and abs(working_after - working_before) >= 0.1
        ):
            verb += (
                f"; the share of answers that show their working went from {_share(working_before)} "
                f"to {_share(working_after)}"
            )
    tail = (
        f"; the student distilled from its traces reached {_share(student['pass@1'])}"
        if student.get("pass@1") is not None
        else ""
    )
    return verb + tail + "."


def build_results(
    config: DemoConfig, paths: Paths, markers: dict[str, dict[str, Any]], run_seconds: float
) -> dict[str, Any]:
    models = {name: model_numbers(paths, name) for name in config.models()}
    models = {k: v for k, v in models.items() if v is not None}
    stages = []
    for stage in config.stages():
        marker = markers.get(stage)
        if stage == "report" or marker is None:
            continue
        stages.append(
            {
                "name": stage,
                "title": STAGE_TITLES[stage],
                "seconds": round(marker["seconds"], 2),
                "finished": marker.get("finished"),
                "summary": marker.get("summary", {}),
            }
        )
    cold, grpo = models.get(config.models()[0]), models.get("grpo")
    lift = None
    if cold and grpo and cold.get("pass@1") is not None and grpo.get("pass@1") is not None:
        lift = grpo["pass@1"] - cold["pass@1"]
    return {
        "schema": SCHEMA,
        "r1lab_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "preset": config.preset,
        "config": dataclasses.asdict(config),
        "machine": _machine(),
        "task": (markers.get("data") or {}).get("summary", {}),
        "select": (markers.get("select") or {}).get("summary", {}),
        "stages": stages,
        "pipeline_seconds": round(sum(s["seconds"] for s in stages), 2),
        "this_run_seconds": round(run_seconds, 2),
        "models": models,
        "grpo_lift": lift,
        "grpo": {**(markers.get("grpo") or {}).get("summary", {}), "curve": grpo_curve(paths)},
        "distill": (markers.get("distill") or {}).get("summary", {}),
        # served vs in-process pass@1 of the GRPO model (sampling.check_served_sampling)
        "sampling_check": (markers.get("evaluate") or {}).get("summary", {}).get("sampling_check"),
        "environment": _environment(paths),
        "headline": headline(models),
    }


def _environment(paths: Paths) -> dict[str, Any] | None:
    """The server and package versions the GRPO model's evaluation recorded (its RunSettings)."""
    path = paths.eval_results("grpo")
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("environment")


def _machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count()}
    with contextlib.suppress(OSError):
        info["load_average_1m"] = round(os.getloadavg()[0], 2)
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except Exception:
        pass
    return info


def _pct(value: float | None, stderr: float | None = None) -> str:
    from r1lab.report import percent

    return percent(value, stderr)


def _share(value: float) -> str:
    """A fraction as a percentage with a % sign, for sentences (table headers carry it for cells)."""
    return f"{_pct(value)}%"


def _num(value: Any) -> str:
    from r1lab.report import fmt_number

    return fmt_number(value)
