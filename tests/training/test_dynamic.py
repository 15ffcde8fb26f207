"""DAPO-style dynamic sampling and pass-rate prompt selection, in real TRL GRPO runs on the tiny model."""

from __future__ import annotations

import json
import zlib

import pytest
import torch

from r1lab.errors import ConfigError, DataError
from r1lab.training import GRPORecipe, load_recipe, train_grpo
from r1lab.training.dynamic import (
    METRIC_AFTER,
    METRIC_KEPT,
    METRIC_PASSES_SKIPPED,
    METRIC_SKIPPED,
    informative_groups,
)

FAST = {"save_strategy": "no", "report_to": "none", "logging_steps": 1, "seed": 0}


def test_informative_groups_compares_weighted_totals_per_group():
    nan = float("nan")
    rewards = torch.tensor(
        [
            [1.0, 0.0], [1.0, 0.0],  # group 0: identical -> skipped
            [1.0, 0.0], [0.0, 1.0],  # group 1: same total 1.0 at equal weights, differ at 1 vs 0.5
            [0.0, 0.0], [nan, nan],  # group 2: one scored completion -> nothing to compare
            [0.0, 1.0], [1.0, 1.0],  # group 3: varies
        ]
    )  # fmt: skip
    equal = informative_groups(rewards, torch.tensor([1.0, 1.0]), 2).tolist()
    assert equal == [False, False, False, False, False, False, True, True]
    weighted = informative_groups(rewards, torch.tensor([1.0, 0.5]), 2).tolist()
    assert weighted == [False, False, True, True, False, False, True, True]


def _constant_for_some(completions, constant, **kwargs):
    """1.0 for rows marked constant; otherwise a value that differs whenever the completion text differs."""
    texts = [c if isinstance(c, str) else c[0]["content"] for c in completions]
    return [
        1.0 if flag else (zlib.crc32(t.encode()) % 1000) / 1000
        for flag, t in zip(constant, texts, strict=True)
    ]


def test_zero_variance_groups_leave_the_loss_in_a_real_trl_run(tiny_model_dir, tmp_path):
    """Half the prompts earn a constant reward: their completions must be masked and not counted."""
    import datasets
    from trl import GRPOConfig

    from r1lab.training.dynamic import DynamicSamplingGRPOTrainer

    seen = []

    class Recording(DynamicSamplingGRPOTrainer):
        def _generate_and_score_completions(self, inputs):
            output = super()._generate_and_score_completions(inputs)
            seen.append(([row["constant"] for row in inputs], output))
            return output

    rows = [{"prompt": f"What is {i}+{i}?", "constant": i % 2 == 0} for i in range(8)]
    args = GRPOConfig(
        output_dir=str(tmp_path / "out"),
        max_steps=2,
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=16,
        learning_rate=1e-4,
        bf16=False,
        dataloader_pin_memory=False,
        gradient_checkpointing=False,
        **FAST,
    )
    trainer = Recording(
        model=str(tiny_model_dir),
        reward_funcs=[_constant_for_some],
        args=args,
        train_dataset=datasets.Dataset.from_list(rows),
    )
    trainer.train()

    assert len(seen) == 2
    for flags, output in seen:
        constant = torch.tensor(flags)
        mask = output["completion_mask"]
        assert mask[constant].sum() == 0  # the constant groups are out of the loss
        assert (mask[~constant].sum(dim=1) > 0).all()  # every other completion still trains
        assert int(output["num_items_in_batch"]) == int(mask.sum())
    logged = [h for h in trainer.state.log_history if METRIC_SKIPPED in h]
    assert len(logged) == 2
    for history, (flags, _) in zip(logged, seen, strict=True):
        share = sum(flags) / len(flags)
        assert history[METRIC_SKIPPED] == pytest.approx(share)
        assert history["frac_reward_zero_std"] == pytest.approx(share)  # TRL's own count agrees
        assert history[METRIC_KEPT] == pytest.approx(2 * (1 - share))


