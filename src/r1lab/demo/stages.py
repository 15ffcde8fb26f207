"""The demo's stages, each a thin composition of the public functions of the real stages.

Nothing here re-implements a stage: task data comes from ``r1lab.data.tasks``, the
decontamination from ``r1lab.data.decontaminate``, training from ``r1lab.training``, sampling
from ``r1lab.generation`` through a real ``transformers serve`` on loopback, grading from
``r1lab.grading`` and scoring from ``r1lab.evaluation``. What the demo adds is the sizes (see
``DemoConfig``) and the wiring between the stages' files.

Each function takes the config, the stage's directory and a ``report_progress`` callback (which
hands the live display a probe), does its work, and returns a small summary dict that goes into
the stage's marker file and from there into results.json.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from r1lab.data.io import read_jsonl, write_jsonl
from r1lab.demo.config import SMOLLM2_NAMES, DemoConfig
from r1lab.demo.progress import Probe, training_probe
from r1lab.errors import ConfigError

logger = logging.getLogger(__name__)

Progress = Callable[[Probe | None], None]


class Paths:
    """Where each stage reads and writes, under the output directory.

    ``start_model`` is the given model a real-model run starts from (its directory, resolved once by
    ``start_model_dir``); the tiny-model presets build theirs under cold_start/.
    """

    def __init__(self, root: str | Path, start_model: str | Path | None = None):
        self.root = Path(root)
        self.start_model = Path(start_model) if start_model is not None else None

    def stage_dir(self, stage: str) -> Path:
        return self.root / stage

    @property
    def train(self) -> Path:
        return self.root / "data" / "train.jsonl"

    @property
    def test(self) -> Path:
        return self.root / "data" / "test.jsonl"

    @property
    def base_model(self) -> Path:
        return self.root / "cold_start" / "base_model"

    @property
    def cold_start(self) -> Path:
        return self.root / "cold_start" / "model"

    @property
    def grpo(self) -> Path:
        return self.root / "grpo" / "model"

    @property
    def selected(self) -> Path:
        return self.root / "select" / "prompts.jsonl"

    @property
    def teacher_generations(self) -> Path:
        return self.root / "distill" / "teacher_generations.jsonl"

    @property
    def kept(self) -> Path:
        return self.root / "distill" / "kept.jsonl"

    @property
    def student(self) -> Path:
        return self.root / "distill" / "student"

    def model(self, name: str) -> Path:
        if name == "instruct":
            if self.start_model is None:
                raise ConfigError(
                    "this run starts from no given model (--model): there is no 'instruct' model"
                )
            return self.start_model
        return {"cold_start": self.cold_start, "grpo": self.grpo, "student": self.student}[name]

    def grpo_start(self) -> Path:
        """The checkpoint GRPO starts from: the cold start, or the given model (R1-Zero)."""
        return self.start_model if self.start_model is not None else self.cold_start

    def student_base(self) -> Path:
        """The student's starting weights: a fresh tiny model, or the given model itself."""
        return self.start_model if self.start_model is not None else self.base_model

    def eval_dir(self, name: str) -> Path:
        return self.root / "evaluate" / name

    def eval_results(self, name: str) -> Path:
        return self.eval_dir(name) / "test" / "results.json"

    def eval_details(self, name: str) -> Path:
        return self.eval_dir(name) / "test" / "details.jsonl"


def start_model_dir(config: DemoConfig) -> Path | None:
    """The given model as a directory: 'smollm2' is fetched once (r1lab model get), a .gguf imported once."""
    if config.model is None:
        return None
    if config.model in SMOLLM2_NAMES:
        import os

        from r1lab.models.gguf import SMOLLM2_DIR, get_smollm2

        return Path(get_smollm2(os.environ.get("R1LAB_SMOLLM2_DIR") or SMOLLM2_DIR))
    from r1lab.models.gguf import resolve_model

    path = Path(resolve_model(config.model))
    if not (path / "config.json").exists():
        raise ConfigError(f"--model {config.model}: not a model directory (no config.json) or .gguf file")
    return path


# --------------------------------------------------------------------------- 1. data


