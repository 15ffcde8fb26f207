"""What SFT and GRPO share: the TRL config with device-aware defaults, tokenizer, model options,
datasets, LoRA, checkpoint resume, the metrics file, and saving a model that serves.

TRL does the training; this module only prepares its inputs and finishes its outputs, so both
trainers are a page each (see sft.py and grpo.py) instead of two copy-pasted scripts.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1lab.errors import ConfigError, DataError
from r1lab.prompts import THINK_END, THINK_START
from r1lab.training.recipes import RecipeBase, recipe_to_dict

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"
TASK_PREFIX = "task:"
#: A model whose hidden size is at most this is "tiny": activation checkpointing would only slow it down.
TINY_HIDDEN_SIZE = 512


@dataclass
class TrainResult:
    """Where the trained model went and the run's final numbers (train_loss, train_runtime, ...)."""

    output_dir: Path
    metrics: dict[str, Any] = field(default_factory=dict)
    metrics_file: Path | None = None
    checkpoint: str | None = None  # the checkpoint training resumed from, if any


# --------------------------------------------------------------------------- device and TRL config


def has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _model_config(recipe: RecipeBase):
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(recipe.model_name_or_path, revision=recipe.model_revision)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"model_name_or_path {recipe.model_name_or_path!r}: cannot load its config: {exc}"
        ) from None


def is_tiny_model(recipe: RecipeBase) -> bool:
    config = _model_config(recipe)
    hidden = getattr(config, "hidden_size", None) or getattr(
        getattr(config, "text_config", None), "hidden_size", 0
    )
    return bool(hidden) and hidden <= TINY_HIDDEN_SIZE


def device_defaults(recipe: RecipeBase, *, cuda: bool | None = None) -> dict[str, Any]:
    """TRL options r1lab chooses for this machine when the recipe leaves them unset.

    TRL defaults to bf16 and activation checkpointing, both wrong on a CPU (bf16 is refused there
    without use_cpu; checkpointing a 1M-parameter model only costs time), and pinned memory is
    pointless without a GPU. On GPUs bf16 is on where the card supports it.
    """
    cuda = has_cuda() if cuda is None else cuda
    if cuda:
        import torch

        out: dict[str, Any] = {"bf16": bool(torch.cuda.is_bf16_supported())}
        if is_tiny_model(recipe):
            out["gradient_checkpointing"] = False
        return out
    return {"bf16": False, "fp16": False, "dataloader_pin_memory": False, "gradient_checkpointing": False}


def resolve_recipe_model(recipe: RecipeBase) -> None:
    """Point ``model_name_or_path`` at a loadable model: a ``.gguf`` file is imported once into the cache
    (``r1lab.models.gguf.resolve_model``) and the recipe trains the imported checkpoint."""
    from r1lab.models.gguf import resolve_model

    if recipe.model_name_or_path:
        recipe.model_name_or_path = resolve_model(recipe.model_name_or_path)


def build_trl_config(recipe: RecipeBase, extra: dict[str, Any] | None = None, *, cuda: bool | None = None):
    """The TRL SFTConfig/GRPOConfig for a recipe: device defaults < r1lab's choices (``extra``) < the recipe.

    TRL's own validation runs here (batch sizes divisible by num_generations, ...), so a bad
    combination fails before any model is loaded; its ValueError becomes a ConfigError.
    """
    values: dict[str, Any] = device_defaults(recipe, cuda=cuda)
    values.update(extra or {})
    values.update(recipe.trl)
    values["output_dir"] = recipe.output_dir
    values.pop("resume_from_checkpoint", None)  # r1lab resolves it (see resolve_checkpoint)
    if "model_init_kwargs" not in recipe.trl:
        values["model_init_kwargs"] = model_init_kwargs(recipe, bf16=bool(values.get("bf16")))
    config_cls = recipe.trl_config_class()
    try:
        return config_cls(**values)
    except ValueError as exc:
        raise ConfigError(f"{config_cls.__name__}: {exc}") from None


