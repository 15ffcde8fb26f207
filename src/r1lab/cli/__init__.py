"""The ``r1lab`` command line: argument parsing only.

Each subcommand lives in its own module here, with ``register(subparsers)`` that adds its parser
and sets ``func`` to a small function that calls one public function of a stage. Stage modules are
imported inside those functions, so ``r1lab --help`` stays fast (no torch import).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from r1lab import __version__
from r1lab.errors import R1labError
from r1lab.logging_utils import setup_logging
from r1lab.versions import warn_if_untested

logger = logging.getLogger("r1lab")

#: Subcommands that produce numbers: they warn once at start-up when a core package differs from the lock.
RUN_COMMANDS = frozenset({"generate", "evaluate", "grade", "sft", "grpo", "demo", "serve"})

#: Subcommand modules, in the order ``--help`` lists them: the pipeline's order.
COMMAND_MODULES = [
    "r1lab.cli.tiny_model",
    "r1lab.cli.model",
    "r1lab.cli.decontaminate",
    "r1lab.cli.dedup",
    "r1lab.cli.convert",
    "r1lab.cli.serve",
    "r1lab.cli.generate",
    "r1lab.cli.merge",
    "r1lab.cli.grade",
    "r1lab.cli.sft",
    "r1lab.cli.grpo",
    "r1lab.cli.evaluate",
    "r1lab.cli.leaderboard",
    "r1lab.cli.compare",
    "r1lab.cli.view",
    "r1lab.cli.demo",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="r1lab",
        description="The DeepSeek-R1 recipe end to end: generate, grade, evaluate, sft, grpo, demo.",
    )
    parser.add_argument("--version", action="version", version=f"r1lab {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if extra and not getattr(args, "accepts_overrides", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.overrides = extra
    setup_logging(-1 if args.quiet else args.verbose)
    if args.command in RUN_COMMANDS:
        warn_if_untested()
    try:
        result = args.func(args)
    except R1labError as exc:
        logger.error("%s", exc)
        return 2
    except KeyboardInterrupt:
        logger.warning("interrupted")
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
