"""``r1lab compare RUN_A RUN_B``: is checkpoint B really better than A on the same benchmark?

Two runs on the same problems are *paired*: problem difficulty varies far more than the effect
of a checkpoint, and pairing removes that variation. So the comparison works on per-problem
pass@1 (the share of a problem's samples that are correct), ``d_i = b_i - a_i``:

- the difference in pass@1 is ``mean(d)``; its confidence interval is a **paired bootstrap over
  problems** (resample problems with replacement, take the percentile interval of the resampled
  means; 10,000 resamples, a fixed seed so reruns print the same numbers), with the paired
  standard error ``stdev(d) / sqrt(n)`` beside it;
- a **sign test**: problems where B scored higher against problems where A did (ties dropped),
  two-sided exact binomial p-value. With one sample per problem this is the exact McNemar test;
- the problems that flipped each way, linked into each run's viewer (``viewer.html#problem=ID``).

Comparing runs that sampled differently (another temperature, token limit, prompt, sample count)
or on other problems would measure the settings, not the checkpoints, so those are refused with
the differing keys named.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from r1lab.errors import DataError
from r1lab.evaluation.metrics import problem_pass_at_1, standard_error

logger = logging.getLogger(__name__)

BOOTSTRAP_RESAMPLES = 10_000
CONFIDENCE = 0.95
#: settings.json keys that may differ between the runs: the checkpoint is what is compared.
MAY_DIFFER = ("model",)

__all__ = [
    "Comparison",
    "compare_benchmark",
    "compare_runs",
    "paired_bootstrap_interval",
    "sign_test",
]


def paired_bootstrap_interval(
    differences: Sequence[float],
    *,
    confidence: float = CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of the mean of ``differences`` over problems resampled with replacement."""
    import numpy as np

    values = np.asarray(differences, dtype=float)
    if values.size == 0:
        raise ValueError("no paired problems to compare")
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    chunk = max(1, 2_000_000 // values.size)  # bound memory: chunk * n indices at a time
    for start in range(0, resamples, chunk):
        stop = min(start + chunk, resamples)
        means[start:stop] = values[rng.integers(0, values.size, size=(stop - start, values.size))].mean(
            axis=1
        )
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact binomial p-value of ``wins`` against ``losses`` under p = 1/2 (ties dropped)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


@dataclass
class Comparison:
    """The paired comparison of one benchmark; fractions in [0, 1], differences B - A."""

    benchmark: str
    run_a: str
    run_b: str
    model_a: str | None
    model_b: str | None
    num_problems: int
    num_samples: int | None
    pass_at_1_a: float
    pass_at_1_b: float
    difference: float
    interval: tuple[float, float]
    confidence: float
    resamples: int
    paired_stderr: float | None
    b_better: int
    a_better: int
    ties: int
    sign_p: float
    to_b: list[dict[str, Any]] = field(default_factory=list)
    to_a: list[dict[str, Any]] = field(default_factory=list)
    viewer_a: str | None = None
    viewer_b: str | None = None

    @property
    def within_noise(self) -> bool:
        """Whether the interval of the difference contains zero."""
        return self.interval[0] <= 0.0 <= self.interval[1]

    def verdict(self) -> str:
        if self.within_noise:
            return "within noise: the interval contains 0"
        return "B is better" if self.difference > 0 else "A is better"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["interval"] = list(self.interval)
        out["within_noise"] = self.within_noise
        return out


def _details(bench_dir: Path) -> list[dict[str, Any]]:
    from r1lab.data.io import read_jsonl

    path = bench_dir / "details.jsonl"
    if not path.is_file():
        raise DataError(
            "no details.jsonl; is this an `r1lab evaluate` benchmark directory?", path=str(bench_dir)
        )
    return list(read_jsonl(path))


def _json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"not valid JSON: {exc.msg}", path=str(path), row=exc.lineno) from None


def _settings(bench_dir: Path) -> dict[str, Any]:
    """What the samples depend on: settings.json, else results.json's sampling block."""
    settings = _json(bench_dir / "settings.json")
    if settings is not None:
        return settings
    results = _json(bench_dir / "results.json") or {}
    return {**(results.get("sampling") or {}), "num_samples": results.get("num_samples")}


