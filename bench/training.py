"""Training benchmarks: r1lab's overhead over TRL, and whether GRPO learns on the tiny task.

    python bench/training.py                          # both of these, with their defaults
    python bench/training.py overhead [--steps 8]     # seconds per GRPO step + peak RSS: r1lab vs TRL
    python bench/training.py learning [--grpo-steps 30]   # held-out accuracy: SFT, then GRPO
    python bench/training.py accuracy MODEL_DIR        # held-out accuracy of one model

``overhead`` runs the same GRPO configuration twice, each in a fresh process: once through
``r1lab grpo`` (recipe, data, rewards from the registry, metrics file) and once written directly
against TRL's GRPOTrainer with the same model, data, reward functions and GRPOConfig. Each run
reports the median seconds per step after the first (warm-up) step, and the process's peak RSS.
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

import yaml
from record import table, write_results

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
#: The tiny recipes' task and split, read from the recipe so the benchmark never drifts from it.
TASK = yaml.safe_load((ROOT / "recipes/tiny/sft.yaml").read_text())["dataset_params"]


# --------------------------------------------------------------------------- accuracy


def held_out_rows(limit: int = 300) -> list[dict]:
    """The problems the tiny recipes hold out (same generator and split), never trained on."""
    from r1lab.data.tasks import make_task, train_test_split

    params = dict(TASK)
    test_fraction = params.pop("test_fraction")
    _, test = train_test_split(make_task("arithmetic", params.pop("num_examples"), **params), test_fraction)
    return test[:limit]


def held_out_accuracy(
    model_dir: str | Path,
    rows: list[dict],
    *,
    temperature: float | None = None,
    top_p: float = 1.0,
    samples: int = 1,
    max_new_tokens: int = 96,
) -> tuple[float, float]:
    """(accuracy, share of responses that show the column working) on held-out problems.

    Greedy when ``temperature`` is None, else ``samples`` samples per problem. Graded by
    ``r1lab.grading``, the path rewards and evaluation use.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from r1lab.data.tasks import shows_working
    from r1lab.grading import grade_many
    from r1lab.prompts import build_messages, split_reasoning

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    sampling = (
        {"do_sample": False}
        if temperature is None
        else {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": 0}
    )
    texts = [
        tokenizer.apply_chat_template(build_messages(r, "plain"), tokenize=False, add_generation_prompt=True)
        for r in rows
        for _ in range(samples)
    ]
    responses: list[str] = []
    for start in range(0, len(texts), 256):
        enc = tokenizer(
            texts[start : start + 256], return_tensors="pt", padding=True, add_special_tokens=False
        )
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=max_new_tokens, **sampling)
        responses += tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    grades = grade_many(responses, [r["answer"] for r in rows for _ in range(samples)])
    working = [shows_working(split_reasoning(text)[0]) for text in responses]
    return sum(g.correct for g in grades) / len(grades), sum(working) / len(working)


def _accuracy_line(
    label: str, model_dir: Path, rows: list[dict], sampling: dict
) -> tuple[float, float, float]:
    greedy, _ = held_out_accuracy(model_dir, rows)
    sampled, working = held_out_accuracy(model_dir, rows, **sampling)
    print(
        f"{label:<12} greedy {greedy:.3f}   sampled pass@1 {sampled:.3f}   shows working {working:.2f}",
        flush=True,
    )
    return greedy, sampled, working


# --------------------------------------------------------------------------- learning check


