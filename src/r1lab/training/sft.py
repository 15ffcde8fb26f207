"""Supervised fine-tuning through TRL's SFTTrainer: cold start, or distillation of reasoning traces.

Every row becomes a conversational prompt/completion pair: the prompt is the chat up to the last
assistant turn, the completion is that turn with the reasoning inside ``<think>...</think>``.
TRL then computes the loss on the completion only, whatever the tokenizer's chat template (no
``{% generation %}`` markers needed). The layouts users have are converted here:

- ``prompt_completion``: ``prompt`` and ``completion`` columns (text or messages), used as they are;
- ``messages``: Open-R1 / OpenThoughts chats, and ``generations``: r1lab generate/grade output
  (several correct generations give several examples), both via ``r1lab.data.convert.to_sft_examples``;
- ``task``: ``problem`` + ``reasoning`` + ``answer`` rows from ``r1lab.data.tasks``, rendered with
  the recipe's prompt template and system prompt from ``r1lab.prompts``.

Run with ``r1lab sft --config recipe.yaml`` or ``accelerate launch -m r1lab.training.sft --config ...``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from r1lab.errors import ConfigError, DataError
from r1lab.prompts import build_messages, format_response
from r1lab.training.core import (
    TrainResult,
    build_trl_config,
    checkpoint_step,
    load_rows,
    load_tokenizer,
    metrics_callback,
    peft_and_quantization,
    resolve_checkpoint,
    run_trainer,
)
from r1lab.training.recipes import SFTRecipe

logger = logging.getLogger(__name__)

LAYOUTS = ("prompt_completion", "messages", "generations", "task")


def detect_layout(columns: list[str], recipe: SFTRecipe) -> str:
    if recipe.sft_layout != "auto":
        if recipe.sft_layout not in LAYOUTS:
            raise ConfigError(f"sft_layout {recipe.sft_layout!r}: use auto or one of {', '.join(LAYOUTS)}")
        return recipe.sft_layout
    if "prompt" in columns and "completion" in columns:
        return "prompt_completion"
    if "messages" in columns or "conversations" in columns:
        return "messages"
    if "generations" in columns:
        return "generations"
    if "reasoning" in columns and recipe.prompt_column in columns:
        return "task"
    raise DataError(
        "cannot tell how to turn these rows into SFT examples: expected prompt+completion, messages, "
        f"generations (r1lab generate output) or {recipe.prompt_column}+reasoning+{recipe.answer_column}; "
        f"the columns are: {', '.join(columns)}",
        path=recipe.dataset,
    )


def _split_chat(messages: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]] | None:
    """Chat -> {prompt: turns before the last assistant turn, completion: [that turn]}."""
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if last is None or last == 0:
        return None
    return {"prompt": messages[:last], "completion": [messages[last]]}


def _task_example(row: dict[str, Any], recipe: SFTRecipe) -> dict[str, Any]:
    answer = recipe.answer_format.format(answer=row[recipe.answer_column])
    return {
        "prompt": build_messages(row, recipe.prompt_template, recipe.system_prompt, recipe.prompt_column),
        "completion": [{"role": "assistant", "content": format_response(row["reasoning"], answer)}],
    }


def sft_examples(dataset, recipe: SFTRecipe):
    """The rows as conversational prompt/completion examples (see the module docstring)."""
    import datasets

    from r1lab.data import require_columns

    columns = list(dataset.column_names)
    layout = detect_layout(columns, recipe)
    if layout == "prompt_completion":
        require_columns(dataset, ["prompt", "completion"], recipe.dataset)
        return dataset.select_columns(["prompt", "completion"]), layout
    if layout == "task":
        require_columns(dataset, [recipe.prompt_column, "reasoning", recipe.answer_column], recipe.dataset)
        return datasets.Dataset.from_list([_task_example(row, recipe) for row in dataset]), layout
    try:
        from r1lab.data.convert import to_sft_examples
    except ImportError:
        raise ConfigError(f"the {layout} layout needs r1lab.data.convert, which is not installed") from None
    examples = []
    for number, row in enumerate(dataset, start=1):
        try:
            chats = to_sft_examples(row)
        except DataError as exc:
            raise DataError(str(exc), path=recipe.dataset, row=number) from None
        examples += [pair for pair in map(_split_chat, chats) if pair]
    if not examples:
        raise DataError(
            f"no usable examples in the {layout} rows (none correct, or no assistant turn)",
            path=recipe.dataset,
        )
    return datasets.Dataset.from_list(examples), layout


def train_sft(recipe: SFTRecipe) -> TrainResult:
    """Fine-tune ``recipe.model_name_or_path`` on ``recipe.dataset``; the model and metrics.jsonl go to output_dir."""
    from trl import SFTTrainer

    recipe.validate()
    args = build_trl_config(recipe)
    tokenizer = load_tokenizer(recipe, padding_side="right")
    dataset, layout = sft_examples(load_rows(recipe), recipe)
    logger.info("SFT on %d %s examples from %s", len(dataset), layout, recipe.dataset)
    peft_config, quantization_config = peft_and_quantization(recipe)
    checkpoint = resolve_checkpoint(recipe)
    trainer = SFTTrainer(
        model=recipe.model_name_or_path,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
        quantization_config=quantization_config,
        callbacks=[metrics_callback(recipe.output_dir, resume_step=checkpoint_step(checkpoint))],
    )
    return run_trainer(trainer, recipe, checkpoint)


def main(argv: list[str] | None = None) -> int:
    """``python -m r1lab.training.sft --config recipe.yaml [--key value ...]`` (for accelerate launch)."""
    from r1lab.training.launch import launch

    return launch(SFTRecipe, train_sft, argv, prog="r1lab.training.sft")


if __name__ == "__main__":
    sys.exit(main())
