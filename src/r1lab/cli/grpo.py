"""``r1lab grpo --config recipe.yaml [--key value ...]``: RL with verifiable rewards through TRL."""

from __future__ import annotations

from r1lab.cli._training import register_training_command


def register(subparsers) -> None:
    register_training_command(
        subparsers,
        "grpo",
        help="reinforcement learning with verifiable rewards with TRL's GRPOTrainer",
        recipe="GRPORecipe",
        train="train_grpo",
    )