def learning(args) -> None:
    """SFT (recipes/tiny/sft.yaml), then GRPO (recipes/tiny/grpo.yaml); held-out accuracy before and after."""
    from r1lab.models import build_tiny_model
    from r1lab.training import GRPORecipe, SFTRecipe, load_recipe, train_grpo, train_sft

    work = Path(args.work_dir or tempfile.mkdtemp(prefix="r1lab-learning-"))
    rows = held_out_rows(args.eval_problems)
    grpo_yaml = yaml.safe_load((ROOT / "recipes/tiny/grpo.yaml").read_text())
    sampling = {"temperature": grpo_yaml["temperature"], "top_p": grpo_yaml["top_p"], "samples": args.samples}
    sft_dir = work / "sft"
    sft_s = None
    if not (sft_dir / "model.safetensors").exists():
        base = build_tiny_model(work / "tiny")
        recipe = load_recipe(
            SFTRecipe,
            ROOT / "recipes/tiny/sft.yaml",
            {"model_name_or_path": str(base), "output_dir": str(sft_dir), "max_steps": args.sft_steps},
        )
        start = time.perf_counter()
        train_sft(recipe)
        sft_s = time.perf_counter() - start
        print(f"sft: {args.sft_steps} steps in {sft_s:.0f} s")
    print(
        f"held-out: {len(rows)} problems; sampled at temperature {sampling['temperature']}, "
        f"top-p {sampling['top_p']}, {args.samples} samples each"
    )
    cold = _accuracy_line("cold start", sft_dir, rows, sampling)
    recipe = load_recipe(
        GRPORecipe,
        ROOT / "recipes/tiny/grpo.yaml",
        {"model_name_or_path": str(sft_dir), "output_dir": str(work / "grpo"), "max_steps": args.grpo_steps},
    )
    start = time.perf_counter()
    train_grpo(recipe)
    grpo_s = time.perf_counter() - start
    print(f"grpo: {args.grpo_steps} steps in {grpo_s:.0f} s")
    after = _accuracy_line("after GRPO", work / "grpo", rows, sampling)
    print(f"metrics: {work / 'grpo' / 'metrics.jsonl'}")
    sft_label = f"cold start (SFT {args.sft_steps} steps" + (f", {sft_s:.0f} s)" if sft_s else ", reused)")
    rows_out = [
        [sft_label, f"{cold[0]:.3f}", f"{cold[1]:.3f}", f"{cold[2]:.2f}"],
        [f"after GRPO ({args.grpo_steps} steps, {grpo_s:.0f} s)", f"**{after[0]:.3f}**", f"**{after[1]:.3f}**",
         f"{after[2]:.2f}"],
    ]  # fmt: skip
    columns = ["model", "greedy", "sampled pass@1", "shows working"]
    results = {
        "sft_s": sft_s,
        "grpo_s": grpo_s,
        "cold_start": cold,
        "after_grpo": after,
        "sampling": sampling,
    }
    write_results("training", args, results, tables={"summary": table(columns, rows_out, right=3)},
                  name="training-learning")  # fmt: skip


# --------------------------------------------------------------------------- overhead


def _overhead_overrides(model_dir: str, out: str, steps: int) -> dict:
    return {
        "model_name_or_path": model_dir,
        "output_dir": out,
        "max_steps": steps,
        "per_device_train_batch_size": 16,
        "num_generations": 8,
        "logging_steps": 1,
        "save_strategy": "no",
        "dataset_params": {**TASK, "num_examples": 1000},
    }


def _run_r1lab(model_dir: str, out: str, steps: int) -> None:
    from r1lab.training import GRPORecipe, load_recipe, train_grpo

    train_grpo(
        load_recipe(GRPORecipe, ROOT / "recipes/tiny/grpo.yaml", _overhead_overrides(model_dir, out, steps))
    )


