"""GRPO with verifiable rewards through TRL's GRPOTrainer.

Prompts are built by ``r1lab.prompts.build_messages``, the function evaluation uses, so the
policy is trained on exactly the prompt it is evaluated with. Rewards come by name from the
``r1lab.rewards`` registry with their weights and parameters; every other GRPO knob
(num_generations, max_completion_length, beta, loss_type, scale_rewards, use_vllm, vllm_mode, ...)
is a TRL ``GRPOConfig`` field set straight from the recipe.

Run with ``r1lab grpo --config recipe.yaml`` or
``accelerate launch --config_file recipes/accelerate/zero3.yaml -m r1lab.training.grpo --config ...``.
"""

from __future__ import annotations

import contextlib
import logging
import sys

from r1lab.errors import DataError
from r1lab.prompts import build_messages
from r1lab.training.core import (
    TrainResult,
    build_trl_config,
    checkpoint_step,
    load_rows,
    load_tokenizer,
    metrics_callback,
    peft_and_quantization,
    resolve_checkpoint,
    resolve_recipe_model,
    run_trainer,
)
from r1lab.training.recipes import GRPORecipe
from r1lab.training.vllm_cpu import (
    colocated_cpu_choices,
    cpu_engine_settings,
    install_cpu_weight_sync,
    train_in_vllm_python,
    trainer_dtype,
    vllm_importable,
    wants_colocated_vllm,
    wants_colocated_vllm_on_cpu,
)

logger = logging.getLogger(__name__)


def grpo_prompts(dataset, recipe: GRPORecipe):
    """Add the conversational ``prompt`` column; the reference answer is passed to rewards as ``answer``.

    All other columns stay: TRL hands them to every reward function as keyword arguments
    (``nums`` and ``target`` for countdown, ``test_cases`` for code, ...).
    """
    from r1lab.data import require_columns

    require_columns(dataset, [recipe.prompt_column], recipe.dataset)
    if recipe.answer_column != "answer" and recipe.answer_column in dataset.column_names:
        if "answer" in dataset.column_names:
            dataset = dataset.remove_columns("answer")
        dataset = dataset.rename_column(recipe.answer_column, "answer")
    prompts = [
        build_messages(row, recipe.prompt_template, recipe.system_prompt, recipe.prompt_column)
        for row in dataset
    ]
    drop = [c for c in ("prompt", "messages", "completion") if c in dataset.column_names]
    if drop:
        dataset = dataset.remove_columns(drop)
    return dataset.add_column("prompt", prompts)


#: Columns of ``r1lab generate``/``r1lab grade`` output that hold one entry per generation of the row:
#: dropped before GRPO (its own completions replace them; TRL would hand them to every reward call).
GENERATION_COLUMNS = ("generations", "finish_reasons", "usage", "extracted", "correct", "grade_status")


def select_by_pass_rate(dataset, low: float, high: float, source: str = ""):
    """Rows of a graded file whose share of correct generations lies in [low, high] (Open-R1's RL prompt
    selection; the rule of ``r1lab grade --pass-rate``). Generations whose grade does not count
    (an unparseable gold) are left out of the share; a row with none counted is dropped.
    """
    from r1lab.data import require_columns

    require_columns(dataset, ["correct"], source or "dataset")
    statuses = dataset["grade_status"] if "grade_status" in dataset.column_names else None
    keep, shares = [], []
    for i, correct in enumerate(dataset["correct"]):
        if not isinstance(correct, list):
            raise DataError(
                "pass_rate: 'correct' must be a list per row (r1lab grade output)", path=source, row=i + 1
            )
        status = statuses[i] if statuses is not None else None
        counted = [c for j, c in enumerate(correct) if not status or status[j] != "unparseable_gold"]
        if not counted:
            continue
        share = sum(bool(c) for c in counted) / len(counted)
        shares.append(share)
        if low <= share <= high:
            keep.append(i)
    logger.info(
        "pass_rate [%g, %g]: kept %d of %d problems (%d never solved, %d always solved)",
        low,
        high,
        len(keep),
        len(dataset),
        sum(s == 0 for s in shares),
        sum(s == 1 for s in shares),
    )
    if not keep:
        raise DataError(f"pass_rate [{low}, {high}] keeps no row of {len(dataset)}", path=source)
    return dataset.select(keep)


