"""Plots for run reports: the response-length histogram and line curves from metrics.jsonl.

Matplotlib runs headless (the Agg backend, chosen here before pyplot loads) so plots work on
servers and in CI. Each function writes one PNG and returns its path; they read plain values or
files, never live training objects, so a report can be rebuilt from a finished run directory.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from r1lab.errors import DataError

logger = logging.getLogger(__name__)

__all__ = ["plot_curves", "plot_length_histogram", "read_metrics_jsonl"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


def plot_length_histogram(
    lengths: Sequence[float],
    path: str | os.PathLike,
    *,
    title: str = "Response length",
    truncated: Sequence[bool] | None = None,
    correct: Sequence[bool] | None = None,
    max_tokens: int | None = None,
    unit: str = "tokens",
    bins: int = 40,
) -> Path:
    """Histogram of response lengths, as in the Open-R1 report's response-length plot.

    With ``correct`` the bars are split into correct and incorrect responses (stacked), which
    shows whether long answers are the wrong ones; with ``max_tokens`` the token limit is drawn
    as a line and the share of ``truncated`` responses is given in the legend.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    values = [float(v) for v in lengths]
    if not values:
        ax.text(0.5, 0.5, "no responses", ha="center", va="center", transform=ax.transAxes)
    else:
        # Draw the token limit only when it is in range: a 32k limit beside 500-token answers
        # would squash every bar into the first bin.
        limit_in_range = bool(max_tokens) and max_tokens <= 1.25 * max(values)
        upper = max(values + ([max_tokens] if limit_in_range else []))
        edges = [upper * i / bins for i in range(bins + 1)] if upper > 0 else bins
        if correct is not None and len(correct) == len(values):
            right = [v for v, ok in zip(values, correct, strict=True) if ok]
            wrong = [v for v, ok in zip(values, correct, strict=True) if not ok]
            ax.hist(
                [right, wrong],
                bins=edges,
                stacked=True,
                color=["#2da44e", "#cf222e"],
                label=[f"correct ({len(right)})", f"incorrect ({len(wrong)})"],
            )
        else:
            ax.hist(values, bins=edges, color="#0969da", label=f"responses ({len(values)})")
        mean_value = sum(values) / len(values)
        ax.axvline(mean_value, color="#1f2328", linestyle="--", linewidth=1, label=f"mean {mean_value:,.0f}")
        if max_tokens:
            share = ""
            if truncated is not None and len(truncated):
                share = f" ({100 * sum(map(bool, truncated)) / len(truncated):.1f}% truncated)"
            label = f"max_tokens {max_tokens:,}{share}"
            if limit_in_range:
                ax.axvline(max_tokens, color="#bf8700", linewidth=1.2, label=label)
            else:
                ax.plot([], [], " ", label=label + ", off scale")
        ax.legend(fontsize=8)
    ax.set_xlabel(f"response length ({unit})")
    ax.set_ylabel("responses")
    ax.set_title(title)
    return _save(fig, path)


def read_metrics_jsonl(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of a metrics.jsonl (one JSON object per logged step); DataError names the bad line."""
    from r1lab.data.io import read_jsonl

    path = Path(path)
    if not path.exists():
        raise DataError("no such metrics file", path=str(path))
    return list(read_jsonl(path, skip_torn_tail=True))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def plot_curves(
    metrics: str | os.PathLike | Sequence[dict[str, Any]],
    path: str | os.PathLike,
    *,
    keys: Sequence[str] | None = None,
    x: str = "step",
    title: str = "Training curves",
    max_panels: int = 9,
) -> Path:
    """Line curves of logged metrics, one small panel per key, against ``x`` (default ``step``).

    ``metrics`` is a metrics.jsonl path or its rows. Without ``keys`` every numeric key except
    ``x`` is plotted (up to ``max_panels``, in first-seen order). Rows lacking a key are skipped
    for that panel, so losses logged every step and evaluations logged every N steps coexist.
    """
    rows = read_metrics_jsonl(metrics) if isinstance(metrics, (str, os.PathLike)) else list(metrics)
    if keys is None:
        seen: dict[str, None] = {}
        for row in rows:
            for key, value in row.items():
                if key != x and _is_number(value):
                    seen.setdefault(key, None)
        keys = list(seen)[:max_panels]
    plt = _pyplot()
    count = max(len(keys), 1)
    cols = min(3, count)
    nrows = math.ceil(count / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 2.8 * nrows), squeeze=False)
    for index, key in enumerate(keys):
        ax = axes[index // cols][index % cols]
        points = [
            (row[x] if _is_number(row.get(x)) else i, row[key])
            for i, row in enumerate(rows)
            if _is_number(row.get(key))
        ]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="." if len(points) < 50 else None, linewidth=1.3, color="#0969da")
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel(x, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for index in range(len(keys), nrows * cols):
        axes[index // cols][index % cols].axis("off")
    if not keys:
        axes[0][0].text(0.5, 0.5, "no numeric metrics", ha="center", va="center")
    fig.suptitle(title, fontsize=11)
    return _save(fig, path)
