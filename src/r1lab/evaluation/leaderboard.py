"""``r1lab leaderboard RUN_DIR...``: one table across evaluation runs and benchmarks.

A run directory is an ``r1lab evaluate --output-dir``: it holds ``<benchmark>/results.json``
files (a benchmark directory itself is accepted too). Rows are runs, columns are benchmarks,
cells are pass@1 ± standard error; the best score per column is marked, and so is every score
within noise of it (``≈``): the 95% interval of the difference contains zero. That interval is the
paired bootstrap of ``r1lab compare`` when both runs have details.jsonl for the same problems and
sampling settings, else the unpaired ``±1.96·sqrt(se_a² + se_b²)``. Output is Markdown (for a
README or a PR) and a self-contained HTML page.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1lab.errors import DataError
from r1lab.report.render import HtmlPage, markdown_table, percent

#: Column order for the bundled benchmarks; others follow alphabetically.
BENCHMARK_ORDER = ["math500", "aime24", "aime25", "amc23", "gsm8k"]


@dataclass
class RunResults:
    """The results.json objects of one run directory, by benchmark."""

    path: Path
    label: str
    model: str | None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    dirs: dict[str, Path] = field(default_factory=dict)


def find_results(run_dir: str | os.PathLike) -> list[Path]:
    """results.json files of a run: ``RUN/results.json`` or ``RUN/*/results.json``."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise DataError("no such run directory", path=str(run_dir))
    if (run_dir / "results.json").is_file():
        return [run_dir / "results.json"]
    return sorted(run_dir.glob("*/results.json"))


def load_run(run_dir: str | os.PathLike) -> RunResults:
    paths = find_results(run_dir)
    if not paths:
        raise DataError(
            "no <benchmark>/results.json here; is this an `r1lab evaluate` output dir?", path=str(run_dir)
        )
    run = RunResults(path=Path(run_dir), label=Path(run_dir).resolve().name, model=None)
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"not valid JSON: {exc.msg}", path=str(path), row=exc.lineno) from None
        for key in ("benchmark", "metrics"):
            if key not in data:
                raise DataError("missing key", path=str(path), field=key)
        run.results[data["benchmark"]] = data
        run.dirs[data["benchmark"]] = path.parent
        run.model = run.model or data.get("model")
    return run


def _benchmark_columns(runs: Sequence[RunResults]) -> list[str]:
    names = {b for run in runs for b in run.results}
    known = [b for b in BENCHMARK_ORDER if b in names]
    return known + sorted(names - set(known))


#: The mark for a score whose difference to its column's best is within noise.
NOISE_MARK = "≈"


def within_noise(best: RunResults, other: RunResults, benchmark: str, metric: str) -> bool | None:
    """Whether ``other``'s score on ``benchmark`` is indistinguishable from ``best``'s (None: cannot tell)."""
    from r1lab.evaluation.compare import compare_benchmark

    dir_a, dir_b = best.dirs.get(benchmark), other.dirs.get(benchmark)
    if (
        metric == "pass@1"
        and dir_a
        and dir_b
        and (dir_a / "details.jsonl").is_file()
        and (dir_b / "details.jsonl").is_file()
    ):
        try:
            return compare_benchmark(dir_a, dir_b).within_noise
        except DataError:
            pass  # other problems or settings: not paired, fall back to the standard errors
    a, b = best.results[benchmark]["metrics"], other.results[benchmark]["metrics"]
    se_a, se_b = a.get(f"{metric}_stderr"), b.get(f"{metric}_stderr")
    if se_a is None or se_b is None or a.get(metric) is None or b.get(metric) is None:
        return None
    return abs(a[metric] - b[metric]) <= 1.96 * math.sqrt(se_a**2 + se_b**2)


def leaderboard_rows(
    runs: Sequence[RunResults], metric: str = "pass@1"
) -> tuple[list[str], list[list[str]], set[tuple[int, int]]]:
    """Headers, rows (sorted by mean score, best first) and the (row, col) cells that are best."""
    benchmarks = _benchmark_columns(runs)
    headers = ["run", "model"] + [f"{b} {metric}" for b in benchmarks] + ["mean"]
    scored = []
    for run in runs:
        values = [run.results.get(b, {}).get("metrics", {}).get(metric) for b in benchmarks]
        present = [v for v in values if v is not None]
        average = sum(present) / len(present) if present else None
        scored.append((run, values, average))
    scored.sort(key=lambda item: -1.0 if item[2] is None else -item[2])
    rows, best, noisy = [], set(), set()
    for col, benchmark in enumerate(benchmarks):
        column = [values[col] for _, values, _ in scored]
        top = max((v for v in column if v is not None), default=None)
        leader = next((r for r, v in enumerate(column) if top is not None and v == top), None)
        for r, v in enumerate(column):
            if top is not None and v == top and len(scored) > 1:
                best.add((r, col + 2))
            elif (
                v is not None
                and leader is not None
                and within_noise(scored[leader][0], scored[r][0], benchmark, metric)
            ):
                noisy.add((r, col + 2))
    for r, (run, values, average) in enumerate(scored):
        cells = [
            percent(v, run.results.get(b, {}).get("metrics", {}).get(f"{metric}_stderr"))
            + (f" {NOISE_MARK}" if (r, c + 2) in noisy else "")
            for c, (b, v) in enumerate(zip(benchmarks, values, strict=True))
        ]
        rows.append([run.label, run.model or "-"] + cells + [percent(average)])
    return headers, rows, best


def build_leaderboard(
    run_dirs: Sequence[str | os.PathLike],
    *,
    metric: str = "pass@1",
    markdown_path: str | os.PathLike | None = None,
    html_path: str | os.PathLike | None = None,
) -> str:
    """The leaderboard as Markdown (returned); also written to the given paths when set."""
    runs = [load_run(d) for d in run_dirs]
    headers, rows, best = leaderboard_rows(runs, metric)
    numeric = set(range(2, len(headers)))
    note = (
        f"{metric} in percent, ± the standard error across problems; mean is the unweighted mean over "
        f"the benchmarks a run has. {NOISE_MARK}: within noise of the column's best (the 95% interval of "
        "the difference contains 0; paired bootstrap over problems when both runs have details.jsonl, else "
        "±1.96·sqrt(se_a² + se_b²)). Samples per problem: "
        + "; ".join(
            f"{run.label}: "
            + ", ".join(f"{b} {r['num_samples']}" for b, r in run.results.items() if "num_samples" in r)
            for run in runs
        )
    )
    text = markdown_table(headers, rows, numeric) + "\n\n" + note + "\n"
    if markdown_path:
        Path(markdown_path).parent.mkdir(parents=True, exist_ok=True)
        Path(markdown_path).write_text("# Leaderboard\n\n" + text, encoding="utf-8")
    if html_path:
        page = HtmlPage("Leaderboard")
        page.table(headers, rows, numeric_columns=numeric, highlight=best)
        page.paragraph(note, "note")
        page.heading("Runs")
        page.table(
            ["run", "directory", "benchmarks"],
            [[run.label, str(run.path), ", ".join(run.results)] for run in runs],
        )
        page.write(html_path, footer="r1lab leaderboard")
    return text
