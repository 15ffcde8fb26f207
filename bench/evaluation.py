"""Evaluation benchmarks, measured side by side in one run.

    python bench/evaluation.py [--problems 30] [--samples 64]

* cons@n clustering: a weak model on an AIME-sized set (P problems x N samples) writes its
  answers many ways ("1/2", "0.5", "\\frac{1}{2}", stray integers), so every problem holds several
  answer classes. Clustering is a chain of verifier round trips per problem; the runner clusters
  problems from 16 threads that share the grading pool. Printed: seconds sequentially vs threaded
  and the ratio, with a check that both give the same classes.
* scoring overhead: everything `r1lab evaluate` does after generation (grade_many, clustering,
  metrics, details/results/report files with the PNG) on MATH-500 x 4 samples replayed from a
  loopback server, as samples/s and as a share of the run's wall time.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time

from record import table, write_results

FORMS = [
    ["1/2", "0.5", "\\frac{1}{2}", "\\dfrac{1}{2}"],
    ["3/4", "0.75", "\\frac{3}{4}"],
    ["\\sqrt{2}", "2^{1/2}"],
]


def weak_model_answers(problems: int, samples: int, seed: int = 0) -> list[list[str | None]]:
    rng = random.Random(seed)
    out = []
    for _ in range(problems):
        row: list[str | None] = []
        for _ in range(samples):
            roll = rng.random()
            if roll < 0.6:
                row.append(rng.choice(rng.choice(FORMS)))
            elif roll < 0.9:
                row.append(str(rng.randint(0, 12)))
            else:
                row.append(None)
        out.append(row)
    return out


def bench_clustering(problems: int, samples: int) -> dict:
    from r1lab.evaluation.runner import cluster_problems
    from r1lab.grading import cluster_answers

    answers = weak_model_answers(problems, samples)
    cluster_answers(["1", "1.0"])  # start the pool outside the timings
    start = time.perf_counter()
    sequential = cluster_problems(answers, timeout=5.0, workers=None, threads=1)
    t_seq = time.perf_counter() - start
    start = time.perf_counter()
    threaded = cluster_problems(answers, timeout=5.0, workers=None, threads=16)
    t_thr = time.perf_counter() - start
    classes = sum(len({c for c in row if c is not None}) for row in sequential) / len(sequential)
    print(
        f"cons@n clustering, {problems} problems x {samples} samples ({classes:.1f} answer classes per problem):"
    )
    print(f"  sequential {t_seq:6.2f} s   threaded {t_thr:6.2f} s   speed-up x{t_seq / t_thr:.2f}")
    print(f"  same classes: {sequential == threaded}")
    return {
        "sequential_s": t_seq,
        "threaded_s": t_thr,
        "classes_per_problem": classes,
        "same": sequential == threaded,
    }


def bench_scoring() -> dict:
    from r1lab.data import load_benchmark
    from r1lab.evaluation import EvalConfig, evaluate
    from r1lab.testkit import ReplayServer

    rows = {row["problem"]: row for row in load_benchmark("math500")}
    with (
        tempfile.TemporaryDirectory() as tmp,
        ReplayServer(list(rows), lambda p, i: rows[p]["solution"]) as server,
    ):
        config = EvalConfig(
            benchmarks=["math500"],
            base_urls=[server.base_url],
            model="replay",
            num_samples=4,
            output_dir=tmp,
            progress=False,
            max_concurrent=64,
        )
        (results,) = evaluate(config)
    wall, gen = results["wall_time_s"], results["generation_s"]
    samples = results["num_problems"] * results["num_samples"]
    print(
        f"scoring MATH-500 x 4 ({samples} samples) from a loopback server: pass@1 {results['metrics']['pass@1']:.3f}"
    )
    print(
        f"  wall {wall:.2f} s = generation {gen:.2f} s + scoring {wall - gen:.2f} s "
        f"({samples / (wall - gen):.0f} samples/s scored, grading {results['grading_s']:.2f} s)"
    )
    return {"samples": samples, "wall_s": wall, "generation_s": gen, "grading_s": results["grading_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--problems", type=int, default=30)
    parser.add_argument("--samples", type=int, default=64)
    args = parser.parse_args()
    import os

    print(f"cores available: {len(os.sched_getaffinity(0))}")
    clustering = bench_clustering(args.problems, args.samples)
    scoring = bench_scoring()
    c, sc = clustering, scoring
    scored_s = sc["wall_s"] - sc["generation_s"]
    rows = [
        [
            f"cons@n clustering, {args.problems} problems x {args.samples} samples of a weak model "
            f"({c['classes_per_problem']:.1f} answer classes per problem)",
            f"sequential {c['sequential_s']:.2f} s, threaded (16 problems at once over the shared grading pool) "
            f"{c['threaded_s']:.2f} s: **x{c['sequential_s'] / c['threaded_s']:.1f}**, "
            + ("identical classes" if c["same"] else "**different classes**"),
        ],
        [
            "scoring after generation, MATH-500 x 4 replayed from a loopback server (grade_many, clustering, "
            "metrics, files, PNG)",
            f"{scored_s:.2f} s for {sc['samples']:,} samples (**{sc['samples'] / scored_s:.0f} samples/s**); "
            f"generation of the same took {sc['generation_s']:.2f} s on loopback",
        ],
    ]
    results = {"clustering": clustering, "scoring": scoring}
    write_results("evaluation", args, results, tables={"summary": table(["what", "measured"], rows)})


if __name__ == "__main__":
    main()
