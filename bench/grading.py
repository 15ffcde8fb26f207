"""Grading throughput: r1lab's process pool vs a plain sequential math-verify loop, same 2,000 pairs.

    .venv/bin/python bench/grading.py [--pairs 2000] [--workers N] [--timeout 5]

Pairs are real: MATH-500 and GSM8K reference solutions graded against their own answer (correct)
and against another problem's answer (wrong), all (response, gold) pairs distinct. The baseline is
what Open-R1-style scripts do: ``verify(parse(gold), parse(response))`` one after the other, with
math-verify's own signal timeouts. Both sides are warmed up first (imports, worker start-up),
and the pool's cold start is reported separately. Then a hostile set (huge powers and factorials,
100 KB responses) measures the worst latency of one item against the timeout.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time

from record import table, write_results

HOSTILE = [
    "\\boxed{9^{9^{9^{9}}}}",
    "\\boxed{(10^{100000000})!}",
    "\\boxed{\\frac{1}{10^{10^{9}}}}",
    "x" * 100_000 + " \\boxed{2^{2^{40}}}",
    "\\boxed{" + "{" * 3000 + "1" + "}" * 3000 + "}",
    "\\boxed{\\prod_{k=1}^{10^{8}} k}",
    "\\boxed{10^{10^{10}}}",
    "\\boxed{(10^{7})!}",
]


def build_pairs(count: int) -> tuple[list[str], list[str]]:
    from r1lab.data import load_benchmark

    responses, golds = [], []
    for name in ("math500", "gsm8k"):
        data = load_benchmark(name)
        solutions, answers = list(data["solution"]), list(data["answer"])
        n = len(solutions)
        for shift in (0, 7):  # 0: its own answer (correct); 7: another problem's answer (wrong)
            for i in range(n):
                responses.append(solutions[i])
                golds.append(answers[(i + shift) % n])
    # interleave sources so both halves of any prefix hold both benchmarks and both outcomes
    order = sorted(range(len(responses)), key=lambda i: (i * 7919) % len(responses))[:count]
    return [responses[i] for i in order], [golds[i] for i in order]


def sequential_math_verify(responses: list[str], golds: list[str]) -> tuple[list[bool], list[float]]:
    from math_verify import parse, verify

    verdicts, latencies = [], []
    for response, gold in zip(responses, golds, strict=True):
        start = time.perf_counter()
        verdicts.append(bool(verify(parse(gold), parse(response))))
        latencies.append(time.perf_counter() - start)
    return verdicts, latencies


def worker_cpu_seconds(pool) -> float:
    """CPU seconds (user + system) used so far by the pool's live worker processes."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for worker in pool._workers:
        try:
            with open(f"/proc/{worker.process.pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / ticks


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=None, help="pool size (default: one per core)")
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)

    from r1lab.grading import GradingPool, grade_many
    from r1lab.grading.pool import default_workers

    workers = args.workers or default_workers()
    responses, golds = build_pairs(args.pairs)
    print(f"cores available: {default_workers()}  load average: {os.getloadavg()}  pairs: {len(responses)}")

    sequential_math_verify(responses[:5], golds[:5])  # warm-up: imports and lazy set-up
    start, cpu = time.perf_counter(), time.process_time()
    baseline, base_latencies = sequential_math_verify(responses, golds)
    base_s, base_cpu = time.perf_counter() - start, time.process_time() - cpu

    cold = time.perf_counter()
    pool = GradingPool(workers)
    from r1lab.grading import pool as pool_module

    pool_module._pools[workers] = pool  # grade_many(workers=N) uses this pool
    grade_many(["\\boxed{1}"] * workers, ["1"] * workers, workers=workers)
    startup_s = time.perf_counter() - cold
    pool.latencies.clear()
    start, cpu, workers_cpu = time.perf_counter(), time.process_time(), worker_cpu_seconds(pool)
    grades = grade_many(responses, golds, timeout=args.timeout, workers=workers)
    pool_s = time.perf_counter() - start
    parent_cpu, workers_cpu = time.process_time() - cpu, worker_cpu_seconds(pool) - workers_cpu
    latencies = list(pool.latencies)

    agree = sum(g.correct == b for g, b in zip(grades, baseline, strict=True))
    n = len(responses)
    print(f"\n{'path':<34}{'items/s':>9}{'seconds':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    rows = [
        ("sequential math-verify loop", n / base_s, base_s, base_latencies),
        (f"r1lab grade_many, {workers} workers", n / pool_s, pool_s, latencies),
    ]
    for name, rate, seconds, lat in rows:
        print(
            f"{name:<34}{rate:>9.1f}{seconds:>9.2f}{statistics.median(lat) * 1e3:>9.1f}"
            f"{percentile(lat, 0.99) * 1e3:>9.1f}{max(lat) * 1e3:>9.1f}"
        )
    print(
        f"\nspeed-up: {base_s / pool_s:.2f}x   pool cold start: {startup_s:.1f} s   "
        f"(with start-up: {n / (pool_s + startup_s):.1f} items/s)"
    )
    print(
        f"CPU seconds: baseline {base_cpu:.2f}; r1lab {parent_cpu + workers_cpu:.2f} "
        f"(caller {parent_cpu:.2f} + workers {workers_cpu:.2f}); speed-up if the {workers} cores were ours "
        f"alone (CPU-bound): {base_cpu / max(parent_cpu + workers_cpu, 1e-9) * workers:.2f}x"
    )
    print(
        f"accuracy: r1lab {sum(g.correct for g in grades) / n:.4f}, baseline {sum(baseline) / n:.4f}; "
        f"verdicts agree on {agree}/{n}"
    )
    statuses: dict[str, int] = {}
    for g in grades:
        statuses[g.status] = statuses.get(g.status, 0) + 1
    print(f"statuses: {statuses}")

    pool.latencies.clear()
    start = time.perf_counter()
    hostile = grade_many(HOSTILE, ["1"] * len(HOSTILE), timeout=args.timeout, workers=workers)
    hostile_s = time.perf_counter() - start
    worst = max(pool.latencies)
    print(
        f"\nhostile set: {len(HOSTILE)} items in {hostile_s:.1f} s, statuses "
        f"{[g.status for g in hostile]}\nworst item latency {worst:.2f} s with timeout {args.timeout:g} s "
        f"(bound: timeout + 1 s = {args.timeout + 1:g} s): {'OK' if worst <= args.timeout + 1 else 'OVER'}; "
        f"worker restarts: {pool.restarts}"
    )
    pool.close()

    load = os.getloadavg()[0]
    cpu_r1lab = parent_cpu + workers_cpu
    row = [
        f"16 queued per worker ({load:.1f})",
        f"{n / base_s:,.0f} items/s",
        f"{n / pool_s:,.0f} items/s",
        f"**{base_s / pool_s:.2f}x**",
        f"{base_cpu:.2f} / {cpu_r1lab:.2f}",
        f"{worst:.2f} s",
    ]
    columns = [
        "pool version (load avg)",
        "sequential math-verify loop",
        f"r1lab `grade_many`, {workers} workers",
        "wall ratio",
        "CPU s: baseline / r1lab",
        "worst hostile item",
    ]
    results = {
        "pairs": n,
        "workers": workers,
        "sequential_s": base_s,
        "pool_s": pool_s,
        "pool_cold_start_s": startup_s,
        "cpu_s": {"baseline": base_cpu, "r1lab_caller": parent_cpu, "r1lab_workers": workers_cpu},
        "accuracy": {
            "r1lab": sum(g.correct for g in grades) / n,
            "baseline": sum(baseline) / n,
            "agree": agree,
        },
        "statuses": statuses,
        "hostile": {"items": len(HOSTILE), "worst_s": worst, "statuses": [g.status for g in hostile]},
        "worker_restarts": pool.restarts,
    }
    write_results(
        "grading", args, results, tables={"run": table(columns, [row])}, lines={"notes": notes(results)}
    )


def notes(results: dict) -> str:
    """The run's sentence for docs/benchmarks.md: what the table row leaves out."""
    hostile = results["hostile"]
    return (
        f"pool cold start {results['pool_cold_start_s']:.1f} s; verdicts agree on {results['accuracy']['agree']:,} of "
        f"{results['pairs']:,} pairs; the hostile set's worst item took {hostile['worst_s']:.2f} s (bound: timeout + 1 s), "
        f"{results['worker_restarts']} worker restarts"
    )


if __name__ == "__main__":
    main()
