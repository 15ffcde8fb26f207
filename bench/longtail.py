"""Benchmark: the long tail of multi-sample runs, FIFO vs longest-expected first (prior / adaptive).

Workload (issue 14, part 3): P problems x N samples; problem p has a difficulty d_p ~ log-normal
(sigma 0.7) and sample k a length d_p * log-normal noise (sigma 0.5), in units of UNIT tokens. The
"previous run" (the length prior) is the same problems with each difficulty drifted by a further
log-normal (sigma ``--drift``, a changed checkpoint) and fresh per-sample noise, written in the
format ``r1lab generate`` writes.

Part 1 (the real client). A loopback server (``r1lab.testkit.LengthServer``, its own process) is
an engine with S slots: a request waits for a free slot and holds it for ``tokens * token_time``
seconds. The k-th request for problem
p gets the k-th length of p, so every schedule sees the same lengths per problem. Each schedule runs
``r1lab generate`` against a fresh server, side by side in one process: FIFO (``--schedule fifo``),
the prior (``--length-prior FILE``), adaptive (no prior). Makespan = the run's ``duration_s``;
the lower bound is max(total work / S, longest job).

Part 2 (simulation). The same policies (schedule.py's own classes, driven by a discrete-event list
scheduler instead of a server) over many seeds at full size, for mean and worst-case ratios.

Run: ``.venv/bin/python bench/longtail.py [--quick]``; the numbers go in docs/generation.md ("The long tail") and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import statistics
import sys
import tempfile
from dataclasses import dataclass, field

from record import table, write_results

from r1lab.testkit import LengthServer

UNIT = 4000  # tokens of a median sample of a median problem


def workload(problems: int, samples: int, seed: int, drift: float) -> tuple[list[list[int]], list[list[int]]]:
    """(lengths this run, lengths of the previous run) per problem, in tokens."""
    rng = random.Random(seed)
    difficulty = [rng.lognormvariate(0.0, 0.7) for _ in range(problems)]
    now = [[max(1, int(UNIT * d * rng.lognormvariate(0.0, 0.5))) for _ in range(samples)] for d in difficulty]
    before = []
    for d in difficulty:
        d_before = d * rng.lognormvariate(0.0, drift)
        before.append([max(1, int(UNIT * d_before * rng.lognormvariate(0.0, 0.5))) for _ in range(samples)])
    return now, before


def write_prior(path: str, before: list[list[int]]) -> None:
    """The previous run's output, as ``r1lab generate`` writes it (texts elided)."""
    with open(path, "w", encoding="utf-8") as f:
        for p, lengths in enumerate(before):
            row = {
                "id": f"p{p}",
                "problem": f"problem {p}",
                "generations": ["" for _ in lengths],
                "finish_reasons": ["stop" for _ in lengths],
                "usage": {
                    "prompt_tokens": 20 * len(lengths),
                    "completion_tokens": sum(lengths),
                    "completion_tokens_per_generation": lengths,
                },
            }
            f.write(json.dumps(row) + "\n")


def lower_bound(lengths: list[list[int]], slots: int) -> float:
    flat = [x for row in lengths for x in row]
    return max(sum(flat) / slots, max(flat))


# ---------------------------------------------------------------- part 1: the real client
def r1lab_run(url: str, problems: int, samples: int, slots: int, out: str, **options) -> float:
    """One real ``r1lab generate`` run; returns its makespan (the stats' duration_s)."""
    from r1lab.generation import GenerateConfig, generate

    rows = [{"id": f"p{p}", "problem": f"problem {p}"} for p in range(problems)]
    config = GenerateConfig(
        output=out,
        base_urls=[url],
        model="m",
        prompt_template="plain",
        num_generations=samples,
        max_tokens=10**6,
        max_concurrent=slots,
        progress=False,
        **options,
    )
    stats = generate(config, rows=rows)
    assert stats.rows_done == problems, stats.to_dict()
    return stats.duration_s


