"""Real TRL SFT runs on the tiny model: loss goes down, the saved model serves, resume, LoRA, layouts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from r1lab.data import write_jsonl
from r1lab.errors import DataError
from r1lab.training import SFTRecipe, load_recipe, train_sft
from r1lab.training.sft import sft_examples


def _metrics(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_tiny_sft_lowers_the_loss_and_saves_a_servable_model(task_overrides, tmp_path):
    recipe = load_recipe(
        SFTRecipe,
        overrides=task_overrides(
            box_answer=True, max_steps=8, per_device_train_batch_size=8, learning_rate=5e-3, max_length=96
        ),
    )
    result = train_sft(recipe)
    rows = _metrics(result.output_dir)
    assert [r["step"] for r in rows] == list(range(1, 9))
    first = (rows[0]["loss"] + rows[1]["loss"]) / 2
    last = (rows[-2]["loss"] + rows[-1]["loss"]) / 2
    assert last < 0.8 * first, [r["loss"] for r in rows]
    assert result.metrics["train_loss"] > 0

    out = result.output_dir
    generation = json.loads((out / "generation_config.json").read_text())
    assert generation["do_sample"] is True
    assert json.loads((out / "config.json").read_text()).get("use_cache", True) is True
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 12+34?"}], add_generation_prompt=True, return_tensors="pt"
    )
    ids = ids["input_ids"] if hasattr(ids, "keys") else ids
    assert model.generate(ids, max_new_tokens=4, do_sample=False).shape[1] > ids.shape[1]
    assert "model_name_or_path" in (out / "r1lab_recipe.yaml").read_text()


def test_task_rows_become_prompt_completion_pairs_with_the_trace_in_think(task_overrides):
    import datasets

    recipe = load_recipe(SFTRecipe, overrides=task_overrides(box_answer=True))
    rows = datasets.Dataset.from_list(
        [{"id": "a", "problem": "What is 2+3?", "answer": "5", "reasoning": "2+3=5, write 5\nso 2+3=5"}]
    )
    examples, layout = sft_examples(rows, recipe)
    assert layout == "reasoning-answer"
    assert examples[0]["prompt"] == [{"role": "user", "content": "What is 2+3?"}]
    assert examples[0]["completion"] == [
        {"role": "assistant", "content": "<think>\n2+3=5, write 5\nso 2+3=5\n</think>\n\n\\boxed{5}"}
    ]


def test_generate_grade_output_trains_on_correct_generations_only(task_overrides, tmp_path):
    data = tmp_path / "graded.jsonl"
    write_jsonl(
        data,
        [
            {
                "id": f"p{i}",
                "problem": f"What is {i}+1?",
                "answer": str(i + 1),
                "generations": [
                    f"<think>\n{i}+1\n</think>\n\n\\boxed{{{i + 1}}}",
                    "<think>\nhmm\n</think>\n\n\\boxed{0}",
                ],
                "correct": [True, False],
            }
            for i in range(8)
        ],
    )
    recipe = load_recipe(
        SFTRecipe,
        overrides=task_overrides(
            dataset=str(data),
            dataset_params={},
            prompt_template="math",
            max_steps=1,
            per_device_train_batch_size=4,
        ),
    )
    import datasets

    examples, layout = sft_examples(
        datasets.Dataset.from_list([json.loads(x) for x in data.read_text().splitlines()]), recipe
    )
    assert layout == "r1lab" and len(examples) == 8
    assert all("boxed{0}" not in ex["completion"][0]["content"] for ex in examples)
    assert "Please reason step by step" in examples[0]["prompt"][-1]["content"]
    assert train_sft(recipe).output_dir.joinpath("model.safetensors").exists()


def test_unknown_layout_names_the_file_and_its_columns(task_overrides, tmp_path):
    data = tmp_path / "odd.jsonl"
    write_jsonl(data, [{"question": "x", "reply": "y"}])
    recipe = load_recipe(SFTRecipe, overrides=task_overrides(dataset=str(data), dataset_params={}))
    with pytest.raises(DataError, match=r"odd\.jsonl.*question, reply"):
        train_sft(recipe)


def test_resume_through_the_module_entry_point_continues_from_the_last_checkpoint(task_overrides):
    """`python -m r1lab.training.sft` (what accelerate launch runs) resumes a run that stopped at a checkpoint."""
    overrides = task_overrides(
        box_answer=True,
        per_device_train_batch_size=4,
        save_strategy="steps",
        save_steps=2,
        learning_rate=1e-3,
    )
    first = train_sft(load_recipe(SFTRecipe, overrides={**overrides, "max_steps": 2}))
    out = first.output_dir
    assert (out / "checkpoint-2").is_dir()
    # pretend the run died after checkpoint 2 had logged steps 3 and 4 (the last line torn), then resume
    with (out / "metrics.jsonl").open("a") as f:
        f.write(json.dumps({"step": 3, "loss": 9.9}) + "\n" + '{"step": 4, "lo')
    args = [sys.executable, "-m", "r1lab.training.sft"]
    for key, value in {**overrides, "max_steps": 4, "resume_from_checkpoint": "auto"}.items():
        args += [f"--{key}", json.dumps(value) if isinstance(value, dict) else str(value)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "checkpoint-2" in proc.stderr  # "resuming from .../checkpoint-2"
    rows = _metrics(out)
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert rows[2]["loss"] != 9.9
    final = json.loads((out / "checkpoint-4" / "trainer_state.json").read_text())
    assert final["global_step"] == 4
    # the resumed run's first step continues the schedule instead of restarting it
    assert rows[2]["learning_rate"] < rows[0]["learning_rate"]
    assert (out / "model.safetensors").exists()


def test_lora_sft_saves_adapters_and_a_merged_model(task_overrides):
    pytest.importorskip("peft")
    recipe = load_recipe(
        SFTRecipe,
        overrides=task_overrides(
            box_answer=True,
            use_peft=True,
            lora_r=4,
            lora_alpha=8,
            lora_target_modules=["q_proj", "v_proj"],
            max_steps=2,
            per_device_train_batch_size=4,
            learning_rate=1e-2,
        ),
    )
    out = train_sft(recipe).output_dir
    assert (out / "adapter" / "adapter_config.json").exists()
    adapter = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert adapter["r"] == 4 and set(adapter["target_modules"]) == {"q_proj", "v_proj"}
    from transformers import AutoModelForCausalLM

    merged = AutoModelForCausalLM.from_pretrained(out)  # a plain model: no peft needed to load or serve it
    assert not any("lora" in name for name, _ in merged.named_parameters())
    assert len(_metrics(out)) == 2


def test_module_entry_point_reports_errors_without_traceback(task_overrides, caplog):
    from r1lab.training.sft import main

    args = ["--model_name_or_path", "m", "--output_dir", "o", "--dataset", "d", "--lerning_rate", "1e-3"]
    assert main(args) == 2
    assert "unknown key 'lerning_rate' (did you mean 'learning_rate'?)" in caplog.text


def test_generations_on_task_rows_ignore_the_tasks_text_reasoning(task_overrides):
    """`r1lab generate` on task rows keeps the task's gold trace as text `reasoning`; the model's traces train."""
    import datasets

    rows = [
        {
            "problem": "What is 2+3?",
            "answer": "5",
            "reasoning": "so 2+3=5",  # the task's trace: a string, not one entry per generation
            "task": "arithmetic",
            "generations": ["<think>\ntwo plus three\n</think>\n\n\\boxed{5}", "\\boxed{7}"],
            "correct": [True, False],
        }
    ]
    recipe = load_recipe(SFTRecipe, overrides=task_overrides(dataset="graded.jsonl", dataset_params={}))
    examples, layout = sft_examples(datasets.Dataset.from_list(rows), recipe)
    assert layout == "r1lab" and len(examples) == 1
    assert examples[0]["completion"][0]["content"] == "<think>\ntwo plus three\n</think>\n\n\\boxed{5}"