def model_init_kwargs(recipe: RecipeBase, *, bf16: bool) -> dict[str, Any]:
    """How TRL loads the model from its path: dtype (bf16 weights when training in bf16), attention, revision."""
    kwargs: dict[str, Any] = {"dtype": recipe.dtype or ("bfloat16" if bf16 else "float32")}
    if recipe.attn_implementation:
        kwargs["attn_implementation"] = recipe.attn_implementation
    if recipe.model_revision != "main":
        kwargs["revision"] = recipe.model_revision
    return kwargs


def peft_and_quantization(recipe: RecipeBase):
    """TRL's LoRA and bitsandbytes configs from the recipe's ModelConfig-style options (None, None without LoRA)."""
    if not recipe.use_peft:
        return None, None
    if importlib.util.find_spec("peft") is None:
        raise ConfigError("use_peft needs the peft package: pip install 'r1lab[peft]'")
    if (recipe.load_in_4bit or recipe.load_in_8bit) and importlib.util.find_spec("bitsandbytes") is None:
        raise ConfigError("load_in_4bit/load_in_8bit need bitsandbytes (and a GPU): pip install bitsandbytes")
    from trl import ModelConfig, get_peft_config, get_quantization_config

    model_config = ModelConfig(
        model_name_or_path=recipe.model_name_or_path,
        dtype=recipe.dtype or "bfloat16",
        use_peft=True,
        lora_r=recipe.lora_r,
        lora_alpha=recipe.lora_alpha,
        lora_dropout=recipe.lora_dropout,
        lora_target_modules=_target_modules(recipe.lora_target_modules),
        lora_modules_to_save=recipe.lora_modules_to_save,
        use_rslora=recipe.use_rslora,
        load_in_4bit=recipe.load_in_4bit,
        load_in_8bit=recipe.load_in_8bit,
        bnb_4bit_quant_type=recipe.bnb_4bit_quant_type,
    )
    return get_peft_config(model_config), get_quantization_config(model_config)


def _target_modules(modules: list[str] | None) -> list[str] | str | None:
    """peft expands its "all-linear" shorthand only when given as a string, not as a one-item list."""
    if modules and len(modules) == 1 and modules[0].lower() == "all-linear":
        return "all-linear"
    return modules


# --------------------------------------------------------------------------- tokenizer


def load_tokenizer(recipe: RecipeBase, padding_side: str):
    """The model's tokenizer with the padding side the trainer needs, and the recipe's chat template if any."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(
            recipe.model_name_or_path, revision=recipe.model_revision, padding_side=padding_side
        )
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"model_name_or_path {recipe.model_name_or_path!r}: cannot load its tokenizer: {exc}"
        ) from None
    if recipe.chat_template:
        template = recipe.chat_template
        if "{%" not in template and Path(template).is_file():
            template = Path(template).read_text(encoding="utf-8")
        tokenizer.chat_template = template
    if not tokenizer.chat_template:
        raise ConfigError(
            f"{recipe.model_name_or_path}: the tokenizer has no chat template; set chat_template in the recipe"
        )
    if tokenizer.pad_token is None:  # Llama-style tokenizers ship without one
        tokenizer.pad_token = tokenizer.eos_token
    hidden = [tag for tag in (THINK_START, THINK_END) if tag in tokenizer.all_special_tokens]
    if hidden:
        # TRL decodes completions with skip_special_tokens=True before rewards see them.
        logger.warning(
            "%s: the tokenizer marks %s as special tokens, so TRL strips them from completions and "
            "format rewards never see them; register them as ordinary added tokens (special=False)",
            recipe.model_name_or_path,
            " and ".join(hidden),
        )
    return tokenizer


# --------------------------------------------------------------------------- data


def load_rows(recipe: RecipeBase):
    """The recipe's training data as a ``datasets.Dataset`` (task, bundled benchmark, local file or hub)."""
    import datasets

    from r1lab.data import BENCHMARKS, load_benchmark, open_dataset

    source = recipe.dataset
    if source.startswith(TASK_PREFIX):
        from r1lab.data.tasks import make_task, train_test_split

        params = dict(recipe.dataset_params)
        test_fraction = float(params.pop("test_fraction", 0.0))
        split_seed = int(params.pop("split_seed", 0))
        num_examples = int(params.pop("num_examples", 1000))
        rows = make_task(source[len(TASK_PREFIX) :], num_examples, **params)
        if test_fraction:
            rows, held_out = train_test_split(rows, test_fraction, seed=split_seed)
            logger.info("task %s: %d training problems, %d held out", source, len(rows), len(held_out))
        dataset = datasets.Dataset.from_list(rows)
    else:
        if recipe.dataset_params:
            raise ConfigError("dataset_params applies to task: datasets only")
        dataset = (
            load_benchmark(source)
            if source in BENCHMARKS
            else open_dataset(source, split=recipe.dataset_split)
        )
    if len(dataset) == 0:
        raise DataError("the training data has no rows", path=source)
    if recipe.max_samples is not None and recipe.max_samples < len(dataset):
        dataset = dataset.select(range(recipe.max_samples))
    return dataset


