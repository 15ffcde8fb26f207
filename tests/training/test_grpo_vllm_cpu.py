"""GRPO with TRL's colocated vLLM generation on a CPU: a real run on the real model through `r1lab grpo`.

The weight sync is judged by TRL's own measurement: with top-p 1 and the importance-sampling
correction on, TRL logs how far vLLM's log-probabilities of the sampled tokens are from the
trainer's. After each step's sync they must agree (float32 on both sides); a sync that misses any
weight (the tied output head did, before r1lab repacked it) shows up there at once, since the
learning rate is high enough to move every weight.
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from r1lab.cli import main as cli_main
from r1lab.errors import ConfigError
from r1lab.training import GRPORecipe, load_recipe
from r1lab.training.core import build_trl_config
from r1lab.training.vllm_cpu import (
    colocated_cpu_choices,
    train_in_vllm_python,
    wants_colocated_vllm_on_cpu,
)

#: TRL options that keep a run short (as in this folder's conftest, which tests cannot import)
FAST = {"save_strategy": "no", "report_to": "none", "logging_steps": 1, "seed": 0}


def _recipe(**extra) -> GRPORecipe:
    return load_recipe(
        GRPORecipe,
        overrides={
            "model_name_or_path": "m",
            "output_dir": "o",
            "dataset": "task:arithmetic",
            **FAST,
            **extra,
        },
    )


def test_colocated_vllm_on_cpu_turns_the_renormalisation_only_correction_off_unless_the_recipe_says():
    args = build_trl_config(_recipe(use_vllm=True, vllm_mode="colocate"), cuda=False)
    assert wants_colocated_vllm_on_cpu(args)
    assert colocated_cpu_choices(args) == {"vllm_importance_sampling_correction": False}
    bf16 = build_trl_config(_recipe(use_vllm=True, dtype="bfloat16"), cuda=False)
    assert colocated_cpu_choices(bf16) == {}  # bf16 kernels differ: TRL's correction has work to do
    own = _recipe(use_vllm=True, vllm_importance_sampling_correction=True)
    extra = colocated_cpu_choices(build_trl_config(own, cuda=False))
    assert build_trl_config(own, extra, cuda=False).vllm_importance_sampling_correction is True
    assert not wants_colocated_vllm_on_cpu(build_trl_config(_recipe(), cuda=False))


def test_no_vllm_environment_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("R1LAB_VLLM_PYTHON", "none")
    with pytest.raises(ConfigError, match="no vLLM environment.*make vllm"):
        train_in_vllm_python(_recipe(use_vllm=True, output_dir=str(tmp_path)))


@pytest.mark.slow
def test_grpo_with_colocated_vllm_keeps_vllm_in_step_with_the_trainer(vllm_python, smollm2_dir, tmp_path):
    out = tmp_path / "out"
    args = {
        "model_name_or_path": smollm2_dir,
        "output_dir": out,
        "dataset": "task:arithmetic",
        "dataset_params": json.dumps({"num_examples": 16, "digits": 2, "ops": "+", "seed": 0}),
        # the worked example (the smollm2 demo's prompt) makes answers short and varied, and the
        # length reward tells them apart, so the steps have a gradient
        "prompt_template": "math",
        "system_prompt": "example",
        "rewards": "accuracy=1,format=0.5,soft_overlong=1",
        "reward_params": json.dumps({"soft_overlong": {"soft_punish_cache": 40}}),
        "max_steps": 3,
        "per_device_train_batch_size": 8,
        "num_generations": 8,
        "max_completion_length": 48,
        "learning_rate": 1e-3,  # moves every weight, the tied embedding / output head included
        "temperature": 1.0,
        "top_p": 1.0,
        "beta": 0.0,
        "use_vllm": True,
        "vllm_mode": "colocate",
        "vllm_importance_sampling_correction": True,  # so that TRL measures the mismatch
        **FAST,
    }
    assert cli_main(["grpo", *[str(a) for k, v in args.items() for a in (f"--{k}", v)]]) == 0

    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]
    for row in rows:
        assert row["completion_length"] > 0
        # float32 on both sides: vLLM's log-probabilities equal the trainer's, step after step
        assert row["sampling/sampling_logp_difference/max"] < 1e-3, row
    start = load_file(str(smollm2_dir / "model.safetensors"))
    trained = load_file(str(out / "model.safetensors"))
    name = "model.embed_tokens.weight"
    assert not torch.equal(start[name], trained[name])  # the weights vLLM had to follow did move
