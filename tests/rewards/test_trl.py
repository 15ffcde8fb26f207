"""The rewards inside a real TRL GRPOTrainer step on the tiny model: the signature TRL really uses."""

from __future__ import annotations

import pytest


@pytest.mark.timeout(600)
def test_grpo_step_calls_every_cheap_reward(tiny_model_dir, tmp_path):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from r1lab.rewards import get_reward_funcs

    dataset = Dataset.from_list(
        [
            {"prompt": [{"role": "user", "content": "1+1?"}], "answer": "2", "nums": [1, 1], "target": 2},
            {"prompt": [{"role": "user", "content": "2+2?"}], "answer": "4", "nums": [2, 2], "target": 4},
        ]
    )
    names = [
        "accuracy",
        "format",
        "tag_count",
        "length",
        "cosine",
        "repetition",
        "soft_overlong",
        "countdown",
    ]
    funcs = get_reward_funcs(names, max_completion_len=16, unit="tokens", max_len=16)
    calls: dict[str, int] = {}

    def counting(func):
        def wrapper(*args, **kwargs):
            values = func(*args, **kwargs)
            calls[func.__name__] = len(values)
            low, high = func.bounds()
            assert all(v is None or low <= v <= high for v in values)
            return values

        wrapper.__name__ = func.__name__
        return wrapper

    args = GRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        num_generations=2,
        max_completion_length=16,
        max_steps=1,
        learning_rate=1e-5,
        bf16=False,
        dataloader_pin_memory=False,
        report_to=[],
        logging_steps=1,
        save_strategy="no",
    )
    trainer = GRPOTrainer(
        model=str(tiny_model_dir), reward_funcs=[counting(f) for f in funcs], args=args, train_dataset=dataset
    )
    trainer.train()
    assert calls == {name: 4 for name in names}
    logged = trainer.state.log_history[0]
    assert all(f"rewards/{name}/mean" in logged for name in names)
