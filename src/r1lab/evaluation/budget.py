"""Accuracy against token budget: the pass@1 one run would have scored with a smaller ``max_tokens``.

A reasoning model's score depends on how long it may think. Re-running an evaluation at every
budget is expensive, but one run at the full budget already holds the answer: a sample that is
correct and *finished within B tokens* would have come out the same with ``max_tokens = B``
(sampling is token by token, so the first B tokens do not depend on the limit), and every other
sample would have been cut off or was wrong anyway. So

    pass@1(B) = mean over problems of  #{samples: correct and tokens <= B} / #samples

is exact, not an estimate, for every B up to the run's own limit (a sample cut off at the limit
has ``tokens == max_tokens``, so the curve ends at the run's pass@1). It is a step function that
rises at each correct sample's length; ``budget_curve`` returns those steps.

The Open-R1 report plots response length split by outcome beside it; ``plot_budget`` draws both.
"""

from __future__ import annotations

import bisect
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from r1lab.evaluation.metrics import length_stats

BUDGET_PLOT_FILE = "budget.png"

__all__ = [
    "BUDGET_PLOT_FILE",
    "budget_curve",
    "budget_results",
    "default_budgets",
    "pass_at_budget",
    "plot_budget",
]


def budget_curve(
    tokens: Sequence[Sequence[int]], correct: Sequence[Sequence[bool]]
) -> list[tuple[int, float]]:
    """The exact step points ``(B, pass@1 at B)``: one per distinct length of a correct sample.

    ``tokens[i][j]`` and ``correct[i][j]`` are problem i's sample j. Each correct sample adds
    ``1 / (samples of its problem * problems)`` from its own length on; budgets below the first
    point score 0. Problems without samples count as 0, as in ``metrics.summarize``.
    """
    if len(tokens) != len(correct):
        raise ValueError(f"{len(tokens)} token lists but {len(correct)} correctness lists")
    problems = len(correct)
    if problems == 0:
        return []
    gains: dict[int, float] = {}
    for counts, flags in zip(tokens, correct, strict=True):
        if len(counts) != len(flags):
            raise ValueError(f"a problem has {len(counts)} token counts but {len(flags)} samples")
        for n, ok in zip(counts, flags, strict=True):
            if ok:
                gains[int(n)] = gains.get(int(n), 0.0) + 1.0 / (len(flags) * problems)
    curve, total = [], 0.0
    for budget in sorted(gains):
        total += gains[budget]
        curve.append((budget, min(total, 1.0)))
    return curve


def pass_at_budget(curve: Sequence[tuple[int, float]], budget: float) -> float:
    """Read the step function at one budget (0 below the first step)."""
    index = bisect.bisect_right([b for b, _ in curve], budget)
    return curve[index - 1][1] if index else 0.0


def default_budgets(max_tokens: int | None, longest: int) -> list[int]:
    """Budgets for the results.json table: powers of two over ten octaves below the limit, and the limit.

    ``max_tokens`` 32768 gives 64, 128, ..., 32768; a run without a limit uses its longest sample.
    """
    top = int(max_tokens or longest or 1)
    start = max(0, math.floor(math.log2(top)) - 9) if top > 1 else 0
    budgets = [2**e for e in range(start, math.floor(math.log2(top)) + 1) if 2**e <= top] if top >= 1 else []
    if not budgets or budgets[-1] != top:
        budgets.append(top)
    return budgets


def budget_results(
    tokens: Sequence[Sequence[int]],
    correct: Sequence[Sequence[bool]],
    max_tokens: int | None,
    *,
    unit: str = "tokens",
) -> dict[str, Any]:
    """The ``budget`` object of results.json.

    ``table``: pass@1 at ``default_budgets`` (what a reader looks up); ``curve``: every step as
    ``[B, pass@1]``; ``tokens_to_reach``: the smallest budget that keeps 50/90/100% of the full
    run's pass@1; ``length_by_outcome``: length statistics of correct and of incorrect samples.
    """
    curve = budget_curve(tokens, correct)
    flat = [
        (int(n), bool(ok))
        for counts, flags in zip(tokens, correct, strict=True)
        for n, ok in zip(counts, flags, strict=True)
    ]
    longest = max((n for n, _ in flat), default=0)
    full = curve[-1][1] if curve else 0.0
    reach = {}
    for share in (0.5, 0.9, 1.0):
        target = share * full - 1e-12
        reach[f"{int(share * 100)}%"] = next((b for b, v in curve if v >= target), None) if full > 0 else None
    return {
        "unit": unit,
        "max_tokens": max_tokens,
        "table": [
            {"max_tokens": b, "pass@1": pass_at_budget(curve, b)}
            for b in default_budgets(max_tokens, longest)
        ],
        "curve": [[b, v] for b, v in curve],
        "tokens_to_reach": reach,
        "length_by_outcome": {
            "correct": {"count": sum(ok for _, ok in flat), **length_stats([n for n, ok in flat if ok])},
            "incorrect": {
                "count": sum(not ok for _, ok in flat),
                **length_stats([n for n, ok in flat if not ok]),
            },
        },
    }


