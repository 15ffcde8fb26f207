"""Training recipes: r1lab's own options as typed dataclasses, plus every TRL trainer option passed through.

A recipe is one flat YAML mapping, as Open-R1's are. Keys that are r1lab's (the model, the data
source and its columns, the prompt, the rewards, LoRA) fill the recipe dataclass; every other key
must be a field of TRL's ``SFTConfig`` / ``GRPOConfig`` (learning rate, ``num_generations``,
``beta``, ``loss_type``, ``use_vllm``, ...) and is kept in ``recipe.trl``, coerced to TRL's
declared type. Anything else is a misspelling and is rejected with the nearest valid key, so a
typo never silently trains with a default. ``--key value`` overrides from the command line go
through exactly the same path.

Nothing here imports torch at module level: the CLI can describe recipes quickly.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from r1lab.config import coerce, load_yaml, unknown_key_error
from r1lab.errors import ConfigError

R = TypeVar("R", bound="RecipeBase")


@dataclass
class RecipeBase:
    """Options SFT and GRPO share: model, data, prompt, LoRA. TRL's own options live in ``trl``."""

    model_name_or_path: str | None = field(
        default=None, metadata={"help": "local model directory or Hugging Face model id to start from"}
    )
    output_dir: str | None = field(
        default=None, metadata={"help": "where checkpoints, the final model and metrics.jsonl go"}
    )
    dataset: str | None = field(
        default=None,
        metadata={
            "help": "training data: a local .jsonl/.json/.parquet/.csv file or directory, a bundled benchmark "
            "name (math500, gsm8k, ...), a Hugging Face dataset id org/name[:config], or a procedural task "
            "task:arithmetic / task:countdown"
        },
    )
    dataset_split: str = field(default="train", metadata={"help": "split of a Hugging Face dataset"})
    dataset_params: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "help": "parameters of a task: dataset (num_examples, seed, digits, ops, num_numbers, ...; "
            "test_fraction holds out that share of problems by hash, as r1lab.data.tasks.train_test_split does)"
        },
    )
    max_samples: int | None = field(default=None, metadata={"help": "train on at most this many rows"})
    prompt_column: str = field(default="problem", metadata={"help": "column holding the problem text"})
    answer_column: str = field(default="answer", metadata={"help": "column holding the reference answer"})
    prompt_template: str | None = field(
        default="math",
        metadata={
            "help": "user-turn template from r1lab.prompts by name (math, plain) or literally, with {problem}"
        },
    )
    system_prompt: str | None = field(
        default=None,
        metadata={
            "help": "system prompt from r1lab.prompts by name (r1; r1-example: R1 plus one worked example turn; example: that turn alone) or literally; none by default"
        },
    )
    chat_template: str | None = field(
        default=None,
        metadata={"help": "replace the tokenizer's chat template: a Jinja string or a path to a .jinja file"},
    )
    dtype: str | None = field(
        default=None,
        metadata={
            "help": "weights dtype: auto, bfloat16, float16, float32 (default: bfloat16 with bf16, else float32)"
        },
    )
    attn_implementation: str | None = field(
        default=None, metadata={"help": "attention kernel: eager, sdpa, flash_attention_2, ..."}
    )
    model_revision: str = field(default="main", metadata={"help": "branch, tag or commit of a hub model"})
    # LoRA through peft: TRL's ModelConfig options, so one GPU can train a 1.5B-7B model.
    use_peft: bool = field(
        default=False, metadata={"help": "train LoRA adapters (peft) instead of all weights"}
    )
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha (scale = alpha / r)"})
    lora_dropout: float = field(default=0.05, metadata={"help": "dropout on the LoRA branch"})
    lora_target_modules: list[str] | None = field(
        default=None,
        metadata={
            "help": "modules to adapt, e.g. q_proj,v_proj or all-linear (default: peft's per-architecture set)"
        },
    )
    lora_modules_to_save: list[str] | None = field(
        default=None, metadata={"help": "modules trained in full beside the adapters (e.g. lm_head)"}
    )
    use_rslora: bool = field(default=False, metadata={"help": "rank-stabilised LoRA scaling alpha/sqrt(r)"})
    load_in_4bit: bool = field(
        default=False,
        metadata={"help": "QLoRA: load the base model in 4 bits (needs bitsandbytes and a GPU)"},
    )
    load_in_8bit: bool = field(
        default=False, metadata={"help": "load the base model in 8 bits (bitsandbytes)"}
    )
    bnb_4bit_quant_type: str = field(default="nf4", metadata={"help": "4-bit quantisation type: nf4 or fp4"})
    merge_lora: bool = field(
        default=True,
        metadata={
            "help": "after LoRA training also save the adapters merged into the base weights, so the output "
            "directory is a plain model that transformers serve and vLLM load (the adapters go to adapter/)"
        },
    )
    trl: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "help": "TRL trainer options (SFTConfig / GRPOConfig fields), validated; set them as top-level keys"
        },
    )

    #: The TRL config class whose fields a recipe accepts; set by subclasses (a name, resolved lazily).
    trl_config_name: typing.ClassVar[str] = ""

    @classmethod
    def trl_config_class(cls) -> type:
        import trl

        return getattr(trl, cls.trl_config_name)

    def validate(self) -> None:
        """Checks that need no model or data: required keys, conflicting options."""
        for name in ("model_name_or_path", "output_dir", "dataset"):
            if not getattr(self, name):
                raise ConfigError(f"recipe: {name!r} is required (set it in the YAML or with --{name} ...)")
        if self.load_in_4bit and self.load_in_8bit:
            raise ConfigError("recipe: load_in_4bit and load_in_8bit exclude each other")
        if (self.load_in_4bit or self.load_in_8bit) and not self.use_peft:
            raise ConfigError("recipe: 4/8-bit loading trains adapters only: set use_peft: true")
        if self.dtype not in (None, "auto", "bfloat16", "float16", "float32"):
            raise ConfigError(f"recipe: dtype {self.dtype!r}: use auto, bfloat16, float16 or float32")


