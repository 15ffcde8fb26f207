"""The smollm2 preset end to end on the real SmolLM2-135M-Instruct, at a size CI affords.

R1-Zero from the instruct model: pass-rate prompt selection through a real ``transformers serve``,
TRL GRPO with the accuracy and format rewards, distillation (generate + grade --keep correct + SFT
of the instruct model), evaluation of all three models, and the report. The sizes are cut to a
few problems and steps, so the numbers mean nothing; what is checked is that every stage ran on
the real model with its real tokenizer and template and that the files carry real content.
"""

from __future__ import annotations

import json

import pytest
from safetensors import safe_open

from r1lab.data.io import read_jsonl
from r1lab.demo import make_config, run_demo
from r1lab.demo.config import REAL_MODEL_STAGES, SMOLLM2_PRESET

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

#: The preset, cut to CI size (about three minutes on two free cores).
TINY_SIZES = {
    "num_train": 16,
    "num_test": 6,
    "select_problems": 6,
    "select_samples": 2,
    "grpo_steps": 2,
    "grpo_batch_size": 8,
    "num_generations": 4,
    "max_completion_length": 48,
    # two-digit sums: the teacher gets ~20% right, so 6 x 2 answers held none 1 run in 10 or so (seen in CI)
    "distill_problems": 16,
    "distill_samples": 2,
    "student_steps": 2,
    "eval_samples": 2,
    # One request at a time: on a loaded 2-core machine the continuous-batching server stalled with
    # the real model (docs/demo.md); the preset's own setting is timed there, not here.
    "continuous_batching": False,
    "max_concurrent": 2,
    "grpo_overrides": {"warmup_steps": 0},  # both steps at the full rate (a 1-step warmup starts at 0)
}


@pytest.fixture(scope="module")
def smollm2_run(tmp_path_factory, smollm2_dir):
    out = tmp_path_factory.mktemp("demo-smollm2")
    config = make_config(
        {"preset": "smollm2", "model": str(smollm2_dir), "output_dir": str(out), **TINY_SIZES}
    )
    return config, out, run_demo(config)


def _tensor(path, name):
    with safe_open(str(path), framework="pt") as f:
        return f.get_tensor(name)


def test_preset_starts_from_the_real_model_without_a_cold_start(smollm2_run, smollm2_dir):
    config, out, results = smollm2_run
    assert config.prompt_template == SMOLLM2_PRESET["prompt_template"] and config.system_prompt == "example"
    assert results["preset"] == "smollm2"
    assert [s["name"] for s in results["stages"]] == [s for s in REAL_MODEL_STAGES if s != "report"]
    assert not (out / "cold_start").exists()
    assert results["grpo"]["start_model"] == str(smollm2_dir)
    # GRPO and the student changed the instruct model's weights (full fine-tuning, not a copy). A GRPO
    # step whose groups all had zero reward variance has no gradient, so GRPO is only held to it
    # when some step had signal.
    name = "model.layers.0.mlp.down_proj.weight"
    start = _tensor(smollm2_dir / "model.safetensors", name)
    signal = any(row.get("frac_reward_zero_std", 1.0) < 1.0 for row in results["grpo"]["curve"])
    trained = [out / "distill" / "student"] + ([out / "grpo" / "model"] if signal else [])
    for model in trained:
        assert (model / "tokenizer.json").exists(), model
        assert not _tensor(model / "model.safetensors", name).equal(start), model


def test_selection_keeps_prompts_the_model_sometimes_solves(smollm2_run):
    config, out, results = smollm2_run
    select = results["select"]
    samples = list(read_jsonl(out / "select" / "graded.jsonl"))
    prompts = list(read_jsonl(out / "select" / "prompts.jsonl"))
    assert select["pool"] == config.select_problems and select["samples_per_prompt"] == 2
    per_step = config.grpo_batch_size // config.num_generations
    if select["fallback_to_pool"]:  # too few had a pass rate strictly inside (0, 1) for one GRPO step
        assert len(prompts) == select["pool"] and len(samples) < per_step
    else:
        assert len(prompts) == select["selected"] == len(samples) <= select["pool"]
        assert all(0 < row["pass_rate"] < 1 for row in prompts)
        assert select["zero_variance_prompt_share"] == pytest.approx(1 - len(prompts) / select["pool"])


def test_results_carry_every_model_with_real_token_lengths_and_format(smollm2_run):
    config, out, results = smollm2_run
    on_disk = json.loads((out / "results.json").read_text())
    assert set(on_disk["models"]) == {"instruct", "grpo", "student"}
    served = set()
    for name, numbers in on_disk["models"].items():
        evaluation = json.loads((out / "evaluate" / name / "test" / "results.json").read_text())
        served.add(json.dumps(evaluation["environment"]["server"], sort_keys=True))
        assert numbers["pass@1"] == evaluation["metrics"]["pass@1"]
        assert numbers["pass@1_stderr"] is not None
        assert numbers["num_problems"] == on_disk["task"]["num_test"] and numbers["num_samples"] == 2
        # lengths are the server's token counts (BPE tokens, capped by the limit), not characters
        details = list(read_jsonl(out / "evaluate" / name / "test" / "details.jsonl"))
        tokens = [t for row in details for t in row["completion_tokens"]]
        chars = [len(g) for row in details for g in row["generations"]]
        assert 0 < max(tokens) <= config.max_completion_length
        assert sum(tokens) < sum(chars)  # a BPE token is more than one character on average
        assert 0.0 <= numbers["format"] <= 1.0 and numbers["format_stderr"] is not None
    # Every model served alike (the base model is a GGUF import, which vLLM alone would serve in
    # bfloat16): the differences between models are the training's, not the engine's
    assert len(served) == 1, served
    # The preset's worked example gets the tags written (0 of 160 samples without it, about a third
    # with it): over the three models' 36 samples, none in the format would mean the example is lost
    assert any(numbers["format"] > 0 for numbers in on_disk["models"].values())
    curve = on_disk["grpo"]["curve"]
    assert [row["step"] for row in curve] == list(range(1, config.grpo_steps + 1))
    assert all("rewards/format" in row and "accuracy" in row for row in curve)
    distill = on_disk["distill"]
    kept = list(read_jsonl(out / "distill" / "kept.jsonl"))
    assert distill["kept"] == sum(len(row["generations"]) for row in kept) > 0
    assert all(all(row["correct"]) for row in kept)


def test_report_shows_the_real_model_run(smollm2_run, smollm2_dir):
    config, out, results = smollm2_run
    page = (out / "report.html").read_text()
    assert f"R1-Zero on {smollm2_dir.name}" in page
    assert results["headline"].split(";")[0] in page.replace("&gt;", ">").replace("&lt;", "<")
    assert "&lt;think&gt; format (%)" in page
    assert "Prompt selection and the GRPO signal" in page
    assert page.count("data:image/png;base64,") >= 3  # accuracy, GRPO curves, lengths
    markdown = (out / "report.md").read_text()
    for title in ("instruct (start)", "GRPO", "distilled student"):
        assert title in markdown