def plot_budget(
    budget: Mapping[str, Any],
    lengths: Sequence[float],
    correct: Sequence[bool],
    path: str | os.PathLike,
    *,
    title: str = "Accuracy against token budget",
    bins: int = 40,
) -> Path:
    """Two panels: pass@1 against the budget (the exact step curve), and length by outcome.

    The right panel is the Open-R1 report's response-length plot split by outcome: correct and
    incorrect samples as overlaid histograms on shared bins, so a model that is right when brief
    and wrong when it rambles shows two separated humps.
    """
    from r1lab.report.plots import _pyplot, _save

    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    curve = budget.get("curve") or []
    limit = budget.get("max_tokens")
    unit = budget.get("unit", "tokens")
    longest = max([*(float(v) for v in lengths), 1.0])
    # The limit is drawn only when in range: a 32k limit beside 500-token answers would squash both panels.
    limit_in_range = bool(limit) and limit <= 1.25 * longest
    top = max(longest, limit if limit_in_range else 0)
    if curve:
        xs = [0] + [b for b, _ in curve] + [top]
        ys = [0.0] + [100 * v for _, v in curve] + [100 * curve[-1][1]]
        left.step(xs, ys, where="post", color="#0969da", linewidth=1.6, label="pass@1 at budget")
        left.axhline(100 * curve[-1][1], color="#57606a", linestyle=":", linewidth=1, label="full run")
    else:
        left.text(0.5, 0.5, "no correct samples", ha="center", va="center", transform=left.transAxes)
    for row in budget.get("table") or []:
        if row["max_tokens"] <= top:
            left.plot(row["max_tokens"], 100 * row["pass@1"], "o", color="#0969da", markersize=3)
    if limit_in_range:
        left.axvline(limit, color="#bf8700", linewidth=1.2, label=f"max_tokens {limit:,}")
    elif limit:
        left.plot([], [], " ", label=f"max_tokens {limit:,}, off scale")
    left.set_xlim(0, top * 1.02)
    left.set_ylim(0, max(5.0, *(100 * v for _, v in curve)) * 1.1 if curve else 100)
    left.set_xlabel(f"token budget ({unit})")
    left.set_ylabel("pass@1 (%)")
    left.set_title("pass@1 if generation stopped at the budget", fontsize=10)
    left.grid(alpha=0.3)
    left.legend(fontsize=8, loc="lower right")

    values = [float(v) for v in lengths]
    right_values = [v for v, ok in zip(values, correct, strict=True) if ok]
    wrong_values = [v for v, ok in zip(values, correct, strict=True) if not ok]
    edges = [top * i / bins for i in range(bins + 1)]
    for data, color, name in ((right_values, "#2da44e", "correct"), (wrong_values, "#cf222e", "incorrect")):
        if data:
            label = f"{name} ({len(data)}, median {sorted(data)[len(data) // 2]:,.0f})"
            right.hist(data, bins=edges, color=color, alpha=0.45, label=label)
            right.hist(data, bins=edges, color=color, histtype="step", linewidth=1.2)
    if limit_in_range:
        right.axvline(limit, color="#bf8700", linewidth=1.2)
    if not values:
        right.text(0.5, 0.5, "no responses", ha="center", va="center", transform=right.transAxes)
    else:
        right.legend(fontsize=8)
    right.set_xlabel(f"response length ({unit})")
    right.set_ylabel("samples")
    right.set_title("response length by outcome", fontsize=10)
    fig.suptitle(title, fontsize=11)
    return _save(fig, path)
