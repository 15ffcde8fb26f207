"""Recipes: every file in recipes/ loads and validates; bad keys and values fail with messages that help."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from r1lab.cli import main as cli_main
from r1lab.errors import ConfigError, DataError
from r1lab.training import GRPORecipe, SFTRecipe, load_recipe
from r1lab.training.core import build_trl_config, device_defaults

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def _kind(path: Path):
    return SFTRecipe if path.stem.startswith("sft") else GRPORecipe


#: Recipe folders sized for a CPU (no vLLM, no bf16); the others are GPU recipes.
CPU_RECIPES = ("tiny", "smollm2-135m")


@pytest.mark.parametrize(
    "path",
    sorted(p for p in RECIPES.glob("*/*.yaml") if p.parent.name != "accelerate"),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_every_training_recipe_loads_and_builds_its_trl_config(path, tiny_model_dir):
    recipe = load_recipe(_kind(path), path)
    assert recipe.model_name_or_path and recipe.output_dir and recipe.dataset
    if path.parent.name in CPU_RECIPES:
        recipe.model_name_or_path = str(tiny_model_dir)
        config = build_trl_config(recipe)
        assert config.bf16 is False and config.dataloader_pin_memory is False
        assert config.gradient_checkpointing is False
    else:
        # GPU recipes: vLLM and bf16 cannot run here; validate everything else TRL checks.
        assert recipe.trl["use_vllm"] is True and recipe.trl["bf16"] is True
        recipe.trl["use_cpu"] = True
        config = build_trl_config(recipe, cuda=False)
        assert config.model_init_kwargs["dtype"] == "bfloat16"
        assert config.vllm_mode in ("server", "colocate")
    if isinstance(recipe, GRPORecipe):
        from r1lab.training.grpo import reward_functions

        assert config.num_generations >= 2
        assert recipe.accuracy_name() == "accuracy"
        funcs, weights = reward_functions(recipe)
        assert [f.__name__ for f in funcs] == list(recipe.rewards) and weights == list(
            recipe.rewards.values()
        )


def test_gpu_recipes_cover_both_vllm_modes():
    modes = {
        load_recipe(GRPORecipe, p).trl["vllm_mode"]
        for p in RECIPES.glob("*/grpo.yaml")
        if p.parent.name not in CPU_RECIPES
    }
    assert modes == {"server", "colocate"}


@pytest.mark.parametrize("name", ["ddp", "zero2", "zero3"])
def test_accelerate_configs(name):
    config = yaml.safe_load((RECIPES / "accelerate" / f"{name}.yaml").read_text())
    assert config["distributed_type"] == ("MULTI_GPU" if name == "ddp" else "DEEPSPEED")
    if name != "ddp":
        assert config["deepspeed_config"]["zero_stage"] == int(name[-1])
    assert config["mixed_precision"] == "bf16"


def test_trl_options_pass_through_typed_and_overrides_win(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(
        "model_name_or_path: m\noutput_dir: o\ndataset: task:arithmetic\nbeta: 0.0\nnum_generations: 4\n"
    )
    recipe = load_recipe(
        GRPORecipe,
        path,
        {
            "beta": "0.04",
            "loss_type": "grpo",
            "mask_truncated_completions": "true",
            "use_vllm": "false",
            "rewards": "accuracy=1,format=0.25",
            "reward_params": "{cosine_max_len: 64}",
            "report_to": "none",
        },
    )
    assert recipe.trl["beta"] == 0.04 and recipe.trl["num_generations"] == 4
    assert recipe.trl["mask_truncated_completions"] is True and recipe.trl["use_vllm"] is False
    assert recipe.trl["report_to"] == "none"
    assert recipe.rewards == {"accuracy": 1.0, "format": 0.25}
    assert recipe.reward_params == {"cosine_max_len": 64}
    list_form = load_recipe(GRPORecipe, path, {"rewards": ["accuracy", "format"]})
    assert list_form.rewards == {"accuracy": 1.0, "format": 1.0}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"learning_rat": "1e-5"}, "unknown key 'learning_rat' (did you mean 'learning_rate'?)"),
        ({"num_generation": "4"}, "did you mean 'num_generations'?"),
        ({"lora_alpah": "8"}, "did you mean 'lora_alpha'?"),
        ({"beta": "lots"}, "beta: cannot read 'lots' as float"),
        ({"output_dir": ""}, "'output_dir' is required"),
        ({"rewards": "{}"}, "'rewards' is empty"),
        ({"load_in_4bit": "true"}, "set use_peft: true"),
        ({"reward_weights": "1,2"}, "give weights in 'rewards'"),
    ],
)
def test_config_errors_read_well(overrides, message):
    base = {"model_name_or_path": "m", "output_dir": "o", "dataset": "task:arithmetic"}
    with pytest.raises(ConfigError) as info:
        load_recipe(GRPORecipe, None, {**base, **overrides})
    assert message in str(info.value)


def test_misspelt_key_in_a_yaml_file_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model_name_or_path: m\noutput_dir: o\ndataset: d\nper_device_train_batchsize: 4\n")
    with pytest.raises(
        ConfigError,
        match=r"bad\.yaml: unknown key 'per_device_train_batchsize' \(did you mean 'per_device_train_batch_size'\?\)",
    ):
        load_recipe(SFTRecipe, path)


def test_trl_own_validation_becomes_a_config_error(tiny_model_dir, tmp_path):
    recipe = load_recipe(
        GRPORecipe,
        None,
        {
            "model_name_or_path": str(tiny_model_dir),
            "output_dir": str(tmp_path),
            "dataset": "task:arithmetic",
            "per_device_train_batch_size": 3,
            "num_generations": 2,
        },
    )
    with pytest.raises(ConfigError, match="GRPOConfig: .*divisible"):
        build_trl_config(recipe)


def test_device_defaults_follow_the_hardware(tiny_model_dir):
    recipe = load_recipe(
        SFTRecipe, None, {"model_name_or_path": str(tiny_model_dir), "output_dir": "o", "dataset": "d"}
    )
    assert device_defaults(recipe, cuda=False) == {
        "bf16": False,
        "fp16": False,
        "dataloader_pin_memory": False,
        "gradient_checkpointing": False,
    }
    # and a recipe's explicit choice wins over them
    recipe.trl["gradient_checkpointing"] = True
    assert build_trl_config(recipe).gradient_checkpointing is True


def test_missing_dataset_column_lists_the_columns(task_overrides, tmp_path):
    from r1lab.data import write_jsonl
    from r1lab.training.core import load_rows
    from r1lab.training.grpo import grpo_prompts

    data = tmp_path / "rows.jsonl"
    write_jsonl(data, [{"question": "1+1", "answer": "2"}])
    recipe = load_recipe(GRPORecipe, None, task_overrides(dataset=str(data), dataset_params={}))
    with pytest.raises(
        DataError, match=r"rows\.jsonl: missing column\(s\) 'problem'; the columns are: question, answer"
    ):
        grpo_prompts(load_rows(recipe), recipe)


def test_cli_dry_run_prints_the_resolved_recipe_and_rejects_typos(tiny_model_dir, capsys):
    config = str(RECIPES / "tiny" / "grpo.yaml")
    assert (
        cli_main(
            [
                "grpo",
                "--config",
                config,
                "--dry-run",
                "--model-name-or-path",
                str(tiny_model_dir),
                "--beta",
                "0.02",
            ]
        )
        == 0
    )
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["beta"] == 0.02 and printed["model_name_or_path"] == str(tiny_model_dir)
    assert printed["rewards"] == {"accuracy": 1.0, "format": 0.1}
    assert cli_main(["grpo", "--config", config, "--dry-run", "--num_generatons", "4"]) == 2
    assert (
        cli_main(["sft", "--config", config.replace("grpo", "sft"), "--dry-run", "--rewards", "accuracy"])
        == 2
    )
