"""SFT and GRPO, full and LoRA, on the real pretrained SmolLM2-135M-Instruct (BPE tokenizer, ChatML).

Tiny sizes (a few steps, 2 prompts x 2 completions of at most 48 tokens) keep the four runs within
a few minutes on two CPU cores; each checks an effect, not just that TRL returned: finite losses,
weights that moved (or adapters saved and merged), reward metrics logged, and a saved model that
loads and answers through its own chat template.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from r1lab.training import GRPORecipe, SFTRecipe, load_recipe, train_grpo, train_sft

pytestmark = pytest.mark.slow

FAST = {"save_strategy": "no", "report_to": "none", "logging_steps": 1, "seed": 0}
#: SmolLM2's ChatML template, but the generation prompt pre-fills <think> as reasoning models' templates do.
PREFILL_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}"
    "{% endif %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n<think>\\n' }}{% endif %}"
)
TENSOR = "model.layers.0.self_attn.q_proj.weight"


def _tensor(model_dir: Path, name: str = TENSOR):
    from safetensors import safe_open

    with safe_open(str(model_dir / "model.safetensors"), "pt") as f:
        return f.get_tensor(name)


def _metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _answers_through_its_template(out: Path, expect_system: str) -> str:
    """Load the saved model the way a user would and generate a reply to a chat."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    chat = [{"role": "user", "content": "What is 2+3?"}]
    text = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    assert expect_system in text  # the template travelled with the model
    inputs = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        ids = model.generate(**inputs, max_new_tokens=8, do_sample=False)
    reply = tokenizer.decode(ids[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    assert reply.strip()
    return reply


@pytest.fixture
def base(smollm2_dir, tmp_path):
    def make(**extra):
        return {"model_name_or_path": str(smollm2_dir), "output_dir": str(tmp_path / "out"), **FAST, **extra}

    return make


def test_sft_full_on_the_models_own_graded_traces(base, smollm2_dir, tmp_path):
    """Distillation data as `r1lab generate` + `r1lab grade` write it, on task rows (whose own trace is text)."""
    traces = tmp_path / "graded.jsonl"
    with traces.open("w") as f:
        for a, b in [(2, 3), (4, 4), (1, 6), (3, 5)]:
            good = f"<think>\n{a} plus {b} makes {a + b}.\n</think>\n\n\\boxed{{{a + b}}}"
            row = {
                "problem": f"What is {a}+{b}?",
                "answer": str(a + b),
                "reasoning": f"so {a}+{b}={a + b}",  # the task's gold trace, a string
                "task": "arithmetic",
                "generations": [good, "The answer is 0."],
                "finish_reasons": ["stop", "stop"],
                "correct": [True, False],
            }
            f.write(json.dumps(row) + "\n")
    recipe = load_recipe(
        SFTRecipe,
        None,
        base(
            dataset=str(traces),
            max_steps=2,
            per_device_train_batch_size=2,
            max_length=192,
            learning_rate=1e-4,
        ),
    )
    result = train_sft(recipe)
    rows = _metrics(result.output_dir)
    assert [r["step"] for r in rows] == [1, 2]
    assert all(math.isfinite(r["loss"]) and r["loss"] > 0 for r in rows)
    assert not _tensor(result.output_dir).equal(_tensor(smollm2_dir))
    _answers_through_its_template(result.output_dir, "named SmolLM")


def test_sft_lora_with_a_template_that_prefills_think(base, smollm2_dir):
    recipe = load_recipe(
        SFTRecipe,
        None,
        base(
            dataset="task:arithmetic",
            dataset_params={"num_examples": 8, "digits": 1, "ops": "+", "seed": 0},
            box_answer=True,
            chat_template=PREFILL_TEMPLATE,
            use_peft=True,
            lora_r=8,
            lora_target_modules="all-linear",
            max_steps=2,
            per_device_train_batch_size=2,
            max_length=192,
            learning_rate=1e-3,
        ),
    )
    result = train_sft(recipe)
    out = result.output_dir
    assert all(math.isfinite(r["loss"]) for r in _metrics(out))
    adapter = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert "q_proj" in adapter["target_modules"] and "down_proj" in adapter["target_modules"]
    assert (out / "adapter" / "adapter_model.safetensors").exists()
    assert not _tensor(out).equal(_tensor(smollm2_dir))  # the adapters were merged into the saved weights
    assert "<think>" in (out / "chat_template.jinja").read_text()
    _answers_through_its_template(out, "named SmolLM")


def _grpo(base, **extra):
    options = {"system_prompt": "r1", **extra}
    return load_recipe(
        GRPORecipe,
        None,
        base(
            dataset="task:arithmetic",
            dataset_params={"num_examples": 16, "digits": 1, "ops": "+", "seed": 0},
            # soft_overlong over a 200-token window pays -length/200: completions of different lengths
            # differ, so a group most likely has a reward signal (the test below checks both cases)
            rewards="accuracy=1,format=0.5,soft_overlong=0.1",
            reward_params={"soft_overlong": {"max_completion_len": 200, "soft_punish_cache": 200}},
            max_steps=1,
            per_device_train_batch_size=4,  # 2 prompts x 2 completions
            num_generations=2,
            max_completion_length=48,
            **options,
        ),
    )


def _check_grpo_metrics(out: Path) -> dict:
    (row,) = _metrics(out)
    for name in ("accuracy", "format", "soft_overlong"):
        assert isinstance(row[f"rewards/{name}"], float), row
    assert 0 < row["completion_length"] <= 48 and math.isfinite(row["loss"])
    return row


def test_grpo_full_r1_zero_rewards(base, smollm2_dir):
    result = train_grpo(_grpo(base, learning_rate=1e-4))
    row = _check_grpo_metrics(result.output_dir)
    # With beta 0 the weights move exactly when some group's completions earned different rewards.
    moved = not _tensor(result.output_dir).equal(_tensor(smollm2_dir))
    assert moved == (row["frac_reward_zero_std"] < 1.0), row
    _answers_through_its_template(result.output_dir, "named SmolLM")


def test_grpo_lora_with_prefilled_think_and_dynamic_sampling(base, smollm2_dir):
    result = train_grpo(
        _grpo(
            base,
            use_peft=True,
            lora_r=8,
            learning_rate=1e-3,
            chat_template=PREFILL_TEMPLATE,
            system_prompt="",  # the template's default system prompt
            dynamic_sampling=True,
        )
    )
    out = result.output_dir
    row = _check_grpo_metrics(out)
    assert row["dynamic_sampling/skipped_share"] == pytest.approx(row["frac_reward_zero_std"])
    assert (out / "adapter" / "adapter_model.safetensors").exists()
    _answers_through_its_template(out, "<think>")
