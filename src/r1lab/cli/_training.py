"""What ``r1lab sft`` and ``r1lab grpo`` share: a recipe file, ``--key value`` overrides, ``--dry-run``.

The recipe's own options are listed in ``--help`` (read from the dataclass, without importing
TRL); every TRL trainer option is accepted as ``--key value`` too and validated against TRL's
config, so a misspelt option fails with a suggestion instead of being ignored.
"""

from __future__ import annotations

import functools
import logging
import sys

from r1lab.config import add_dataclass_arguments, parse_overrides

logger = logging.getLogger(__name__)


def register_training_command(subparsers, name: str, *, help: str, recipe: str, train: str) -> None:
    from r1lab.training import recipes

    recipe_cls = getattr(recipes, recipe)
    parser = subparsers.add_parser(
        name,
        help=help,
        allow_abbrev=False,  # --lora must not silently mean --lora-r
        description=f"{help}. Options come from --config YAML, then the options below and any TRL "
        f"{recipe_cls.trl_config_name} field as --key value (e.g. --learning_rate 1e-5 --max_steps 100).",
    )
    parser.add_argument("--config", help="recipe YAML (see recipes/)")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="read and validate the recipe (TRL's config included), print it, and stop",
    )
    add_dataclass_arguments(parser, recipe_cls, exclude=("trl",))
    parser.set_defaults(func=functools.partial(run, recipe=recipe, train=train), accepts_overrides=True)


def run(args, *, recipe: str, train: str) -> int:
    import dataclasses

    import yaml

    from r1lab import training
    from r1lab.training.recipes import load_recipe, recipe_to_dict

    recipe_cls = getattr(training, recipe)
    own = {f.name for f in dataclasses.fields(recipe_cls)}
    overrides = {k: v for k, v in vars(args).items() if k in own}
    overrides.update(parse_overrides(args.overrides))
    loaded = load_recipe(recipe_cls, args.config, overrides)
    if args.dry_run:
        from r1lab.training.core import build_trl_config

        build_trl_config(loaded)
        if recipe == "GRPORecipe":
            from r1lab.training.grpo import reward_functions

            reward_functions(loaded)
        sys.stdout.write(yaml.safe_dump(recipe_to_dict(loaded), sort_keys=False))
        return 0
    result = getattr(training, train)(loaded)
    logger.info("model saved to %s; per-step metrics in %s", result.output_dir, result.metrics_file)
    return 0
