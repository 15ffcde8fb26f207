"""``r1lab sft --config recipe.yaml [--key value ...]``: supervised fine-tuning through TRL."""

from __future__ import annotations

from r1lab.cli._training import register_training_command


def register(subparsers) -> None:
    register_training_command(
        subparsers,
        "sft",
        help="supervised fine-tuning (cold start or distillation) with TRL's SFTTrainer",
        recipe="SFTRecipe",
        train="train_sft",
    )
