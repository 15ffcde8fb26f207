"""Small, fast training settings shared by the training tests (CPU, the tiny model)."""

from __future__ import annotations

import pytest

#: TRL options that keep a tiny run to seconds: no checkpoints or reporting unless a test asks.
FAST = {"save_strategy": "no", "report_to": "none", "logging_steps": 1, "seed": 0}


@pytest.fixture
def task_overrides(tiny_model_dir, tmp_path):
    """A recipe on 2-digit addition from the tiny model, writing to a fresh output_dir."""

    def make(**extra):
        return {
            "model_name_or_path": str(tiny_model_dir),
            "output_dir": str(tmp_path / "out"),
            "dataset": "task:arithmetic",
            "dataset_params": {"num_examples": 200, "digits": 2, "ops": "+", "seed": 0},
            "prompt_template": "plain",
            **FAST,
            **extra,
        }

    return make
