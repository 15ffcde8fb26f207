"""Time the demo stage by stage against its budget (10 minutes full, about 2 minutes quick, 45 smollm2).

    python bench/demo.py                     # the full demo into a fresh temp dir
    python bench/demo.py --quick             # the quick preset (= --preset quick)
    python bench/demo.py --preset smollm2    # R1-Zero on the real SmolLM2-135M-Instruct

Prints each stage's wall time, its share of the total, the total against the budget, and the
1-minute load average before and after (on a shared machine the load says how much of the two
cores the run really had).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from record import table, write_results

from r1lab.demo import make_config, run_demo

BUDGET_S = {"full": 600.0, "quick": 120.0, "smollm2": 2700.0}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="alias of --preset quick")
    parser.add_argument("--preset", default=None, choices=sorted(BUDGET_S))
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0],
        help="one fresh run per seed, side by side: the docs' run-to-run spread (test_demo_full reads it)",
    )  # fmt: skip
    parser.add_argument(
        "--output-dir", default=None, help="default: a fresh temp dir (so no stage is skipped)"
    )
    args = parser.parse_args()
    root = Path(args.output_dir or tempfile.mkdtemp(prefix="r1lab-bench-demo-"))
    preset = args.preset or ("quick" if args.quick else "full")
    runs = []
    for seed in args.seeds:
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        config = make_config(
            {"preset": preset, "seed": seed, "output_dir": str(root / f"seed-{seed}"), "progress": False}
        )
        results = run_demo(config)
        total = time.perf_counter() - start
        report(results, preset, seed, total, load_before)
        runs.append(
            {"seed": seed, "total_s": total, "load": [load_before, os.getloadavg()[0]], "results": results}
        )
    first = runs[0]
    tables_out = tables(first["results"])
    if len(runs) > 1 or preset == "full":
        tables_out |= run_tables(runs)
    write_results(
        "demo", args,
        {
            "preset": preset,
            "total_s": first["total_s"],
            "stages": first["results"]["stages"],
            "models": first["results"]["models"],
            "runs": [
                {"seed": run["seed"], "total_s": run["total_s"], "load": run["load"],
                 "models": run["results"]["models"], "sampling_check": run["results"].get("sampling_check")}
                for run in runs
            ],
        },
        tables=tables_out, lines=lines(first["results"], preset, first["total_s"]), name=f"demo-{preset}",
    )  # fmt: skip


def report(results: dict, preset: str, seed: int, total: float, load_before: float) -> None:
    """One run's stage times against the budget and its models' numbers, printed."""
    print(
        f"\ndemo ({preset}, seed {seed}) on {os.cpu_count()} CPUs; load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after"
    )
    print(f"{'stage':<16} {'seconds':>9} {'share':>7}")
    for stage in results["stages"]:
        print(f"{stage['title']:<16} {stage['seconds']:>9.1f} {stage['seconds'] / total:>7.1%}")
    print(
        f"{'total':<16} {total:>9.1f}   budget {BUDGET_S[preset]:.0f} s -> ratio {total / BUDGET_S[preset]:.2f}"
    )
    for name, model in results["models"].items():
        print(
            f"{name:<16} pass@1 {model['pass@1']:.3f}  cons@n {model.get('cons@n') or 0:.3f}  "
            f"mean length {model.get('length_mean') or 0:.1f}  format {model.get('format') or 0:.3f}"
        )
    print(results["headline"])


def run_tables(runs: list[dict]) -> dict:
    """One row per seed: the models' pass@1 (docs/demo.md) and the stage times (docs/benchmarks.md)."""
    accuracy, timings = [], []
    for run in runs:
        # stage times from the stage markers: a rerun that resumed a stopped run reports the real ones
        results, label = run["results"], f"seed {run['seed']}"
        total = results.get("pipeline_seconds") or run["total_s"]
        models = results["models"]
        working = [models[name].get("shows_working") for name in ("cold_start", "grpo")]
        accuracy.append([
            label, *(percent(models[name], "pass@1") for name in ("cold_start", "grpo", "student")),
            " → ".join(f"{value:.0%}" for value in working) if None not in working else "",
            minutes(total),
        ])  # fmt: skip
        seconds = {stage["name"]: stage["seconds"] for stage in results["stages"]}
        timings.append([label, *(minutes(seconds.get(stage, 0.0)) for stage in TIMED_STAGES), minutes(total)])
    return {
        "accuracy": table(
            [
                "run",
                "cold start pass@1",
                "GRPO pass@1",
                "student pass@1",
                "shows working (cold → GRPO)",
                "wall time",
            ],
            accuracy,
            right=5,
        ),  # fmt: skip
        "timings": table(["run", *TIMED_STAGES.values(), "total"], timings, right=len(TIMED_STAGES) + 1),
    }


#: The stages docs/benchmarks.md times, with their column titles.
TIMED_STAGES = {
    "data": "data",
    "cold_start": "cold-start SFT",
    "grpo": "GRPO",
    "distill": "distillation",
    "evaluate": "evaluation (3 models)",
}


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} m {seconds % 60:02.0f} s" if seconds >= 60 else f"{seconds:.1f} s"


def percent(model: dict, key: str) -> str:
    value, stderr = model.get(key), model.get(f"{key}_stderr")
    if value is None:
        return ""
    return f"{value:.1%}" + (f" ± {100 * stderr:.1f}" if stderr is not None else "")


def tables(results: dict) -> dict:
    """The report's own two tables (stages, models), so the docs show what report.md shows."""
    from r1lab.demo.report.tables import model_headers, model_rows, stage_headers, stage_rows

    return {
        "stages": table(stage_headers(results), stage_rows(results)),
        "models": table(model_headers(results), model_rows(results)),
    }


def lines(results: dict, preset: str, total: float) -> dict:
    """The headline, and for the real-model preset the README's sentence (start, GRPO, student models)."""
    out = {"headline": results["headline"]}
    models = list(results["models"].values())
    if preset == "smollm2" and len(models) >= 3:
        start, grpo, student = models[:3]
        out["readme"] = (
            f"`make demo-smollm2` on {os.cpu_count()} CPU cores took {total / 60:.0f} minutes ({minutes(total)}): "
            f"30 GRPO steps took held-out pass@1 on two-digit\nsums from {percent(start, 'pass@1')} to "
            f"{percent(grpo, 'pass@1')} and the `<think>` format from {start.get('format', 0):.0%} to "
            f"{grpo.get('format', 0):.0%}, and the instruct model\nfine-tuned on the GRPO model's correct answers "
            f"reached {percent(student, 'pass@1')} (docs/demo.md)."
        )
    return out


if __name__ == "__main__":
    main()