def run_data(config: DemoConfig, paths: Paths, report_progress: Progress) -> dict[str, Any]:
    """Generate the arithmetic task, split it by hash, and drop test problems that occur in train."""
    from r1lab.data.decontaminate import DecontaminateConfig, decontaminate
    from r1lab.data.tasks import make_arithmetic, train_test_split

    total = config.num_train + config.num_test
    # The hash split is approximate: draw a margin of extra problems and lean the split towards
    # the test side, then trim each side to size.
    test_fraction = min(0.5, 1.2 * config.num_test / total)
    operands = 10 if config.digits == 1 else 9 * 10 ** (config.digits - 1)
    space = operands**config.num_terms * len(set(config.ops)) ** (config.num_terms - 1)
    rows = make_arithmetic(
        min(space, math.ceil(total * 1.15) + 20),
        digits=config.digits,
        ops=config.ops,
        num_terms=config.num_terms,
        seed=config.seed,
        short_trace_fraction=config.short_trace_fraction,
    )
    train, test = train_test_split(rows, test_fraction, seed=config.seed)
    if len(train) < config.num_train or len(test) < config.num_test:
        raise ConfigError(
            f"the task space is too small for {config.num_train} train + {config.num_test} test problems "
            f"(got {len(train)} + {len(test)}): use more digits or terms, or fewer problems"
        )
    train, test = train[: config.num_train], test[: config.num_test]
    write_jsonl(paths.train, train)
    candidates = paths.stage_dir("data") / "test_candidates.jsonl"
    # The test rows keep problem and answer only: the programmatic trace is training material.
    write_jsonl(candidates, ({k: v for k, v in row.items() if k != "reasoning"} for row in test))
    # A test problem is contaminated when its whole text occurs in a training problem: the n-gram
    # length is the word count of the shortest test problem, so only complete matches count.
    ngram = max(1, min(len(str(row["problem"]).split()) for row in test))
    stats = decontaminate(
        DecontaminateConfig(
            input=str(candidates), output=str(paths.test), against=[str(paths.train)], ngram=ngram, drop=True
        )
    )
    kept = list(read_jsonl(paths.test))
    if not kept:
        raise ConfigError("every test problem also occurs in the training set: nothing left to evaluate")
    return {
        "task": "arithmetic",
        "params": {
            "digits": config.digits,
            "ops": config.ops,
            "num_terms": config.num_terms,
            "short_trace_fraction": config.short_trace_fraction,
            "seed": config.seed,
        },
        "num_train": len(train),
        "num_test": len(kept),
        "contaminated_removed": stats.flagged_any,
        "decontamination_ngram": ngram,
        "example": {k: train[0][k] for k in ("problem", "answer", "reasoning")},
        "line": f"{len(train):,} train · {len(kept):,} test · {stats.flagged_any} test problems found in train",
    }


# --------------------------------------------------------------------------- 2. cold start


def _common_trl(config: DemoConfig) -> dict[str, Any]:
    """TRL options both trainers take here: quiet, no hub, a fixed seed, logs the display can read."""
    return {"report_to": "none", "seed": config.seed, "disable_tqdm": True, "save_strategy": "no"}


