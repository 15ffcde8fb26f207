"""Metrics over sampled generations: pass@k, cons@n, standard errors, breakdowns, lengths.

Everything here is a pure function of plain Python values (lists of booleans, answers, token
counts), so it is cheap to test against hand-computed cases and has no idea where the samples
came from. Values are fractions in [0, 1]; the reports turn them into percentages.

Conventions, chosen to match DeepSeek-R1 and Open-R1/lighteval:

- pass@1 is the mean over problems of the share of correct samples (DeepSeek samples 4-64
  responses per problem and averages), and its standard error is taken *across problems*:
  ``std(per-problem pass@1, ddof=1) / sqrt(num_problems)``.
- pass@k uses the unbiased estimator of Chen et al. (2021), "Evaluating Large Language Models
  Trained on Code": ``1 - C(n - c, k) / C(n, k)`` per problem, then the mean.
- cons@n is majority voting over the *extracted* answers of the n samples. Answers are grouped
  into equivalence classes by the verifier (``r1lab.grading.cluster_answers``), so ``0.5`` and
  ``\\frac{1}{2}`` count as one vote. Ties go to the class whose first member came earliest, so
  the vote is deterministic; missing answers never vote.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "breakdown",
    "cons_at_n",
    "k_values",
    "length_stats",
    "majority_vote",
    "mean",
    "pass_at_k",
    "pass_at_k_mean",
    "percentile",
    "sample_outcome",
    "standard_error",
    "truncation_rate",
]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of P(at least one of k samples is correct) from n samples, c correct.

    Computed as a product rather than with binomials, which overflow for n in the hundreds
    (Chen et al. 2021, Fig. 3): ``1 - prod_{i = n-c+1}^{n} (1 - k / i)``.
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")
    if n - c < k:
        return 1.0
    prob_all_wrong = 1.0
    for i in range(n - c + 1, n + 1):
        prob_all_wrong *= 1.0 - k / i
    return 1.0 - prob_all_wrong


def k_values(n: int) -> list[int]:
    """The k reported for n samples: 1, 2, 4, ... (powers of two up to n), and n itself."""
    ks = []
    k = 1
    while k <= n:
        ks.append(k)
        k *= 2
    if n >= 1 and ks[-1] != n:
        ks.append(n)
    return ks


def mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def standard_error(values: Sequence[float]) -> float | None:
    """Standard error of the mean: sample standard deviation (ddof=1) over sqrt(count).

    None for fewer than two values, where it is undefined (a single problem has no spread to
    measure; reporting 0 would claim a precision the run does not have).
    """
    values = list(values)
    if len(values) < 2:
        return None
    return statistics.stdev(values) / math.sqrt(len(values))


def pass_at_k_mean(correct: Sequence[Sequence[bool]], k: int) -> float | None:
    """Mean pass@k over problems; problems with fewer than k samples are left out."""
    scores = [pass_at_k(len(flags), sum(map(bool, flags)), k) for flags in correct if len(flags) >= k]
    return mean(scores)


def majority_vote(cluster_ids: Sequence[int | None], correct: Sequence[bool]) -> bool:
    """Whether the most common answer class among one problem's samples is correct.

    ``cluster_ids[i]`` is the equivalence class of sample i's extracted answer (None when it has
    no answer). The winning class is the largest; a tie goes to the class seen first. Its
    correctness is that of its first member (all members are equivalent answers).
    """
    if len(cluster_ids) != len(correct):
        raise ValueError(f"{len(cluster_ids)} cluster ids but {len(correct)} correctness flags")
    counts: dict[int, int] = {}
    first_index: dict[int, int] = {}
    for index, cid in enumerate(cluster_ids):
        if cid is None:
            continue
        counts[cid] = counts.get(cid, 0) + 1
        first_index.setdefault(cid, index)
    if not counts:
        return False
    winner = max(counts, key=lambda cid: (counts[cid], -first_index[cid]))
    return bool(correct[first_index[winner]])


def cons_at_n(cluster_ids: Sequence[Sequence[int | None]], correct: Sequence[Sequence[bool]]) -> float | None:
    """Mean majority-vote accuracy over problems (cons@n, n = the samples each problem has)."""
    return mean(float(majority_vote(ids, flags)) for ids, flags in zip(cluster_ids, correct, strict=True))


def truncation_rate(finish_reasons: Iterable[Iterable[str | None]]) -> float | None:
    """Share of all generations that stopped at the token limit (finish_reason ``length``)."""
    flat = [reason for reasons in finish_reasons for reason in reasons]
    return mean(float(reason == "length") for reason in flat)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def length_stats(lengths: Sequence[float]) -> dict[str, float | None]:
    """mean, median, p90 and max of response lengths (tokens)."""
    values = list(lengths)
    return {
        "mean": mean(values),
        "median": percentile(values, 50),
        "p90": percentile(values, 90),
        "max": max(values) if values else None,
    }


def breakdown(
    groups: Sequence[Any], correct: Sequence[Sequence[bool]]
) -> dict[str, dict[str, float | int | None]]:
    """pass@1 per group (e.g. MATH-500 subject or level): {group: {num_problems, pass@1, stderr}}.

    Groups are sorted naturally (levels 1..5 in order, subjects alphabetically); problems whose
    group is None are left out.
    """
    per_group: dict[Any, list[float]] = {}
    for group, flags in zip(groups, correct, strict=True):
        if group is None or not flags:
            continue
        per_group.setdefault(group, []).append(sum(map(bool, flags)) / len(flags))
    out: dict[str, dict[str, float | int | None]] = {}
    for group in sorted(per_group, key=_natural_key):
        scores = per_group[group]
        out[str(group)] = {
            "num_problems": len(scores),
            "pass@1": mean(scores),
            "pass@1_stderr": standard_error(scores),
        }
    return out


def _natural_key(group: Any) -> tuple:
    """Numbers first, in numeric order (levels 1, 2, ..., 10), then text alphabetically."""
    if isinstance(group, (int, float)) and not isinstance(group, bool):
        return (0, float(group), "")
    return (1, 0.0, str(group))


def problem_pass_at_1(flags: Sequence[bool]) -> float:
    """One problem's pass@1: the share of its samples that are correct (0 for no samples)."""
    return sum(map(bool, flags)) / len(flags) if flags else 0.0


