"""GRPO's generation on a CPU: TRL's transformers `generate` against TRL's colocated vLLM, side by side.

    python bench/grpo_vllm.py [--steps 6] [--setups recipe,demo] [--model DIR]

Each setup trains the real SmolLM2-135M-Instruct with the same prompts, group size, sampling and
seed twice in one invocation, once per generation path, each in a fresh `r1lab grpo` process:

- ``recipe``: recipes/smollm2-135m/grpo.yaml (4 prompts x 4 completions of <= 96 tokens a step);
- ``demo``: the smollm2 demo preset's GRPO (1 prompt x 8 completions of <= 128 tokens, the worked
  example prompt, T 0.6 / top-p 0.95).

Reported per run: the median of TRL's ``step_time`` after the first (warm-up) step, the mean
completion length (the paths sample different completions, and a step's time follows its longest),
the seconds a step spends per completion token, and the process's wall time, which includes
loading and, for vLLM, building the engine. Writes bench/results/grpo-vllm.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from record import table, write_results

ROOT = Path(__file__).resolve().parents[1]
PATHS = {"transformers": [], "vllm": ["--use_vllm", "true", "--vllm_mode", "colocate"]}
DEMO_DATA = {"num_examples": 200, "digits": 2, "ops": "+", "seed": 0}


def setup_args(setup: str, model: str) -> list[str]:
    """The `r1lab grpo` arguments of one setup (the demo's as its GRPO stage sets them)."""
    if setup == "recipe":
        return ["--config", str(ROOT / "recipes/smollm2-135m/grpo.yaml"), "--model_name_or_path", model]
    overrides = {
        "model_name_or_path": model,
        "dataset": "task:arithmetic",
        "dataset_params": json.dumps(DEMO_DATA),
        "prompt_template": "math",
        "system_prompt": "example",
        "rewards": "accuracy=1.0,format=0.5",
        "learning_rate": 1e-5,
        "lr_scheduler_type": "constant_with_warmup",
        "warmup_steps": 2,
        "per_device_train_batch_size": 8,
        "num_generations": 8,
        "max_completion_length": 128,
        "temperature": 0.6,
        "top_p": 0.95,
        "beta": 0.0,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": "none",
        "seed": 0,
    }
    return [a for k, v in overrides.items() for a in (f"--{k}", str(v))]


def run(setup: str, path: str, model: str, steps: int, work: Path) -> dict:
    out = work / f"{setup}-{path}"
    cmd = [sys.executable, "-m", "r1lab.cli", "grpo", *setup_args(setup, model), *PATHS[path]]
    cmd += ["--output_dir", str(out), "--max_steps", str(steps)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"{setup} / {path} failed")
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    rows = [r for r in rows if "step_time" in r]
    times = [r["step_time"] for r in rows]
    lengths = [r["completion_length"] for r in rows]
    warm = times[1:] or times
    return {
        "step_times": times,
        "completion_lengths": lengths,
        "median_step_s": statistics.median(warm),
        "mean_length": statistics.mean(lengths[1:] or lengths),
        "s_per_length_token": sum(warm) / sum(lengths[1:] or lengths),
        "wall_s": wall,
        "reward": [r.get("reward") for r in rows],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--setups", default="recipe,demo")
    parser.add_argument(
        "--model", default=os.environ.get("R1LAB_SMOLLM2_DIR", str(ROOT / "models/smollm2-135m-instruct"))
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="r1lab-bench-grpo-vllm-"))
    results, rows = {}, []
    for setup in args.setups.split(","):
        for path in PATHS:
            r = run(setup, path, args.model, args.steps, work)
            results[f"{setup}/{path}"] = r
            print(
                f"{setup:7} {path:13} median step {r['median_step_s']:6.1f} s  mean length {r['mean_length']:5.1f}"
                f"  s/len-token {r['s_per_length_token']:.3f}  wall {r['wall_s']:6.1f} s",
                flush=True,
            )
        base, fast = results[f"{setup}/transformers"], results[f"{setup}/vllm"]
        for path, r in (("transformers (TRL `generate`)", base), ("vLLM colocated", fast)):
            rows.append(
                [
                    setup,
                    path,
                    f"{r['median_step_s']:.1f}",
                    f"{r['mean_length']:.0f}",
                    f"{base['s_per_length_token'] / r['s_per_length_token']:.2f}x",
                    f"{r['wall_s']:.0f} s",
                ]
            )
    columns = ["setup", "generation", "median s/step", "mean completion tokens", "speed per token", "wall"]
    write_results(
        "grpo-vllm",
        args,
        results,
        tables={"steps": table(columns, rows, right=4)},
    )


if __name__ == "__main__":
    main()