def real_client(
    name: str, problems: int, samples: int, slots: int, token_time: float, drift: float, seed: int, tmp: str
):
    lengths, before = workload(problems, samples, seed, drift)
    prior = os.path.join(tmp, f"{name}-{seed}-previous.jsonl")
    write_prior(prior, before)
    bound = lower_bound(lengths, slots) * token_time
    results = {}
    for label, options in [
        ("fifo", {"schedule": "fifo"}),
        ("prior", {"schedule": "prior", "length_prior": prior}),
        ("adaptive", {"schedule": "adaptive"}),
    ]:
        with LengthServer(lengths, token_time, slots, prompt_tokens=20).process() as server:
            out = os.path.join(tmp, f"{name}-{seed}-{label}.jsonl")
            results[label] = r1lab_run(server.base_url, problems, samples, slots, out, **options)
    print(
        f"\n### {name}: {problems} problems x {samples} samples, {slots} slots, seed {seed}, prior drift {drift}"
    )
    print(f"lower bound {bound:.2f} s (time-compressed: {token_time * 1e6:.0f} us/token)")
    prior_means = {f"p{p}": statistics.mean(row) for p, row in enumerate(before)}
    sim_bound = lower_bound(lengths, slots)
    sim = {
        label: simulate(lengths, slots, label, prior_means if label == "prior" else None) / sim_bound
        for label in results
    }
    print("\n| schedule | makespan (s) | / lower bound | / FIFO | simulated, same lengths: / bound, / FIFO |")
    print("|---|---|---|---|---|")
    for label, t in results.items():
        print(
            f"| {label} | {t:.2f} | {t / bound:.3f} | {t / results['fifo']:.3f} "
            f"| {sim[label]:.3f}, {sim[label] / sim['fifo']:.3f} |"
        )
    return results, bound


# ---------------------------------------------------------------- part 2: simulation
@dataclass
class SimState:  # what schedule.py reads of a client.RowState
    row_id: str
    wanted: int
    finished: bool = False
    completion_tokens_per_generation: list = field(default_factory=list)


@dataclass
class SimJob:
    state: SimState
    n: int = 1


def simulate(lengths: list[list[int]], slots: int, policy: str, prior: dict[str, float] | None) -> float:
    """Makespan of list scheduling on ``slots`` machines with the given schedule.py policy."""
    from r1lab.generation.schedule import lookahead_rows, make_schedule, prior_order

    ids = [f"p{p}" for p in range(len(lengths))]
    order = prior_order(ids, prior) if prior else list(range(len(ids)))
    counters = {row_id: 0 for row_id in ids}

    def make_jobs(row_id: str, row: dict) -> list[SimJob]:
        state = SimState(row_id, len(lengths[row["p"]]))
        return [SimJob(state) for _ in range(state.wanted)]

    rows = iter([(ids[p], {"p": p}) for p in order])
    kind = {"fifo": "fifo", "prior": "prior", "adaptive": "adaptive"}[policy]
    schedule = make_schedule(
        kind, rows, make_jobs, num_generations=len(lengths[0]), use_n=False, has_prior=prior is not None,
        lookahead=lookahead_rows(slots),
    )  # fmt: skip
    now, free, running, tie = 0.0, slots, [], 0
    while True:
        while free:
            job = schedule.next()
            if job is None:
                break
            p = int(job.state.row_id[1:])
            length = lengths[p][counters[job.state.row_id]]
            counters[job.state.row_id] += 1
            tie += 1
            heapq.heappush(running, (now + length, tie, job, length))
            free -= 1
        if not running:
            return now
        now, _, job, length = heapq.heappop(running)
        free += 1
        job.state.completion_tokens_per_generation.append(length)
        if len(job.state.completion_tokens_per_generation) == job.state.wanted:
            job.state.finished = True
        schedule.finished(job)