def train_sft_model(
    config: DemoConfig,
    *,
    base: Path,
    dataset: Path,
    output: Path,
    steps: int,
    layout: str,
    report_progress: Progress,
) -> dict[str, Any]:
    from r1lab.training import SFTRecipe, load_recipe, train_sft

    overrides: dict[str, Any] = {
        "model_name_or_path": str(base),
        "output_dir": str(output),
        "dataset": str(dataset),
        "sft_layout": layout,
        "prompt_template": config.prompt_template,
        "system_prompt": config.system_prompt,
        "box_answer": True,
        "learning_rate": config.sft_learning_rate,
        "lr_scheduler_type": "cosine",
        "warmup_steps": max(1, steps // 20),
        "max_steps": steps,
        "per_device_train_batch_size": config.sft_batch_size,
        # a real model's prompt (system turn, BPE) plus a completion; the tiny model's fit in 256 bytes
        "max_length": 512 if config.real_model else 256,
        "logging_steps": max(1, min(10, steps // 10)),
        **_common_trl(config),
        **config.sft_overrides,
    }
    recipe = load_recipe(SFTRecipe, overrides=overrides)
    report_progress(training_probe(output / "metrics.jsonl", steps, ("loss",)))
    result = train_sft(recipe)
    metrics_file = output / "metrics.jsonl"
    rows = read_jsonl(metrics_file, skip_torn_tail=True) if metrics_file.exists() else []
    logged = [row for row in rows if "loss" in row]
    return {
        "model": str(result.output_dir),
        "steps": steps,
        "final_loss": logged[-1]["loss"] if logged else None,
        "train_loss": result.metrics.get("train_loss"),
        "train_runtime": result.metrics.get("train_runtime"),
    }


def run_cold_start(config: DemoConfig, paths: Paths, report_progress: Progress) -> dict[str, Any]:
    """Build the tiny model and teach it the ``<think>`` trace format on the programmatic traces."""
    from r1lab.models import TinyModelConfig, build_tiny_model

    build_tiny_model(
        paths.base_model,
        TinyModelConfig(hidden_size=config.hidden_size, num_layers=config.num_layers, seed=config.seed),
    )
    summary = train_sft_model(
        config,
        base=paths.base_model,
        dataset=paths.train,
        output=paths.cold_start,
        steps=config.sft_steps,
        layout="reasoning-answer",
        report_progress=report_progress,
    )
    short = (
        f" ({100 * config.short_trace_fraction:.0f}% with the result line only)"
        if config.short_trace_fraction
        else ""
    )
    summary["line"] = (
        f"SFT {config.sft_steps} steps on programmatic traces{short} · "
        f"last logged loss {_fmt(summary['final_loss'])}"
    )
    return summary


# --------------------------------------------------------------------------- 3. GRPO


def grpo_generation(config: DemoConfig) -> dict[str, Any]:
    """GRPO's completions come from the demo's engine: TRL's colocated vLLM when that is vLLM
    (r1lab.training.vllm_cpu makes it work on a CPU), else TRL's own transformers generation."""
    from r1lab.generation.engines import choose_engine

    if choose_engine(config.engine).engine != "vllm":
        return {}
    return {"use_vllm": True, "vllm_mode": "colocate"}


def run_grpo(config: DemoConfig, paths: Paths, report_progress: Progress) -> dict[str, Any]:
    """GRPO from the cold-start checkpoint (or straight from a given model: R1-Zero) with accuracy and format rewards."""
    from r1lab.data.io import read_jsonl as _read
    from r1lab.training import GRPORecipe, load_recipe, train_grpo

    overrides: dict[str, Any] = {
        "model_name_or_path": str(paths.grpo_start()),
        "output_dir": str(paths.grpo),
        "dataset": str(paths.selected if config.select_samples else paths.train),
        "prompt_template": config.prompt_template,
        "system_prompt": config.system_prompt,
        "rewards": dict(config.rewards),
        "learning_rate": config.grpo_learning_rate,
        # Adam's first steps move every weight by about the learning rate whatever the gradient's
        # noise; from a sharp SFT optimum that alone costs accuracy, so the rate ramps up while
        # Adam's moment estimates settle.
        "lr_scheduler_type": "constant_with_warmup",
        "warmup_steps": max(1, config.grpo_steps // 4),
        "max_steps": config.grpo_steps,
        "per_device_train_batch_size": config.grpo_batch_size,
        "num_generations": config.num_generations,
        "max_completion_length": config.max_completion_length,
        "temperature": config.temperature,
        "top_p": config.top_p,
        "beta": 0.0,
        "logging_steps": 1,
        **_common_trl(config),
        **grpo_generation(config),
        **config.grpo_overrides,
    }
    recipe = load_recipe(GRPORecipe, overrides=overrides)
    report_progress(training_probe(paths.grpo / "metrics.jsonl", config.grpo_steps, ("reward", "accuracy")))
    result = train_grpo(recipe)
    curve = list(_read(paths.grpo / "metrics.jsonl", skip_torn_tail=True))
    first, last = _window_mean(curve, "accuracy", head=True), _window_mean(curve, "accuracy", head=False)
    summary = {
        "model": str(result.output_dir),
        "start_model": str(paths.grpo_start()),
        "steps": config.grpo_steps,
        "train_runtime": result.metrics.get("train_runtime"),
        "seconds_per_step": (result.metrics.get("train_runtime") or 0) / config.grpo_steps or None,
        "generation": "vLLM (colocated)" if recipe.trl.get("use_vllm") else "transformers",
        "train_accuracy_start": first,
        "train_accuracy_end": last,
        "line": f"{config.grpo_steps} steps · training accuracy {_pct(first)} → {_pct(last)}",
    }
    if "format" in config.rewards:
        fmt_first = _window_mean(curve, "rewards/format", head=True)
        fmt_last = _window_mean(curve, "rewards/format", head=False)
        summary.update(train_format_start=fmt_first, train_format_end=fmt_last)
        summary["line"] += f" · format reward {_pct(fmt_first)} → {_pct(fmt_last)}"
    zero_std = [
        row["frac_reward_zero_std"] for row in curve if isinstance(row.get("frac_reward_zero_std"), float)
    ]
    if zero_std:  # groups whose completions all earned the same reward: no gradient from them
        summary["zero_variance_group_share"] = sum(zero_std) / len(zero_std)
    return summary


def _window_mean(rows: list[dict[str, Any]], key: str, head: bool, size: int = 5) -> float | None:
    values = [row[key] for row in rows if isinstance(row.get(key), (int, float))]
    window = values[:size] if head else values[-size:]
    return sum(window) / len(window) if window else None


# --------------------------------------------------------------------------- helpers


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"
