"""The demo's options: one dataclass, a full preset and a quick preset.

Every number that shapes the run lives here with its reason, so a reader can see what the demo
trades for its ten-minute budget on two CPU cores. ``quick`` swaps in the smaller preset (about
two minutes: what the tests run); any option given explicitly still wins over the preset.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from r1lab.errors import ConfigError

#: The pipeline's stages, in order. Each writes into OUTPUT_DIR/<name>/ and is skipped when done.
STAGES = ("data", "cold_start", "grpo", "distill", "evaluate", "report")

STAGE_TITLES = {
    "data": "task data",
    "cold_start": "cold-start SFT",
    "grpo": "GRPO",
    "distill": "distillation",
    "evaluate": "evaluation",
    "report": "report",
}

#: The models the demo trains and evaluates, in the order the report lists them.
MODELS = ("cold_start", "grpo", "student")

MODEL_TITLES = {"cold_start": "cold start (SFT)", "grpo": "GRPO", "student": "distilled student"}


@dataclass
class DemoConfig:
    """The miniature R1 pipeline: task data, cold-start SFT, GRPO, distillation, evaluation, report."""

    output_dir: str = field(
        default="runs/demo", metadata={"help": "everything goes here; rerunning skips the finished stages"}
    )
    quick: bool = field(
        default=False,
        metadata={"help": "the small preset (about 2 minutes): fewer problems, steps and samples"},
    )
    rerun_from: str | None = field(
        default=None,
        metadata={"help": f"redo this stage and every later one even if finished ({', '.join(STAGES)})"},
    )
    # ---- task
    digits: int = field(default=2, metadata={"help": "digits of each operand of the arithmetic problems"})
    ops: str = field(default="+", metadata={"help": "operators to draw from: + - * (e.g. '+-')"})
    num_terms: int = field(default=2, metadata={"help": "operands per problem"})
    num_train: int = field(
        default=4000, metadata={"help": "training problems (cold start, GRPO, distillation)"}
    )
    num_test: int = field(
        default=100, metadata={"help": "held-out test problems (decontaminated against train)"}
    )
    short_trace_fraction: float = field(
        default=0.5,
        metadata={
            "help": "share of cold-start traces that give only the result line (so 47+86=133), not the column "
            "working: the cold start learns both styles and is far more accurate when it shows the working, "
            "which is the choice GRPO learns to make (0 = every trace shows the working)"
        },
    )
    seed: int = field(default=0, metadata={"help": "seed for the task, the tiny model and the trainers"})
    # ---- model
    hidden_size: int = field(default=128, metadata={"help": "width of the tiny Qwen3 model"})
    num_layers: int = field(default=4, metadata={"help": "transformer blocks of the tiny model"})
    # ---- cold start
    sft_steps: int = field(
        default=400,
        metadata={
            "help": "cold-start SFT steps: enough to learn the trace format and most sums, few enough that "
            "sampling still errs, which is what GRPO then fixes"
        },
    )
    sft_learning_rate: float = field(default=3e-3, metadata={"help": "cold-start SFT learning rate"})
    sft_batch_size: int = field(default=32, metadata={"help": "cold-start SFT batch size (examples)"})
    # ---- GRPO
    grpo_steps: int = field(
        default=30,
        metadata={
            "help": "GRPO optimizer steps (the choice of the worked style is learnt in about 20; "
            "more steps mostly cost accuracy on a model this small: see docs/demo.md)"
        },
    )
    grpo_learning_rate: float = field(
        default=3e-5,
        metadata={"help": "GRPO learning rate (reached after a warmup of a quarter of the steps)"},
    )
    grpo_batch_size: int = field(
        default=64, metadata={"help": "completions per GRPO step (prompts x num_generations)"}
    )
    num_generations: int = field(default=8, metadata={"help": "GRPO group size: completions per prompt"})
    max_completion_length: int = field(
        default=96, metadata={"help": "longest completion in tokens (GRPO, distillation and evaluation)"}
    )
    rewards: dict[str, float] = field(
        default_factory=lambda: {"accuracy": 1.0, "format": 0.1},
        metadata={"help": "GRPO rewards from r1lab.rewards and their weights"},
    )
    # ---- distillation
    distill_problems: int = field(
        default=800,
        metadata={
            "help": "training problems the GRPO teacher answers for the student (the student learns the "
            "method from them: problem variety matters more than traces per problem)"
        },
    )
    distill_samples: int = field(
        default=2, metadata={"help": "teacher traces per problem (rejection sampling)"}
    )
    student_steps: int = field(
        default=400,
        metadata={"help": "SFT steps of the student on the kept traces (as many as the cold start)"},
    )
    # ---- evaluation
    eval_samples: int = field(
        default=4,
        metadata={"help": "samples per test problem: pass@1 is their mean, cons@n their majority vote"},
    )
    temperature: float = field(
        default=0.6,
        metadata={
            "help": "sampling temperature of GRPO, distillation and evaluation: DeepSeek's evaluation setting, "
            "used throughout so that pass@1 measures the policy GRPO trained"
        },
    )
    top_p: float = field(
        default=0.95,
        metadata={"help": "nucleus sampling of GRPO, distillation and evaluation (DeepSeek: 0.95)"},
    )
    max_concurrent: int = field(default=64, metadata={"help": "requests in flight to the local server"})
    num_traces: int = field(default=4, metadata={"help": "sample traces shown in the report"})
    # ---- passthrough
    sft_overrides: dict[str, Any] = field(
        default_factory=dict,
        metadata={"help": "extra SFT recipe keys (r1lab or TRL SFTConfig), e.g. '{warmup_steps: 20}'"},
    )
    grpo_overrides: dict[str, Any] = field(
        default_factory=dict,
        metadata={"help": "extra GRPO recipe keys (r1lab or TRL GRPOConfig), e.g. '{beta: 0.04}'"},
    )
    progress: bool = field(
        default=True, metadata={"help": "live progress line (stage and step); off: one log line per stage"}
    )

    def validate(self) -> None:
        if self.rerun_from is not None and self.rerun_from not in STAGES:
            raise ConfigError(f"rerun_from: {self.rerun_from!r} is not a stage; stages: {', '.join(STAGES)}")
        positive = (
            "num_train",
            "num_test",
            "sft_steps",
            "grpo_steps",
            "grpo_batch_size",
            "num_generations",
            "max_completion_length",
            "distill_problems",
            "distill_samples",
            "student_steps",
            "eval_samples",
            "max_concurrent",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be at least 1, got {getattr(self, name)}")
        if self.num_generations < 2:
            raise ConfigError("num_generations: GRPO compares completions within a group: use at least 2")
        if self.grpo_batch_size % self.num_generations:
            raise ConfigError(
                f"grpo_batch_size ({self.grpo_batch_size}) must be a multiple of num_generations "
                f"({self.num_generations})"
            )
        if self.temperature <= 0:
            raise ConfigError("temperature: the demo samples; use a temperature above 0")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p: must lie in (0, 1], got {self.top_p}")
        if not 0 <= self.short_trace_fraction <= 1:
            raise ConfigError(f"short_trace_fraction: must lie in [0, 1], got {self.short_trace_fraction}")


#: The quick preset: the same pipeline at a size the test suite can afford (about two minutes).
QUICK_PRESET: dict[str, Any] = {
    "digits": 1,  # one-digit sums: learnable in a few dozen steps, so every later stage has signal
    "num_train": 60,
    "num_test": 20,
    "sft_steps": 200,
    "grpo_steps": 8,
    "grpo_batch_size": 32,
    "distill_problems": 40,
    "distill_samples": 2,
    "student_steps": 20,
    "eval_samples": 2,
    "num_traces": 3,
}


def make_config(options: dict[str, Any] | None = None, where: str = "demo") -> DemoConfig:
    """A DemoConfig from user options: the quick preset first when ``quick`` is set, the options on top."""
    from r1lab.config import from_dict

    options = dict(options or {})
    base = from_dict(DemoConfig, options, where=where)  # rejects unknown keys, coerces types
    if base.quick:
        given = {key.replace("-", "_") for key in options}
        preset = {k: v for k, v in QUICK_PRESET.items() if k not in given}
        base = dataclasses.replace(base, **preset)
    base.validate()
    return base


def stage_fingerprint(config: DemoConfig, stage: str) -> dict[str, Any]:
    """The options a stage's output depends on (its own and its inputs'), to tell a stale output from a done one."""
    task = ("digits", "ops", "num_terms", "num_train", "num_test", "short_trace_fraction", "seed")
    model = ("hidden_size", "num_layers")
    cold = ("sft_steps", "sft_learning_rate", "sft_batch_size", "sft_overrides")
    grpo = (
        "grpo_steps",
        "grpo_learning_rate",
        "grpo_batch_size",
        "num_generations",
        "max_completion_length",
        "rewards",
        "temperature",
        "top_p",
        "grpo_overrides",
    )
    distill = ("distill_problems", "distill_samples", "student_steps", "temperature", "top_p")
    evaluate = ("eval_samples", "temperature", "top_p", "max_completion_length")
    depends = {
        "data": task,
        "cold_start": task + model + cold,
        "grpo": task + model + cold + grpo,
        "distill": task + model + cold + grpo + distill,
        "evaluate": task + model + cold + grpo + distill + evaluate,
        "report": (),
    }[stage]
    return {name: getattr(config, name) for name in depends}