def simulation(problems: int, samples: int, slots: int, seeds: int, drift: float) -> list[str]:
    ratios: dict[str, list[float]] = {"fifo": [], "prior": [], "adaptive": []}
    for seed in range(seeds):
        lengths, before = workload(problems, samples, 1000 + seed, drift)
        prior = {f"p{p}": statistics.mean(row) for p, row in enumerate(before)}
        bound = lower_bound(lengths, slots)
        for policy in ratios:
            ratios[policy].append(
                simulate(lengths, slots, policy, prior if policy == "prior" else None) / bound
            )
    fifo = ratios["fifo"]
    row = [f"{problems} x {samples}, {slots} slots, {seeds} seeds, drift {drift}"] + [
        f"{statistics.mean(r):.3f} ({statistics.mean(a / b for a, b in zip(r, fifo, strict=True)):.3f}, "
        f"worst {max(a / b for a, b in zip(r, fifo, strict=True)):.3f})"
        for r in ratios.values()
    ]  # fmt: skip
    print("| " + " | ".join(row) + " |")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke test of the bench)")
    parser.add_argument("--slots", type=int, default=256)
    parser.add_argument("--token-time", type=float, default=1.5e-4, help="simulated seconds per token")
    parser.add_argument(
        "--drift", type=float, default=0.3, help="sigma of the checkpoint change in the prior"
    )
    parser.add_argument("--seed", type=int, default=0, help="first workload seed of part 1")
    parser.add_argument("--real-seeds", type=int, default=1, help="workloads per size in part 1")
    parser.add_argument("--seeds", type=int, default=None, help="simulation seeds per workload")
    parser.add_argument("--no-real", action="store_true", help="only the simulation")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs (shared); load {os.getloadavg()[0]:.1f}")
    workloads = [("AIME-like", 30, 64), ("MATH-500-like", 500, 4)]
    slots = args.slots
    real, sim_rows = {}, []
    if args.quick:
        workloads, slots = [("AIME-like", 15, 32), ("MATH-500-like", 120, 4)], min(args.slots, 64)
    if not args.no_real:
        print("\n## Part 1: the real client against a loopback slot engine")
        with tempfile.TemporaryDirectory() as tmp:
            for name, problems, samples in workloads:
                ratios: dict[str, list[float]] = {}
                for seed in range(args.seed, args.seed + args.real_seeds):
                    results, _ = real_client(
                        name, problems, samples, slots, args.token_time, args.drift, seed, tmp
                    )
                    real[f"{name} seed {seed}"] = {"makespan_s": results, "lower_bound_s": _}
                    for label, t in results.items():
                        ratios.setdefault(label, []).append(t / results["fifo"])
                if args.real_seeds > 1:
                    print(
                        f"\n{name}, mean over {args.real_seeds} workloads, makespan / FIFO: "
                        + ", ".join(f"{label} {statistics.mean(r):.3f}" for label, r in ratios.items())
                    )
        print(f"(load after part 1: {os.getloadavg()[0]:.1f})")
    seeds = args.seeds or (5 if args.quick else 20)
    print("\n## Part 2: simulated list scheduling with schedule.py's policies")
    print("makespan / lower bound, mean over seeds (mean ratio to FIFO, worst ratio to FIFO)\n")
    print("| workload | FIFO | prior | adaptive |")
    print("|---|---|---|---|")
    for _, problems, samples in workloads:
        for drift in (0.0, args.drift):
            sim_rows.append(simulation(problems, samples, slots, seeds, drift))
    extra = [(30, 64, 64), (500, 4, 64), (30, 8, 64), (5000, 4, 256)]
    for problems, samples, s in [] if args.quick else extra:
        sim_rows.append(simulation(problems, samples, s, max(3, seeds // 4), args.drift))
    write_results(
        "longtail", args, {"real_client": real, "simulation": sim_rows},
        tables={"simulation": table(["workload", "FIFO", "prior", "adaptive"], sim_rows)},
        name="longtail-quick" if args.quick else "longtail",
    )  # fmt: skip


if __name__ == "__main__":
    main()