def training_prompts(recipe: GRPORecipe):
    """The recipe's rows, selected by pass rate when asked, as GRPO's prompt dataset."""
    dataset = load_rows(recipe)
    if recipe.pass_rate is not None:
        dataset = select_by_pass_rate(dataset, *recipe.pass_rate, source=recipe.dataset)
    drop = [c for c in GENERATION_COLUMNS if c in dataset.column_names]
    if drop:
        dataset = dataset.remove_columns(drop)
    return grpo_prompts(dataset, recipe)


def reward_functions(recipe: GRPORecipe):
    """The registry's reward callables for the recipe's names, and their weights in the same order.

    ``soft_overlong`` needs GRPO's completion limit; r1lab passes the recipe's
    ``max_completion_length`` unless reward_params set ``max_completion_len`` themselves.
    """
    from r1lab.rewards import get_reward_funcs

    names = list(recipe.rewards)
    params = dict(recipe.reward_params)
    if "soft_overlong" in names and "max_completion_len" not in params:
        own = dict(params.get("soft_overlong") or {})
        if "max_completion_len" not in own:
            import dataclasses

            from trl import GRPOConfig

            default = next(
                f.default for f in dataclasses.fields(GRPOConfig) if f.name == "max_completion_length"
            )
            own["max_completion_len"] = recipe.trl.get("max_completion_length", default)
            params["soft_overlong"] = own
    funcs = get_reward_funcs(names, **params)
    return funcs, [recipe.rewards[name] for name in names]


def train_grpo(recipe: GRPORecipe) -> TrainResult:
    """Train ``recipe.model_name_or_path`` with GRPO; the model and metrics.jsonl go to output_dir."""
    recipe.validate()
    resolve_recipe_model(recipe)
    funcs, weights = reward_functions(recipe)  # an unknown reward fails before any data or model loads
    dataset = training_prompts(recipe)
    args = build_trl_config(recipe, {"reward_weights": weights})
    colocated_on_cpu = wants_colocated_vllm_on_cpu(args)
    if colocated_on_cpu:
        args = build_trl_config(recipe, {"reward_weights": weights, **colocated_cpu_choices(args)})
    # TRL's sampler drops a chunk of fewer distinct prompts than one generation batch needs, so a
    # smaller dataset would "train" zero steps and save the untouched model without a word.
    needed = args.generation_batch_size // args.num_generations
    if len(dataset) < needed:
        raise DataError(
            f"{len(dataset)} prompt(s), but one GRPO generation batch needs {needed} distinct prompts "
            f"(generation_batch_size {args.generation_batch_size} / num_generations {args.num_generations}): "
            "add prompts or lower per_device_train_batch_size",
            path=str(recipe.dataset),
        )
    if wants_colocated_vllm(args) and not vllm_importable():
        return train_in_vllm_python(recipe)
    tokenizer = load_tokenizer(recipe, padding_side="left")
    peft_config, quantization_config = peft_and_quantization(recipe)
    checkpoint = resolve_checkpoint(recipe)
    logger.info(
        "GRPO on %d prompts from %s; rewards %s",
        len(dataset),
        recipe.dataset,
        ", ".join(f"{n} x{w:g}" for n, w in recipe.rewards.items()),
    )
    if recipe.dynamic_sampling:
        from r1lab.training.dynamic import DynamicSamplingGRPOTrainer as trainer_cls
    else:
        from trl import GRPOTrainer as trainer_cls
    with cpu_engine_settings(trainer_dtype(args)) if colocated_on_cpu else contextlib.nullcontext():
        trainer = trainer_cls(
            model=recipe.model_name_or_path,
            reward_funcs=funcs,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
            quantization_config=quantization_config,
            callbacks=[
                metrics_callback(
                    recipe.output_dir, recipe.accuracy_name(), resume_step=checkpoint_step(checkpoint)
                )
            ],
        )
    if colocated_on_cpu:
        install_cpu_weight_sync(trainer.vllm_generation)
    return run_trainer(trainer, recipe, checkpoint)


def main(argv: list[str] | None = None) -> int:
    """``python -m r1lab.training.grpo --config recipe.yaml [--key value ...]`` (for accelerate launch)."""
    from r1lab.training.launch import launch

    return launch(GRPORecipe, train_grpo, argv, prog="r1lab.training.grpo")


if __name__ == "__main__":
    sys.exit(main())
