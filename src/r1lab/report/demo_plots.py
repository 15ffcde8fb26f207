"""Plots that compare several models of one run side by side (the demo report uses them).

``r1lab.report.plots`` draws one model or one metrics file per figure; a pipeline report wants
the models next to each other on shared axes, so differences are visible at a glance:
accuracy per model with its uncertainty, and response-length histograms on one x scale.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from r1lab.report.plots import _pyplot, _save

__all__ = ["plot_model_accuracy", "plot_length_histograms"]

#: One colour per model, in report order (colour-blind safe: Okabe-Ito).
MODEL_COLORS = ["#999999", "#0072B2", "#E69F00", "#009E73", "#CC79A7"]


def plot_model_accuracy(
    models: Mapping[str, Mapping[str, float | None]],
    path: str | os.PathLike,
    *,
    title: str = "Held-out accuracy",
    n_label: str = "n",
) -> Path:
    """Bars of pass@1 (with ±1 standard error) per model, and cons@n as a diamond on each bar.

    ``models`` maps a display name to ``{"pass@1": f, "pass@1_stderr": f, "cons@n": f}``
    (fractions; missing values are skipped).
    """
    plt = _pyplot()
    names = list(models)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    xs = range(len(names))
    values = [100 * (models[n].get("pass@1") or 0.0) for n in names]
    errors = [100 * (models[n].get("pass@1_stderr") or 0.0) for n in names]
    colors = [MODEL_COLORS[i % len(MODEL_COLORS)] for i in xs]
    bars = ax.bar(xs, values, yerr=errors, capsize=4, color=colors, width=0.6, label="pass@1 (± s.e.)")
    for bar, value, error in zip(bars, values, errors, strict=True):
        # Inside a tall bar (the cons@n marker and the error bar sit at its top), above a short one.
        inside = value >= 15
        ax.annotate(
            f"{value:.1f}%",
            (bar.get_x() + bar.get_width() / 2, value / 2 if inside else value + error),
            xytext=(0, 0 if inside else 4),
            textcoords="offset points",
            ha="center",
            va="center" if inside else "bottom",
            color="white" if inside else "#1f2328",
            fontsize=9,
            fontweight="bold",
        )
    cons = [
        (i, 100 * models[n]["cons@n"]) for i, n in enumerate(names) if models[n].get("cons@n") is not None
    ]
    if cons:
        cx, cy = zip(*cons, strict=True)
        ax.scatter(cx, cy, marker="D", color="#1f2328", zorder=3, label=f"cons@{n_label} (majority vote)")
    ax.set_xticks(list(xs), names)
    ax.set_ylim(0, 105)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def plot_length_histograms(
    models: Mapping[str, tuple[Sequence[float], Sequence[bool]]],
    path: str | os.PathLike,
    *,
    max_tokens: int | None = None,
    unit: str = "tokens",
    bins: int = 30,
    title: str = "Response length per model",
) -> Path:
    """One histogram panel per model on a shared x axis; bars split into correct and incorrect responses.

    ``models`` maps a display name to ``(lengths, correct)``. With ``max_tokens`` the limit is
    drawn as a line, so truncated responses show up against it.
    """
    plt = _pyplot()
    names = list(models)
    count = max(len(names), 1)
    fig, axes = plt.subplots(1, count, figsize=(3.6 * count, 3.2), sharex=True, sharey=True, squeeze=False)
    everything = [float(v) for name in names for v in models[name][0]]
    upper = max(everything + ([max_tokens] if max_tokens else []) + [1.0])
    edges = [upper * i / bins for i in range(bins + 1)]
    for i, name in enumerate(names):
        ax = axes[0][i]
        lengths, correct = models[name]
        values = [float(v) for v in lengths]
        if not values:
            ax.text(0.5, 0.5, "no responses", ha="center", va="center", transform=ax.transAxes)
        else:
            right = [v for v, ok in zip(values, correct, strict=True) if ok]
            wrong = [v for v, ok in zip(values, correct, strict=True) if not ok]
            ax.hist(
                [right, wrong],
                bins=edges,
                stacked=True,
                color=["#2da44e", "#cf222e"],
                label=[f"correct ({len(right)})", f"incorrect ({len(wrong)})"],
            )
            mean_value = sum(values) / len(values)
            ax.axvline(
                mean_value, color="#1f2328", linestyle="--", linewidth=1, label=f"mean {mean_value:.1f}"
            )
        if max_tokens:
            ax.axvline(max_tokens, color="#bf8700", linewidth=1.2, label=f"limit {max_tokens}")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(f"response length ({unit})", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("responses", fontsize=8)
    fig.suptitle(title, fontsize=11)
    return _save(fig, path)
