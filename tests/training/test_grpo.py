"""Real TRL GRPO runs on the tiny model, driven through `r1lab grpo`: steps run, every reward is logged."""

from __future__ import annotations

import json

import pytest

from r1lab.cli import main as cli_main
from r1lab.errors import ConfigError
from r1lab.training import GRPORecipe, load_recipe, train_grpo

REWARDS = {"accuracy": 1.0, "format": 0.5, "tag_count": 0.25, "repetition": 0.1}


def _args(overrides: dict) -> list[str]:
    out = []
    for key, value in overrides.items():
        if isinstance(value, dict):
            value = json.dumps(value)
        out += [f"--{key}", str(value)]
    return out


def test_grpo_runs_steps_and_logs_every_reward(task_overrides, tmp_path):
    overrides = task_overrides(
        max_steps=2,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=24,
        beta=0.04,
        learning_rate=1e-4,
    )
    overrides["rewards"] = ",".join(f"{k}={v}" for k, v in REWARDS.items())
    assert cli_main(["grpo", *_args(overrides)]) == 0

    out = tmp_path / "out"
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    for row in rows:
        for name in REWARDS:
            assert isinstance(row[f"rewards/{name}"], float), (name, row)
        assert row["accuracy"] == row["rewards/accuracy"]
        assert 0 < row["completion_length"] <= 24
        assert "kl" in row and "loss" in row and "reward" in row
    assert json.loads((out / "generation_config.json").read_text())["do_sample"] is True
    assert (out / "model.safetensors").exists() and (out / "tokenizer_config.json").exists()


def test_grpo_prompts_come_from_the_shared_prompt_module(task_overrides):
    from r1lab.prompts import build_messages
    from r1lab.training.core import load_rows
    from r1lab.training.grpo import grpo_prompts

    recipe = load_recipe(GRPORecipe, None, task_overrides(prompt_template="math", system_prompt="r1"))
    dataset = grpo_prompts(load_rows(recipe), recipe)
    row = dataset[0]
    assert row["prompt"] == build_messages(row, "math", "r1")
    assert row["prompt"][0]["role"] == "system" and "\\boxed{}" in row["prompt"][1]["content"]
    assert {"answer", "problem", "reasoning"} <= set(dataset.column_names)  # passed on to the rewards


def test_countdown_task_feeds_the_countdown_reward_its_columns(task_overrides):
    from r1lab.rewards import get_reward_funcs
    from r1lab.training.core import load_rows
    from r1lab.training.grpo import grpo_prompts

    recipe = load_recipe(
        GRPORecipe,
        None,
        task_overrides(dataset="task:countdown", dataset_params={"num_examples": 8}, rewards="countdown"),
    )
    dataset = grpo_prompts(load_rows(recipe), recipe)
    (countdown,) = get_reward_funcs(["countdown"])
    completions = [
        [{"role": "assistant", "content": f"<think>\n</think>\n\n\\boxed{{{a}}}"}] for a in dataset["answer"]
    ]
    scores = countdown(completions, nums=dataset["nums"], target=dataset["target"])
    assert scores == [1.0] * 8
    assert recipe.accuracy_name() == "countdown"


def test_unknown_reward_name_lists_the_valid_ones(task_overrides):
    recipe = load_recipe(GRPORecipe, None, task_overrides(rewards="accuracy,acuracy_v2"))
    with pytest.raises(ConfigError, match="unknown reward 'acuracy_v2'.*the rewards are: accuracy, format"):
        train_grpo(recipe)


def test_too_few_prompts_for_one_generation_batch_is_an_error_not_zero_steps(task_overrides):
    """TRL drops a chunk of fewer distinct prompts than a generation batch needs: zero steps, silently."""
    from r1lab.errors import DataError
    from r1lab.training import train_grpo

    recipe = load_recipe(
        GRPORecipe,
        None,
        task_overrides(
            dataset_params={"num_examples": 3, "digits": 1, "ops": "+", "seed": 0},
            per_device_train_batch_size=8,
            num_generations=2,
            max_steps=1,
        ),
    )
    with pytest.raises(
        DataError, match=r"3 prompt\(s\), but one GRPO generation batch needs 4 distinct prompts"
    ):
        train_grpo(recipe)