def check_comparable(
    dir_a: Path, dir_b: Path, details_a: Sequence[Mapping], details_b: Sequence[Mapping]
) -> None:
    """Refuse runs that sampled differently or answered other problems (a DataError saying how)."""
    sa, sb = _settings(dir_a), _settings(dir_b)
    changed = sorted(k for k in set(sa) | set(sb) if k not in MAY_DIFFER and sa.get(k) != sb.get(k))
    if changed:
        detail = "; ".join(f"{k}: {sa.get(k)!r} vs {sb.get(k)!r}" for k in changed)
        raise DataError(
            f"the runs used different sampling settings ({detail}); a paired comparison would measure the "
            "settings, not the models. Evaluate both with the same options",
            path=f"{dir_a} vs {dir_b}",
        )
    gold_a = {str(d["id"]): str(d.get("gold")) for d in details_a}
    gold_b = {str(d["id"]): str(d.get("gold")) for d in details_b}
    only_a, only_b = sorted(set(gold_a) - set(gold_b)), sorted(set(gold_b) - set(gold_a))
    if only_a or only_b:
        raise DataError(
            f"the runs answered different problems: {len(only_a)} only in A (e.g. {only_a[:3]}), "
            f"{len(only_b)} only in B (e.g. {only_b[:3]}); compare runs of the same benchmark and --limit, "
            "and rerun a run with missing problems to fill them in",
            path=f"{dir_a} vs {dir_b}",
        )
    other = [i for i in gold_a if gold_a[i] != gold_b[i]]
    if other:
        raise DataError(
            f"{len(other)} problems have different gold answers in the two runs (e.g. {other[:3]}): "
            "not the same benchmark version",
            path=f"{dir_a} vs {dir_b}",
        )


def _served_as(results: Mapping[str, Any]) -> str | None:
    """The engine and mode a run was served with (``results.json``'s environment.server), if recorded."""
    server = (results.get("environment") or {}).get("server") or {}
    return " ".join(str(server[k]) for k in ("kind", "mode") if server.get(k)) or None


def compare_benchmark(dir_a: str | os.PathLike, dir_b: str | os.PathLike, *, seed: int = 0) -> Comparison:
    """Compare two benchmark directories (``OUTPUT_DIR/<benchmark>/`` of two evaluations)."""
    dir_a, dir_b = Path(dir_a), Path(dir_b)
    details_a, details_b = _details(dir_a), _details(dir_b)
    check_comparable(dir_a, dir_b, details_a, details_b)
    rate_b = {str(d["id"]): problem_pass_at_1(d["correct"]) for d in details_b}
    ids = [str(d["id"]) for d in details_a]
    a = [problem_pass_at_1(d["correct"]) for d in details_a]
    b = [rate_b[i] for i in ids]
    if not ids:
        raise DataError("no problems in details.jsonl", path=str(dir_a))
    diffs = [y - x for x, y in zip(a, b, strict=True)]
    results_a = _json(dir_a / "results.json") or {}
    results_b = _json(dir_b / "results.json") or {}
    served_a, served_b = _served_as(results_a), _served_as(results_b)
    if served_a and served_b and served_a != served_b:
        logger.warning(
            "%s: the runs were served differently (%s vs %s), so the difference includes the engine's "
            "(bfloat16 against float32 alone moves SmolLM2's scores, docs/real-model.md); serve both "
            "alike (--engine, --serve-dtype) to compare the models",
            dir_a.name, served_a, served_b,
        )  # fmt: skip
    flips = [{"id": i, "a": x, "b": y} for i, x, y in zip(ids, a, b, strict=True) if x != y]
    return Comparison(
        benchmark=results_a.get("benchmark") or dir_a.name,
        run_a=str(dir_a),
        run_b=str(dir_b),
        model_a=results_a.get("model"),
        model_b=results_b.get("model"),
        num_problems=len(ids),
        num_samples=_settings(dir_a).get("num_samples"),
        pass_at_1_a=sum(a) / len(a),
        pass_at_1_b=sum(b) / len(b),
        difference=sum(diffs) / len(diffs),
        interval=paired_bootstrap_interval(diffs, seed=seed),
        confidence=CONFIDENCE,
        resamples=BOOTSTRAP_RESAMPLES,
        paired_stderr=standard_error(diffs),
        b_better=sum(d > 0 for d in diffs),
        a_better=sum(d < 0 for d in diffs),
        ties=sum(d == 0 for d in diffs),
        sign_p=sign_test(sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)),
        to_b=sorted((f for f in flips if f["b"] > f["a"]), key=lambda f: f["a"] - f["b"]),
        to_a=sorted((f for f in flips if f["a"] > f["b"]), key=lambda f: f["b"] - f["a"]),
        viewer_a=str(dir_a / "viewer.html") if (dir_a / "viewer.html").exists() else None,
        viewer_b=str(dir_b / "viewer.html") if (dir_b / "viewer.html").exists() else None,
    )


def benchmark_dirs(run: str | os.PathLike) -> dict[str, Path]:
    """{benchmark: directory} of a run directory, or of a single benchmark directory."""
    run = Path(run)
    if not run.is_dir():
        raise DataError("no such run directory", path=str(run))
    if (run / "details.jsonl").is_file():
        return {run.name: run}
    found = {p.parent.name: p.parent for p in sorted(run.glob("*/details.jsonl"))}
    if not found:
        raise DataError(
            "no <benchmark>/details.jsonl here; is this an `r1lab evaluate` output dir?", path=str(run)
        )
    return found


