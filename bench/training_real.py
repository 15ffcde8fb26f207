"""Training on the real SmolLM2-135M-Instruct: seconds per step and memory, full vs LoRA, side by side.

    python bench/training_real.py [--steps 3] [--runs grpo,grpo-lora,sft,sft-lora] [--model DIR]

Each run uses its recipe from recipes/smollm2-135m/ with a few steps, in a fresh process (so peak
RSS is that run's), and reports the median wall seconds per step after the first (warm-up) step,
the CPU seconds the process used per step (less sensitive to a busy machine than wall time), the
peak RSS, and for GRPO the mean reward and frac_reward_zero_std. The load average is printed before
and after: on a shared machine compare the ratios between runs of one invocation, not absolutes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from record import table, write_results

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes" / "smollm2-135m"
RUNS = {
    "grpo": ("grpo.yaml", "GRPORecipe", "train_grpo"),
    "grpo-lora": ("grpo-lora.yaml", "GRPORecipe", "train_grpo"),
    "sft": ("sft.yaml", "SFTRecipe", "train_sft"),
    "sft-lora": ("sft-lora.yaml", "SFTRecipe", "train_sft"),
}


def _child(run: str, model: str, out: str, steps: int) -> None:
    from transformers import Trainer, TrainerCallback

    from r1lab import training

    times: list[float] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.t = time.perf_counter()

        def on_step_end(self, *a, **k):
            times.append(time.perf_counter() - self.t)

    original_init = Trainer.__init__

    def init_with_timer(self, *a, **k):
        original_init(self, *a, **k)
        self.add_callback(StepTimer())

    Trainer.__init__ = init_with_timer
    recipe_file, recipe_cls, train = RUNS[run]
    overrides = {"model_name_or_path": model, "output_dir": out, "max_steps": steps, "logging_steps": 1}
    recipe = training.load_recipe(getattr(training, recipe_cls), RECIPES / recipe_file, overrides)
    cpu0 = time.process_time()
    result = getattr(training, train)(recipe)
    cpu = time.process_time() - cpu0
    rows = [json.loads(line) for line in result.metrics_file.read_text().splitlines()]
    print(
        "RESULT "
        + json.dumps(
            {
                "step_times": times,
                "cpu_s_per_step": cpu / max(1, len(times)),
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "reward": [r.get("reward") for r in rows],
                "frac_reward_zero_std": [r.get("frac_reward_zero_std") for r in rows],
                "skipped": [r.get("dynamic_sampling/skipped_share") for r in rows],
                "loss": [r.get("loss") for r in rows],
            }
        )
    )


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--runs", default="grpo,grpo-lora,sft,sft-lora")
    parser.add_argument(
        "--model", default=os.environ.get("R1LAB_SMOLLM2_DIR", str(ROOT / "models/smollm2-135m-instruct"))
    )
    parser.add_argument("--child", nargs=3, metavar=("RUN", "OUT", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.model, args.child[1], int(args.child[2]))
        return
    work = Path(tempfile.mkdtemp(prefix="r1lab-bench-real-"))
    print(f"load average before: {_load()}  ({os.cpu_count()} cores)")
    print(
        f"{'run':10} {'s/step':>8} {'CPU s/step':>11} {'peak RSS MiB':>13}  reward / frac_reward_zero_std / skipped"
    )
    runs, rows = {}, []
    for run in args.runs.split(","):
        cmd = [
            sys.executable,
            __file__,
            "--model",
            args.model,
            "--child",
            run,
            str(work / run),
            str(args.steps),
        ]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env={**os.environ, "R1LAB_LOG_LEVEL": "WARNING"}
        )
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            sys.stderr.write(proc.stderr[-3000:])
            raise SystemExit(f"{run} failed")
        r = json.loads(line[len("RESULT ") :])
        steps = r["step_times"][1:] or r["step_times"]
        extra = (
            f"{r['reward']} / {r['frac_reward_zero_std']} / {r['skipped']}"
            if "grpo" in run
            else f"loss {r['loss']}"
        )
        print(
            f"{run:10} {statistics.median(steps):8.1f} {r['cpu_s_per_step']:11.1f} {r['peak_rss_mib']:13.0f}  {extra}"
        )
        runs[run] = r
        rows.append(
            [
                run,
                f"{statistics.median(steps):.1f}",
                f"{r['cpu_s_per_step']:.1f}",
                f"{r['peak_rss_mib']:.0f}",
                extra,
            ]
        )
    print(f"load average after: {_load()}")
    columns = [
        "run",
        "s/step (median)",
        "CPU s/step",
        "peak RSS MiB",
        "reward / frac_reward_zero_std / skipped, or loss",
    ]
    write_results("training_real", args, {"runs": runs}, tables={"summary": table(columns, rows)})


if __name__ == "__main__":
    main()