# --------------------------------------------------------------------------- resume


def resolve_checkpoint(recipe: RecipeBase) -> str | None:
    """``resume_from_checkpoint``: a path, or true/auto/last for the newest checkpoint in output_dir."""
    value = recipe.trl.get("resume_from_checkpoint")
    if value in (None, "", "false", "False", "no"):
        return None
    if str(value).lower() in ("true", "auto", "last", "latest"):
        from transformers.trainer_utils import get_last_checkpoint

        out = Path(recipe.output_dir)
        last = get_last_checkpoint(str(out)) if out.is_dir() else None
        if last is None:
            logger.info("no checkpoint in %s: starting from the beginning", out)
        else:
            logger.info("resuming from %s", last)
        return last
    if not Path(value).is_dir():
        raise ConfigError(f"resume_from_checkpoint: no such checkpoint directory {value!r}")
    return str(value)


def checkpoint_step(checkpoint: str | None) -> int:
    if not checkpoint:
        return 0
    state = Path(checkpoint) / "trainer_state.json"
    if state.exists():
        return int(json.loads(state.read_text()).get("global_step", 0))
    return 0


# --------------------------------------------------------------------------- metrics


def metrics_callback(output_dir: str | os.PathLike, accuracy_key: str | None = None, resume_step: int = 0):
    """A TrainerCallback writing one JSON object per logged step to OUTPUT_DIR/metrics.jsonl.

    Key names are r1lab's, stable across TRL versions: ``step``, ``loss``, ``reward``,
    ``rewards/<name>`` (each reward's mean), ``accuracy``, ``completion_length``, ``kl``, plus TRL's
    other numbers under their own names. On resume, lines past the checkpoint's step (logged by
    the interrupted run, about to be redone) are dropped so each step appears once.
    """
    from transformers import TrainerCallback

    path = Path(output_dir) / METRICS_FILE

    class MetricsFileCallback(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            if not state.is_world_process_zero:
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            kept = []
            if resume_step and path.exists():
                kept = [line for line in path.read_text().splitlines() if _line_step(line) <= resume_step]
            path.write_text("".join(line + "\n" for line in kept))

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs or "train_runtime" in logs:
                return
            row = normalize_logs(logs, accuracy_key)
            row = {"step": state.global_step, "epoch": state.epoch, **row}
            with path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, default=float) + "\n")

    return MetricsFileCallback()


def _line_step(line: str) -> int:
    try:
        return int(json.loads(line).get("step", 0))
    except (ValueError, AttributeError):
        return 10**12  # a torn line from the crash: drop it


