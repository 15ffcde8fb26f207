"""Training: SFT and GRPO through TRL, driven by YAML recipes (see docs/training.md).

Names are imported lazily so that reading a recipe or ``r1lab --help`` does not import torch or TRL.
"""

from __future__ import annotations

from r1lab.lazy import lazy_exports

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

__getattr__ = lazy_exports(__name__, _EXPORTS)