@dataclass
class SFTRecipe(RecipeBase):
    """Supervised fine-tuning (cold start or distillation) with TRL's SFTTrainer."""

    sft_layout: str = field(
        default="auto",
        metadata={
            "help": "how rows become chats (r1lab.data.convert layouts): auto, r1lab (generate/grade output), "
            "openr1-math, conversations (OpenThoughts/Bespoke-Stratos), reasoning-answer (r1lab tasks, "
            "dolphin-r1), messages, prompt-completion"
        },
    )
    messages_column: str = field(default="messages", metadata={"help": "column with chat messages"})
    include_incorrect: bool = field(
        default=False, metadata={"help": "also train on generations a correctness column marks wrong"}
    )
    keep_truncated: bool = field(
        default=False, metadata={"help": "also train on generations cut off by the token limit"}
    )
    require_reasoning: bool = field(
        default=False, metadata={"help": "drop responses with no reasoning (no </think>)"}
    )
    box_answer: bool = field(
        default=False,
        metadata={"help": "reasoning-answer rows (r1lab tasks): write the final answer as \\boxed{answer}"},
    )

    def convert_options(self) -> dict[str, Any]:
        """The keyword options of ``r1lab.data.convert.to_sft_examples`` this recipe sets."""
        return {
            "prompt_column": self.prompt_column,
            "prompt_template": self.prompt_template,
            "system_prompt": self.system_prompt,
            "messages_column": self.messages_column,
            "include_incorrect": self.include_incorrect,
            "keep_truncated": self.keep_truncated,
            "require_reasoning": self.require_reasoning,
            "box_answer": self.box_answer,
        }

    trl_config_name: typing.ClassVar[str] = "SFTConfig"


@dataclass
class GRPORecipe(RecipeBase):
    """Reinforcement learning with verifiable rewards through TRL's GRPOTrainer."""

    rewards: dict[str, float] = field(
        default_factory=lambda: {"accuracy": 1.0, "format": 1.0},
        metadata={
            "help": "reward functions from the r1lab.rewards registry and their weights, "
            "e.g. {accuracy: 1.0, format: 0.2}; on the command line accuracy=1,format=0.2"
        },
    )
    reward_params: dict[str, Any] = field(
        default_factory=dict,
        metadata={"help": "keyword parameters for the reward functions (get_reward_funcs)"},
    )
    pass_rate: list[float] | None = field(
        default=None,
        metadata={
            "help": "MIN MAX: train only on problems the model solves sometimes: keep rows of a graded file "
            "(r1lab grade output, its 'correct' list per row) whose share of correct generations lies in "
            "[MIN, MAX], e.g. 0.1,0.9 (the same rule as r1lab grade --pass-rate)"
        },
    )
    dynamic_sampling: bool = field(
        default=False,
        metadata={
            "help": "DAPO-style dynamic sampling: leave groups whose completions all earn the same reward out "
            "of the loss and log their share as dynamic_sampling/skipped_share (r1lab.training.dynamic)"
        },
    )
    accuracy_reward: str | None = field(
        default=None,
        metadata={
            "help": "the reward whose mean metrics.jsonl reports as accuracy "
            "(default: accuracy, else countdown, when present)"
        },
    )

    trl_config_name: typing.ClassVar[str] = "GRPOConfig"

    def validate(self) -> None:
        super().validate()
        if not self.rewards:
            raise ConfigError("recipe: 'rewards' is empty: name at least one reward function")
        if "reward_weights" in self.trl:
            raise ConfigError("recipe: give weights in 'rewards' ({name: weight}), not in 'reward_weights'")
        if self.pass_rate is not None and (
            len(self.pass_rate) != 2 or not 0.0 <= self.pass_rate[0] <= self.pass_rate[1] <= 1.0
        ):
            raise ConfigError(
                f"recipe: pass_rate needs MIN,MAX with 0 <= MIN <= MAX <= 1, got {self.pass_rate}"
            )
        if self.accuracy_reward and self.accuracy_reward not in self.rewards:
            raise ConfigError(
                f"recipe: accuracy_reward {self.accuracy_reward!r} is not among the rewards: {', '.join(self.rewards)}"
            )

    def accuracy_name(self) -> str | None:
        if self.accuracy_reward:
            return self.accuracy_reward
        return next((name for name in ("accuracy", "countdown") if name in self.rewards), None)