def normalize_logs(logs: dict[str, Any], accuracy_key: str | None) -> dict[str, Any]:
    """TRL's log names -> r1lab's: rewards/<name>/mean -> rewards/<name>, completions/mean_length -> completion_length."""
    row: dict[str, Any] = {}
    for key, value in logs.items():
        if key.startswith("rewards/") and key.endswith("/mean"):
            row[key[: -len("/mean")]] = value
        elif key == "completions/mean_length":
            row["completion_length"] = value
        elif key == "mean_token_accuracy":
            row["token_accuracy"] = value
        else:
            row[key] = value
    if accuracy_key and f"rewards/{accuracy_key}" in row:
        row["accuracy"] = row[f"rewards/{accuracy_key}"]
    return row


# --------------------------------------------------------------------------- run and save


def run_trainer(trainer, recipe: RecipeBase, checkpoint: str | None) -> TrainResult:
    """Train (resuming when asked), save a servable model + tokenizer + the recipe, return the result."""
    output = trainer.train(resume_from_checkpoint=checkpoint)
    out = Path(recipe.output_dir)
    save_final_model(trainer, recipe, out)
    metrics = dict(output.metrics)
    if trainer.is_world_process_zero():
        from r1lab.data import write_json

        write_json(out / "train_results.json", metrics)
    return TrainResult(
        output_dir=out, metrics=metrics, metrics_file=out / METRICS_FILE, checkpoint=checkpoint
    )


def save_final_model(trainer, recipe: RecipeBase, out: Path) -> None:
    """Save so that ``transformers serve``/vLLM load ``out`` as is.

    LoRA adapters are also merged into the base weights (adapters kept under ``adapter/``);
    ``use_cache`` is restored (checkpointing turns it off) and the generation config keeps
    sampling on, since evaluation draws several samples per problem.
    """
    model = trainer.model
    is_peft = hasattr(model, "peft_config")
    merge = is_peft and recipe.merge_lora
    if merge and _zero3(trainer):
        # ZeRO-3 shards the base weights across processes: merging on one of them would save shards.
        logger.warning(
            "LoRA under ZeRO-3: saving the adapters only; merge them into the base model after training "
            "(peft: PeftModel.from_pretrained(base, dir).merge_and_unload())"
        )
        merge = False
    if merge:
        trainer.save_model(str(out / "adapter"))
        if trainer.is_world_process_zero():
            unwrapped = trainer.accelerator.unwrap_model(model)
            merged = unwrapped.merge_and_unload()
            merged.save_pretrained(str(out))
    else:
        trainer.save_model(str(out))
    trainer.accelerator.wait_for_everyone()
    if not trainer.is_world_process_zero():
        return
    trainer.processing_class.save_pretrained(str(out))
    _finish_model_files(out)
    (out / "r1lab_recipe.yaml").write_text(recipe_yaml(recipe))
    logger.info("saved the trained model to %s", out)


def _zero3(trainer) -> bool:
    plugin = getattr(trainer.accelerator.state, "deepspeed_plugin", None)
    return plugin is not None and getattr(plugin, "zero_stage", 0) == 3


def _finish_model_files(out: Path) -> None:
    config_path = out / "config.json"
    if config_path.exists():
        config = json.loads(config_path.read_text())
        if config.get("use_cache") is False:
            config["use_cache"] = True
            config_path.write_text(json.dumps(config, indent=2) + "\n")
    gen_path = out / "generation_config.json"
    gen = json.loads(gen_path.read_text()) if gen_path.exists() else {}
    if gen.get("do_sample") is not True:
        gen["do_sample"] = True
        gen_path.write_text(json.dumps(gen, indent=2) + "\n")


def recipe_yaml(recipe: RecipeBase) -> str:
    """The recipe as YAML that ``load_recipe`` reads back (saved beside the model; handed to launchers)."""
    import yaml

    return yaml.safe_dump(_plain(recipe_to_dict(recipe)), sort_keys=False)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) or not isinstance(value, (str, int, float, bool, type(None))):
        return str(value)
    return value
