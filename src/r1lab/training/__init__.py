"""Training: SFT and GRPO through TRL, driven by YAML recipes (see docs/training.md).

Names are imported lazily so that reading a recipe or ``r1lab --help`` does not import torch or TRL.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "RecipeBase": "r1lab.training.recipes",
    "SFTRecipe": "r1lab.training.recipes",
    "GRPORecipe": "r1lab.training.recipes",
    "load_recipe": "r1lab.training.recipes",
    "TrainResult": "r1lab.training.core",
    "train_sft": "r1lab.training.sft",
    "train_grpo": "r1lab.training.grpo",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'r1lab.training' has no attribute {name!r}")
