"""The report's figures: held-out accuracy per model, response lengths, GRPO curves (PNG files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from r1lab.demo.config import DemoConfig
from r1lab.demo.report.numbers import CURVE_KEYS, details
from r1lab.demo.stages import Paths

PLOTS_DIR = "report_files"


def draw_plots(config: DemoConfig, paths: Paths, results: dict[str, Any]) -> dict[str, Path]:
    """The report's figures as PNG files under OUTPUT_DIR/report_files/; returns name -> path."""
    from r1lab.report.demo_plots import plot_length_histograms, plot_model_accuracy
    from r1lab.report.plots import plot_curves

    out = paths.root / PLOTS_DIR
    plots: dict[str, Path] = {}
    models = results["models"]
    if models:
        n = next(iter(models.values())).get("num_samples")
        plots["accuracy"] = plot_model_accuracy(
            {m["title"]: m for m in models.values()},
            out / "accuracy.png",
            title=f"Held-out accuracy ({next(iter(models.values())).get('num_problems')} test problems)",
            n_label=str(n),
        )
        per_model = {}
        for name, numbers in models.items():
            rows = details(paths, name)
            lengths = [t for row in rows for t in (row.get("completion_tokens") or [])]
            correct = [c for row in rows for c in row["correct"]][: len(lengths)]
            per_model[numbers["title"]] = (lengths, correct)
        plots["lengths"] = plot_length_histograms(
            per_model, out / "lengths.png", max_tokens=config.max_completion_length
        )
    curve = results["grpo"]["curve"]
    if curve:
        keys = [k for k in CURVE_KEYS if any(k in row for row in curve)]
        plots["grpo"] = plot_curves(
            curve, out / "grpo_curves.png", keys=keys, title="GRPO training, per step"
        )
    return plots
