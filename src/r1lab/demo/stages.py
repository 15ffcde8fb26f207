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
from r1lab.demo.config import MODEL_TITLES, MODELS, DemoConfig
from r1lab.demo.progress import Probe, rows_probe, training_probe
from r1lab.errors import ConfigError

logger = logging.getLogger(__name__)

Progress = Callable[[Probe | None], None]

#: The user turn is the bare problem: a 1M-parameter model has no use for DeepSeek's instruction.
PROMPT_TEMPLATE = "plain"


class Paths:
    """Where each stage reads and writes, under the output directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

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
    def teacher_generations(self) -> Path:
        return self.root / "distill" / "teacher_generations.jsonl"

    @property
    def kept(self) -> Path:
        return self.root / "distill" / "kept.jsonl"

    @property
    def student(self) -> Path:
        return self.root / "distill" / "student"

    def model(self, name: str) -> Path:
        return {"cold_start": self.cold_start, "grpo": self.grpo, "student": self.student}[name]

    def eval_dir(self, name: str) -> Path:
        return self.root / "evaluate" / name

    def eval_results(self, name: str) -> Path:
        return self.eval_dir(name) / "test" / "results.json"

    def eval_details(self, name: str) -> Path:
        return self.eval_dir(name) / "test" / "details.jsonl"


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
        "prompt_template": PROMPT_TEMPLATE,
        "box_answer": True,
        "learning_rate": config.sft_learning_rate,
        "lr_scheduler_type": "cosine",
        "warmup_steps": max(1, steps // 20),
        "max_steps": steps,
        "per_device_train_batch_size": config.sft_batch_size,
        "max_length": 256,
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


def run_grpo(config: DemoConfig, paths: Paths, report_progress: Progress) -> dict[str, Any]:
    """GRPO from the cold-start checkpoint with the accuracy and format rewards."""
    from r1lab.data.io import read_jsonl as _read
    from r1lab.training import GRPORecipe, load_recipe, train_grpo

    overrides: dict[str, Any] = {
        "model_name_or_path": str(paths.cold_start),
        "output_dir": str(paths.grpo),
        "dataset": str(paths.train),
        "prompt_template": PROMPT_TEMPLATE,
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
        **config.grpo_overrides,
    }
    recipe = load_recipe(GRPORecipe, overrides=overrides)
    report_progress(training_probe(paths.grpo / "metrics.jsonl", config.grpo_steps, ("reward", "accuracy")))
    result = train_grpo(recipe)
    curve = list(_read(paths.grpo / "metrics.jsonl", skip_torn_tail=True))
    first, last = _window_mean(curve, "accuracy", head=True), _window_mean(curve, "accuracy", head=False)
    return {
        "model": str(result.output_dir),
        "steps": config.grpo_steps,
        "train_runtime": result.metrics.get("train_runtime"),
        "train_accuracy_start": first,
        "train_accuracy_end": last,
        "line": f"{config.grpo_steps} steps · training accuracy {_pct(first)} → {_pct(last)}",
    }


def _window_mean(rows: list[dict[str, Any]], key: str, head: bool, size: int = 5) -> float | None:
    values = [row[key] for row in rows if isinstance(row.get(key), (int, float))]
    window = values[:size] if head else values[-size:]
    return sum(window) / len(window) if window else None


# --------------------------------------------------------------------------- 4. distillation


def run_distill(config: DemoConfig, paths: Paths, report_progress: Progress) -> dict[str, Any]:
    """Serve the GRPO model, sample traces for training problems, keep the correct ones, SFT a fresh student."""
    from r1lab.generation import GenerateConfig, generate, serve_model
    from r1lab.grading import GradeConfig, grade_file

    problems = [
        {"id": row["id"], "problem": row["problem"], "answer": row["answer"]}  # not the programmatic trace
        for row in list(read_jsonl(paths.train))[: config.distill_problems]
    ]
    report_progress(rows_probe(paths.teacher_generations, len(problems), "problems · GRPO teacher sampling"))
    with serve_model(paths.grpo) as server:
        stats = generate(
            GenerateConfig(
                output=str(paths.teacher_generations),
                base_urls=[server.base_url],
                model=server.model,
                prompt_template=PROMPT_TEMPLATE,
                num_generations=config.distill_samples,
                temperature=config.temperature,
                top_p=config.top_p,
                max_tokens=config.max_completion_length,
                max_concurrent=config.max_concurrent,
                progress=False,
            ),
            rows=problems,
        )
    report_progress(None)
    graded = grade_file(
        GradeConfig(input=str(paths.teacher_generations), output=str(paths.kept), keep="correct")
    )
    if graded.generations_out == 0:
        raise ConfigError(
            "distillation: the GRPO teacher got no training problem right, so there is nothing to distill; "
            "train longer (--sft-steps, --grpo-steps)"
        )
    student = train_sft_model(
        config,
        base=paths.base_model,
        dataset=paths.kept,
        output=paths.student,
        steps=config.student_steps,
        layout="r1lab",
        report_progress=report_progress,
    )
    return {
        "problems": len(problems),
        "samples_per_problem": config.distill_samples,
        "generations": graded.generations,
        "kept": graded.generations_out,
        "acceptance_rate": graded.accuracy,
        "problems_with_a_kept_trace": graded.rows_out,
        "generation_seconds": getattr(stats, "duration", None),
        "student": student,
        "line": (
            f"{graded.generations:,} teacher traces · kept {graded.generations_out:,} correct "
            f"({_pct(graded.accuracy)}) · student SFT {config.student_steps} steps"
        ),
    }


# --------------------------------------------------------------------------- 5. evaluation


def run_evaluate(config: DemoConfig, paths: Paths, report_progress: Progress) -> dict[str, Any]:
    """Score every model on the held-out test set through the same server path: pass@1, cons@n, lengths."""
    from r1lab.evaluation import EvalConfig, evaluate

    num_test = sum(1 for _ in read_jsonl(paths.test))
    out: dict[str, Any] = {}

    for number, name in enumerate(MODELS, start=1):
        label = f"problems · model {number}/{len(MODELS)}: {MODEL_TITLES[name]}"
        report_progress(rows_probe(paths.eval_dir(name) / "test" / "generations.jsonl", num_test, label))
        results = evaluate(
            EvalConfig(
                benchmarks=[str(paths.test)],
                output_dir=str(paths.eval_dir(name)),
                serve_model=str(paths.model(name)),
                num_samples=config.eval_samples,
                temperature=config.temperature,
                top_p=config.top_p,
                max_tokens=config.max_completion_length,
                prompt_template=PROMPT_TEMPLATE,
                max_concurrent=config.max_concurrent,
                progress=False,
            )
        )
        metrics = results[0]["metrics"]
        out[name] = {"pass@1": metrics.get("pass@1"), "results": str(paths.eval_results(name))}
    out["line"] = (
        f"{len(MODELS)} models × {num_test} problems × {config.eval_samples} samples through transformers serve"
    )
    return out


# --------------------------------------------------------------------------- helpers


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"
