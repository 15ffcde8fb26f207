"""The ``python -m r1lab.training.{sft,grpo}`` entry point that ``accelerate launch`` runs on each process.

``r1lab sft``/``r1lab grpo`` parse the same ``--config`` + ``--key value`` arguments; this module
is the argument-free path for launchers, with the same error handling as the CLI (a message, no
traceback, exit status 2).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence

from r1lab.config import parse_overrides
from r1lab.errors import R1labError
from r1lab.logging_utils import setup_logging

logger = logging.getLogger("r1lab")


def launch(recipe_cls: type, train: Callable, argv: Sequence[str] | None, prog: str) -> int:
    from r1lab.training.recipes import load_recipe

    parser = argparse.ArgumentParser(
        prog=prog, description=f"{recipe_cls.__doc__} Any other --key value sets a recipe key."
    )
    parser.add_argument("--config", help="recipe YAML file")
    args, extra = parser.parse_known_args(argv)
    setup_logging(0)
    try:
        recipe = load_recipe(recipe_cls, args.config, parse_overrides(extra))
        result = train(recipe)
    except R1labError as exc:
        logger.error("%s", exc)
        return 2
    logger.info("done: model in %s", result.output_dir)
    return 0