def summarize(
    correct: Sequence[Sequence[bool]],
    cluster_ids: Sequence[Sequence[int | None]] | None = None,
    finish_reasons: Sequence[Sequence[str | None]] | None = None,
) -> dict[str, float]:
    """The ``metrics`` object of results.json from per-problem sample lists: every value a fraction.

    Keys: ``pass@1``, ``pass@1_stderr``, ``pass@k`` for each k in ``k_values(n)`` (n = the
    fewest samples any problem has), ``cons@n`` when clusters are given, and ``truncation_rate``.
    Keys whose value is undefined (e.g. a standard error over one problem) are left out rather
    than written as null. Response lengths (tokens, not fractions) are ``length_stats``' job.
    """
    per_problem = [problem_pass_at_1(flags) for flags in correct]
    metrics: dict[str, Any] = {"pass@1": mean(per_problem), "pass@1_stderr": standard_error(per_problem)}
    n = min((len(flags) for flags in correct), default=0)
    for k in k_values(n):
        if k > 1:
            metrics[f"pass@{k}"] = pass_at_k_mean(correct, k)
    if cluster_ids is not None and n >= 1:
        metrics[f"cons@{n}"] = cons_at_n([ids[:n] for ids in cluster_ids], [flags[:n] for flags in correct])
    if finish_reasons is not None:
        metrics["truncation_rate"] = truncation_rate(finish_reasons)
    return {key: value for key, value in metrics.items() if value is not None}


#: Every outcome a sample can have, in the order the viewer and reports list them.
OUTCOMES = ("correct", "wrong", "no_answer", "truncated", "timeout", "unparseable_gold", "error")


def sample_outcome(correct: bool, status: str | None, finish_reason: str | None) -> str:
    """One sample's outcome for people: why it scored what it scored.

    ``status`` is the grader's ``grade_status`` (ok / no_answer / timeout / unparseable_gold /
    error); "truncated" is not a grade but the server's ``finish_reason == "length"``, and it
    explains a wrong or missing answer better than the grade does, so it wins over them. A gold
    that cannot be read makes the sample neither right nor wrong; a correct answer is correct
    even when the response was cut off after it.
    """
    if status == "unparseable_gold":
        return "unparseable_gold"
    if correct:
        return "correct"
    if finish_reason == "length":
        return "truncated"
    if status in ("no_answer", "timeout", "error"):
        return status
    return "wrong"