# --------------------------------------------------------------------------- loading


def _read_structured(value: Any, name: str) -> Any:
    """A dict-valued option given on the command line as YAML/JSON text: '{num_examples: 100}'."""
    if isinstance(value, str):
        import yaml

        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{name}: cannot read {value!r} as a mapping: {exc}") from None
    return value


def _read_rewards(value: Any, where: str) -> dict[str, float]:
    """rewards as {name: weight}, a list of names (weight 1), or 'a=1,b=0.5' text."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            value = _read_structured(text, f"{where}: rewards")
        else:
            value = [item for item in text.split(",") if item.strip()]
    if isinstance(value, list):
        out: dict[str, float] = {}
        for item in value:
            if isinstance(item, dict):  # [{name: accuracy, weight: 1.0}]
                item = dict(item)
                if "name" not in item:
                    raise ConfigError(f"{where}: rewards: each entry needs a 'name'")
                out[str(item.pop("name"))] = float(item.pop("weight", 1.0))
                if item:
                    raise ConfigError(
                        f"{where}: rewards: unknown entry keys {sorted(item)}: use name and weight"
                    )
            else:
                name, _, weight = str(item).partition("=")
                out[name.strip()] = float(weight) if weight else 1.0
        return out
    if isinstance(value, dict):
        try:
            return {str(k): float(1.0 if v is None else v) for k, v in value.items()}
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: rewards: weights must be numbers, got {value!r}") from None
    raise ConfigError(f"{where}: rewards: expected a mapping of name to weight or a list of names")


def _coerce_trl(value: Any, tp: Any, name: str) -> Any:
    """Coerce to a TRL field's type; text stays text where the field takes text (report_to: none)."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if isinstance(value, str) and str in args and value.lower() != "null":
        return value
    return coerce(value, tp, name)


def trl_field_types(cls: type[RecipeBase]) -> dict[str, Any]:
    """TRL config fields (name -> declared type) that a recipe may set, minus those r1lab owns."""
    config_cls = cls.trl_config_class()
    hints = typing.get_type_hints(config_cls)
    own = {f.name for f in dataclasses.fields(cls)}
    return {f.name: hints[f.name] for f in dataclasses.fields(config_cls) if f.init and f.name not in own}


def load_recipe(
    cls: type[R], yaml_path: str | os.PathLike | None = None, overrides: dict[str, Any] | None = None
) -> R:
    """Read a recipe: YAML keys, then ``overrides`` (CLI ``--key value``) on top; validated and typed.

    r1lab keys fill the dataclass, TRL keys go to ``recipe.trl`` coerced to TRL's types, and any
    other key raises ConfigError naming the nearest valid key.
    """
    data: dict[str, Any] = dict(load_yaml(yaml_path)) if yaml_path else {}
    nested_trl = data.pop("trl", None) or {}
    if not isinstance(nested_trl, dict):
        raise ConfigError(f"{yaml_path}: 'trl' must be a mapping of TRL options")
    data.update(nested_trl)
    data.update({k.replace("-", "_"): v for k, v in (overrides or {}).items()})
    where = str(yaml_path) if yaml_path else "recipe"

    own_fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "trl"}
    own_types = typing.get_type_hints(cls)
    trl_types = trl_field_types(cls)
    own: dict[str, Any] = {}
    trl_values: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = raw_key.replace("-", "_")
        if key in own_fields:
            if key == "rewards":
                own[key] = _read_rewards(value, where)
                continue
            if typing.get_origin(own_types[key]) is dict or own_types[key] is dict:
                value = _read_structured(value, f"{where}: {key}")
                if value is None:
                    value = {}
            own[key] = coerce(value, own_types[key], f"{where}: {key}")
        elif key in trl_types:
            trl_values[key] = _coerce_trl(value, trl_types[key], f"{where}: {key}")
        else:
            raise unknown_key_error(raw_key, [*own_fields, *trl_types], where)
    recipe = cls(**own, trl=trl_values)
    if recipe.output_dir:
        recipe.output_dir = str(Path(recipe.output_dir).expanduser())
    recipe.validate()
    return recipe


def recipe_to_dict(recipe: RecipeBase) -> dict[str, Any]:
    """The recipe as one flat mapping, as it would be written in YAML (saved beside the model)."""
    out = {f.name: getattr(recipe, f.name) for f in dataclasses.fields(recipe) if f.name != "trl"}
    out.update(recipe.trl)
    return out