def compare_runs(run_a: str | os.PathLike, run_b: str | os.PathLike, *, seed: int = 0) -> list[Comparison]:
    """Every benchmark the two runs share (two benchmark dirs are compared as one benchmark)."""
    dirs_a, dirs_b = benchmark_dirs(run_a), benchmark_dirs(run_b)
    if (Path(run_a) / "details.jsonl").is_file() and (Path(run_b) / "details.jsonl").is_file():
        return [compare_benchmark(run_a, run_b, seed=seed)]  # two benchmark dirs: their problems must match
    shared = [b for b in dirs_a if b in dirs_b]
    if not shared:
        raise DataError(
            f"no benchmark in common: A has {sorted(dirs_a)}, B has {sorted(dirs_b)}",
            path=f"{run_a} vs {run_b}",
        )
    return [compare_benchmark(dirs_a[b], dirs_b[b], seed=seed) for b in shared]


# ----------------------------------------------------------------------------- rendering


def viewer_link(viewer: str | None, problem_id: str, relative_to: Path | None = None) -> str | None:
    """``.../viewer.html#problem=ID``, relative to where the comparison is written when given."""
    from urllib.parse import quote

    if viewer is None:
        return None
    path = Path(viewer)
    if relative_to is not None:
        path = Path(os.path.relpath(path.resolve(), relative_to.resolve()))
    return f"{path.as_posix()}#problem={quote(problem_id, safe='')}"


def _points(value: float) -> str:
    return f"{100 * value:+.1f}"


def summary_lines(c: Comparison) -> list[str]:
    """The headline: both scores, the difference with its interval, the sign test, the verdict."""
    low, high = c.interval
    se = f", paired s.e. {100 * c.paired_stderr:.1f}" if c.paired_stderr is not None else ""
    return [
        f"A: {c.run_a} ({c.model_a or 'model'}): pass@1 {100 * c.pass_at_1_a:.1f}%",
        f"B: {c.run_b} ({c.model_b or 'model'}): pass@1 {100 * c.pass_at_1_b:.1f}%",
        f"difference B - A: {_points(c.difference)} points, {int(100 * c.confidence)}% CI "
        f"[{_points(low)}, {_points(high)}] (paired bootstrap over {c.num_problems} problems, "
        f"{c.resamples:,} resamples{se})",
        f"sign test: B higher on {c.b_better}, A higher on {c.a_better}, tied on {c.ties} of {c.num_problems} problems: "
        f"p = {c.sign_p:.3g} (two-sided exact; McNemar's test when there is one sample per problem)",
        f"verdict: {c.verdict()}",
    ]


def flip_rows(
    c: Comparison, flips: Sequence[Mapping[str, Any]], relative_to: Path | None = None
) -> list[list[str]]:
    return [
        [
            f["id"],
            f"{100 * f['a']:.0f}%",
            f"{100 * f['b']:.0f}%",
            viewer_link(c.viewer_a, f["id"], relative_to) or "-",
            viewer_link(c.viewer_b, f["id"], relative_to) or "-",
        ]
        for f in flips
    ]


FLIP_HEADERS = ["problem", "A pass rate", "B pass rate", "A viewer", "B viewer"]


def comparison_markdown(
    comparisons: Sequence[Comparison], *, max_flips: int | None = 20, relative_to: Path | None = None
) -> str:
    """The comparisons as Markdown: the headline lines, then the flipped problems each way."""
    from r1lab.report.render import markdown_table

    out = []
    for c in comparisons:
        out += [f"## {c.benchmark}: B - A", ""] + [f"- {line}" for line in summary_lines(c)] + [""]
        for title, flips in (
            (f"better in B ({len(c.to_b)})", c.to_b),
            (f"better in A ({len(c.to_a)})", c.to_a),
        ):
            shown = list(flips)[:max_flips] if max_flips is not None else list(flips)
            out += [f"### Problems {title}", ""]
            if shown:
                out += [markdown_table(FLIP_HEADERS, flip_rows(c, shown, relative_to), {1, 2})]
                if len(shown) < len(flips):
                    out += ["", f"... and {len(flips) - len(shown)} more (see the JSON output)"]
            else:
                out += ["(none)"]
            out += [""]
    return "\n".join(out)


def write_comparison_html(comparisons: Sequence[Comparison], path: str | os.PathLike) -> Path:
    """A self-contained page with every flipped problem linked into both runs' viewers."""
    import html

    from r1lab.report.render import HtmlPage

    path = Path(path)
    page = HtmlPage("Paired comparison")
    for c in comparisons:
        page.heading(f"{c.benchmark}: B - A")
        page.raw("<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in summary_lines(c)) + "</ul>")
        for title, flips in (("better in B", c.to_b), ("better in A", c.to_a)):
            page.heading(f"Problems {title} ({len(flips)})", 3)
            rows = []
            for f in flips:
                cells = [html.escape(f["id"]), f"{100 * f['a']:.0f}%", f"{100 * f['b']:.0f}%"]
                for viewer in (c.viewer_a, c.viewer_b):
                    link = viewer_link(viewer, f["id"], path.parent)
                    cells.append(f'<a href="{html.escape(link)}">open</a>' if link else "-")
                rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
            head = "".join(f"<th>{h}</th>" for h in FLIP_HEADERS)
            page.raw(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    return page.write(path, footer="r1lab compare")
