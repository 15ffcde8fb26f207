"""Supervised fine-tuning through TRL's SFTTrainer: cold start, or distillation of reasoning traces.

Rows in any layout users have (r1lab generate/grade output, r1lab task rows, OpenR1-Math,
OpenThoughts/Bespoke-Stratos conversations, chat messages, prompt/completion pairs) become chats
through ``r1lab.data.convert.to_sft_examples``, the same conversion ``r1lab convert`` writes, with
the reasoning inside ``<think>...</think>`` before the answer. Each chat is then split into a
conversational prompt (the turns before the last assistant turn) and completion (that turn), so
TRL computes the loss on the completion only whatever the tokenizer's chat template (no
``{% generation %}`` markers needed).

Run with ``r1lab sft --config recipe.yaml`` or ``accelerate launch -m r1lab.training.sft --config ...``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from r1lab.errors import DataError
from r1lab.training.core import (
    TrainResult,
    build_trl_config,
    checkpoint_step,
    load_rows,
    load_tokenizer,
    metrics_callback,
    peft_and_quantization,
    resolve_checkpoint,
    resolve_recipe_model,
    run_trainer,
)
from r1lab.training.recipes import SFTRecipe

logger = logging.getLogger(__name__)


def split_chat(messages: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]] | None:
    """Chat -> {prompt: the turns before the last assistant turn, completion: [that turn]}; None without one."""
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if not last:
        return None
    return {"prompt": messages[:last], "completion": [messages[last]]}


def sft_examples(dataset, recipe: SFTRecipe):
    """The rows as conversational prompt/completion examples; DataError names the row at fault."""
    import datasets

    from r1lab.data.convert import SFTFormat, resolve_layout, to_sft_examples

    if recipe.answer_column != "answer" and recipe.answer_column in dataset.column_names:
        if "answer" in dataset.column_names:
            dataset = dataset.remove_columns("answer")
        dataset = dataset.rename_column(recipe.answer_column, "answer")
    options = recipe.convert_options()
    try:
        layout = resolve_layout(recipe.sft_layout, list(dataset.column_names), SFTFormat(**options)).name
    except DataError as exc:
        raise DataError(str(exc), path=recipe.dataset) from None
    if layout == "r1lab" and "reasoning" in dataset.column_names and _is_text_column(dataset, "reasoning"):
        # Generations on r1lab task rows carry the task's own gold trace as a text ``reasoning`` column;
        # in generate output ``reasoning`` means the server's per-generation reasoning (a list), so the
        # gold trace would make every row fail. The model's own traces are what distillation trains on.
        logger.info(
            "%s: ignoring the text column 'reasoning' (the task's trace, not the generations')",
            recipe.dataset,
        )
        dataset = dataset.remove_columns("reasoning")
    examples = []
    for number, row in enumerate(dataset, start=1):
        try:
            chats = to_sft_examples(row, layout, **options)
        except DataError as exc:
            raise DataError(str(exc), path=recipe.dataset, row=number) from None
        examples += [pair for pair in map(split_chat, chats) if pair]
    if not examples:
        raise DataError(
            f"no training examples in {len(dataset)} {layout} rows (no correct generation, or no assistant turn)",
            path=recipe.dataset,
        )
    return datasets.Dataset.from_list(examples), layout


def _is_text_column(dataset, column: str) -> bool:
    feature = dataset.features.get(column)
    return getattr(feature, "dtype", None) in ("string", "large_string")


def train_sft(recipe: SFTRecipe) -> TrainResult:
    """Fine-tune ``recipe.model_name_or_path`` on ``recipe.dataset``; the model and metrics.jsonl go to output_dir."""
    from trl import SFTTrainer

    recipe.validate()
    resolve_recipe_model(recipe)
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