def test_skipping_the_passes_of_an_all_skipped_batch_trains_exactly_as_running_them(tiny_model_dir, tmp_path):
    """Step 1 has reward variance, step 2 none: skipping step 2's passes must leave the same weights as
    running them (zero gradients, so Adam still moves the weights by its momentum: missing gradients
    would not)."""
    import datasets
    from trl import GRPOConfig, GRPOTrainer

    from r1lab.training.dynamic import DynamicSamplingGRPOTrainer

    class FullPasses(DynamicSamplingGRPOTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            return GRPOTrainer.compute_loss(self, model, inputs, return_outputs, num_items_in_batch)

    def train(trainer_cls, steps, out):
        calls = []

        def varied_then_constant(completions, **kwargs):
            calls.append(1)
            return [float(zlib.crc32(str(c).encode()) % 5) if len(calls) == 1 else 1.0 for c in completions]

        args = GRPOConfig(
            output_dir=str(tmp_path / out),
            max_steps=steps,
            per_device_train_batch_size=8,
            num_generations=4,
            max_completion_length=12,
            learning_rate=1e-3,
            beta=0.0,
            bf16=False,
            dataloader_pin_memory=False,
            gradient_checkpointing=False,
            **FAST,
        )
        rows = [{"prompt": f"What is {i}+{i}?"} for i in range(16)]
        trainer = trainer_cls(
            model=str(tiny_model_dir),
            reward_funcs=[varied_then_constant],
            args=args,
            train_dataset=datasets.Dataset.from_list(rows),
        )
        trainer.train()
        weights = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
        return weights, trainer.state.log_history

    skipped, history = train(DynamicSamplingGRPOTrainer, 2, "skipped")
    full, _ = train(FullPasses, 2, "full")
    after_one, _ = train(DynamicSamplingGRPOTrainer, 1, "one")
    steps = [h for h in history if METRIC_SKIPPED in h]
    assert steps[0][METRIC_SKIPPED] < 1.0  # step 1 trains
    assert steps[1][METRIC_SKIPPED] == 1.0 and steps[1].get(METRIC_PASSES_SKIPPED) == 1.0
    for name, weight in full.items():
        torch.testing.assert_close(skipped[name], weight, rtol=0, atol=1e-6, msg=name)
    assert any(not torch.equal(skipped[n], w) for n, w in after_one.items())  # step 2 did move them


def test_recipe_dynamic_sampling_logs_the_skipped_share(task_overrides, tmp_path):
    """Through train_grpo: the random tiny model never earns the accuracy reward, so every group is skipped."""
    recipe = load_recipe(
        GRPORecipe,
        None,
        task_overrides(
            dynamic_sampling=True,
            rewards="accuracy",
            max_steps=1,
            per_device_train_batch_size=4,
            num_generations=2,
            max_completion_length=12,
        ),
    )
    train_grpo(recipe)
    rows = [json.loads(line) for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    assert rows[0][METRIC_SKIPPED] == 1.0 == rows[0]["frac_reward_zero_std"]
    assert rows[0][METRIC_KEPT] == 0.0 and METRIC_AFTER not in rows[0]


def _graded(path, shares):
    """A file as `r1lab grade` writes it: one row per problem with its generations and their grades."""
    with path.open("w") as f:
        for i, share in enumerate(shares):
            correct = [j < share * 4 for j in range(4)]
            row = {
                "id": f"p{i}",
                "problem": f"What is {i}+1?",
                "answer": str(i + 1),
                "generations": [f"\\boxed{{{i + 1 if c else 0}}}" for c in correct],
                "finish_reasons": ["stop"] * 4,
                "extracted": [str(i + 1) if c else "0" for c in correct],
                "correct": correct,
                "grade_status": ["ok"] * 4,
            }
            f.write(json.dumps(row) + "\n")
    return path


def test_pass_rate_keeps_problems_the_model_solves_sometimes(task_overrides, tmp_path):
    from r1lab.training.grpo import training_prompts

    graded = _graded(tmp_path / "graded.jsonl", [0.0, 0.25, 0.5, 1.0, 0.75, 0.0])
    recipe = load_recipe(
        GRPORecipe, None, task_overrides(dataset=str(graded), dataset_params={}, pass_rate="0.1,0.9")
    )
    dataset = training_prompts(recipe)
    assert dataset["problem"] == ["What is 1+1?", "What is 2+1?", "What is 4+1?"]
    assert not {"generations", "correct", "extracted", "grade_status"} & set(dataset.column_names)
    assert dataset[0]["prompt"][-1]["content"].startswith("What is 1+1?")

    with pytest.raises(DataError, match="keeps no row"):
        training_prompts(
            load_recipe(
                GRPORecipe, None, task_overrides(dataset=str(graded), dataset_params={}, pass_rate="0.8,0.9")
            )
        )
    with pytest.raises(ConfigError, match="pass_rate"):
        load_recipe(GRPORecipe, None, task_overrides(pass_rate="0.9,0.1"))


def test_pass_rate_needs_a_graded_file(task_overrides):
    from r1lab.training.grpo import training_prompts

    recipe = load_recipe(GRPORecipe, None, task_overrides(pass_rate="0.1,0.9"))
    with pytest.raises(DataError, match="correct"):
        training_prompts(recipe)


def test_grpo_trains_on_a_pass_rate_selected_graded_file(task_overrides, tmp_path):
    graded = _graded(tmp_path / "graded.jsonl", [0.25, 0.5, 1.0, 0.0])
    recipe = load_recipe(
        GRPORecipe,
        None,
        task_overrides(
            dataset=str(graded),
            dataset_params={},
            pass_rate="0.1,0.9",
            max_steps=1,
            per_device_train_batch_size=4,
            num_generations=2,
            max_completion_length=12,
        ),
    )
    result = train_grpo(recipe)
    rows = [json.loads(line) for line in result.metrics_file.read_text().splitlines()]
    assert rows[0]["step"] == 1 and "frac_reward_zero_std" in rows[0]