def _run_trl(model_dir: str, out: str, steps: int) -> None:
    """The same run written against TRL alone: what a user of TRL would write by hand."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from r1lab.data.tasks import make_arithmetic, train_test_split
    from r1lab.rewards import get_reward_funcs

    overrides = _overhead_overrides(model_dir, out, steps)
    task = dict(overrides.pop("dataset_params"))
    rows, _ = train_test_split(make_arithmetic(task.pop("num_examples"), digits=2, ops="+", seed=0), 0.1)
    dataset = Dataset.from_list([{**r, "prompt": [{"role": "user", "content": r["problem"]}]} for r in rows])
    recipe = yaml.safe_load((ROOT / "recipes/tiny/grpo.yaml").read_text())
    rewards = recipe["rewards"]
    trl_keys = {
        k: v
        for k, v in recipe.items()
        if k
        not in {"model_name_or_path", "output_dir", "dataset", "dataset_params", "prompt_template", "rewards"}
    }
    trl_keys.update({k: v for k, v in overrides.items() if k not in {"model_name_or_path"}})
    config = GRPOConfig(
        **trl_keys,
        reward_weights=list(rewards.values()),
        bf16=False,
        dataloader_pin_memory=False,
        gradient_checkpointing=False,
    )
    tokenizer = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    trainer = GRPOTrainer(
        model=model_dir,
        reward_funcs=get_reward_funcs(list(rewards)),
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    trainer.train()
    trainer.save_model(out)


def _child(args) -> None:
    """One timed run in this process; prints a JSON line with step times and peak RSS."""
    from transformers import TrainerCallback

    times: list[float] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.t = time.perf_counter()

        def on_step_end(self, *a, **k):
            times.append(time.perf_counter() - self.t)

    import transformers

    original_init = transformers.Trainer.__init__

    def init_with_timer(self, *a, **k):
        original_init(self, *a, **k)
        self.add_callback(StepTimer())

    transformers.Trainer.__init__ = init_with_timer
    (_run_r1lab if args.which == "r1lab" else _run_trl)(args.model_dir, args.out, args.steps)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps({"which": args.which, "step_times": times, "peak_rss_mib": rss_mib}))


def overhead(args) -> None:
    from r1lab.models import build_tiny_model

    work = Path(tempfile.mkdtemp(prefix="r1lab-bench-"))
    model_dir = str(build_tiny_model(work / "tiny"))
    results: dict[str, list[dict]] = {"r1lab": [], "trl": []}
    for repeat in range(args.repeats):
        for which in ("trl", "r1lab") if repeat % 2 == 0 else ("r1lab", "trl"):  # alternate the order
            cmd = [
                sys.executable,
                __file__,
                "_child",
                which,
                model_dir,
                str(work / f"{which}-{repeat}"),
                str(args.steps),
            ]
            proc = subprocess.run(
                cmd, capture_output=True, text=True, env={**os.environ, "R1LAB_LOG_LEVEL": "WARNING"}
            )
            line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                sys.stderr.write(proc.stderr[-3000:])
                raise SystemExit(f"{which} run failed")
            results[which].append(json.loads(line[len("RESULT ") :]))
    summary = {}
    for which, runs in results.items():
        steps = [t for run in runs for t in run["step_times"][1:]]  # drop each run's warm-up step
        summary[which] = (statistics.median(steps), max(run["peak_rss_mib"] for run in runs), len(steps))
    print(f"GRPO, tiny model, batch 16 x 8 generations, {args.steps} steps x {args.repeats} runs each")
    print(f"{'':8} {'s/step (median)':>16} {'peak RSS MiB':>13} {'steps':>6}")
    for which, (sec, rss, n) in summary.items():
        print(f"{which:8} {sec:16.3f} {rss:13.0f} {n:6d}")
    ratio = summary["r1lab"][0] / summary["trl"][0]
    print(f"r1lab / TRL time per step: {ratio:.3f}  (overhead {100 * (ratio - 1):+.1f}%, target <= +5%)")
    print(f"r1lab / TRL peak RSS:      {summary['r1lab'][1] / summary['trl'][1]:.3f}")
    n = summary["r1lab"][2]
    rows = [
        ["r1lab", f"{summary['r1lab'][0]:.1f}", f"{summary['r1lab'][1]:.0f} MiB"],
        ["TRL directly", f"{summary['trl'][0]:.1f}", f"{summary['trl'][1]:.0f} MiB"],
        ["ratio", f"{ratio:.2f}", f"{summary['r1lab'][1] / summary['trl'][1]:.3f}"],
    ]
    write_results("training", args, {"summary": summary, "runs": results},
                  tables={"summary": table(["", f"s/step (median, {n} steps)", "peak RSS"], rows)},
                  name="training-overhead")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="mode")
    p = sub.add_parser("overhead")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--repeats", type=int, default=2)
    p = sub.add_parser("learning")
    p.add_argument("--sft-steps", type=int, default=400)
    p.add_argument("--grpo-steps", type=int, default=30)
    p.add_argument("--eval-problems", type=int, default=300)
    p.add_argument("--samples", type=int, default=4, help="samples per held-out problem")
    p.add_argument("--work-dir", help="reuse an SFT checkpoint from here")
    p = sub.add_parser("accuracy")
    p.add_argument("model_dir")
    p.add_argument("--eval-problems", type=int, default=300)
    p.add_argument("--samples", type=int, default=4)
    p = sub.add_parser("_child")
    p.add_argument("which", choices=["r1lab", "trl"])
    p.add_argument("model_dir")
    p.add_argument("out")
    p.add_argument("steps", type=int)
    args = parser.parse_args()
    if args.mode is None:  # `make bench`: both benchmarks with their defaults
        overhead(parser.parse_args(["overhead"]))
        learning(parser.parse_args(["learning"]))
    elif args.mode == "overhead":
        overhead(args)
    elif args.mode == "learning":
        learning(args)
    elif args.mode == "accuracy":
        sampling = {"temperature": 0.6, "top_p": 0.95, "samples": args.samples}
        _accuracy_line(
            Path(args.model_dir).name, Path(args.model_dir), held_out_rows(args.eval_problems), sampling
        )
    else:
        _child(args)


if __name__ == "__main__":
    main()
