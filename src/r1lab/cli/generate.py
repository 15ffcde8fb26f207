"""``r1lab generate``: stream completions from OpenAI-compatible servers into a resumable JSONL file."""

from __future__ import annotations

import argparse

from r1lab.cli.common import (
    ENDPOINT_FIELDS,
    add_config_file_argument,
    add_endpoint_arguments,
    config_from_args,
)
from r1lab.cli.merge import prepare_run
from r1lab.config import add_dataclass_arguments


def register(subparsers) -> None:
    from r1lab.generation.config import GenerateConfig

    parser = subparsers.add_parser(
        "generate",
        help="generate completions through OpenAI-compatible servers (sliding window, resumable)",
        description=(
            "Send every row's prompt to one or more OpenAI-compatible servers (vLLM, SGLang, "
            "transformers serve, ...) with up to --max-concurrent requests in flight, and append each "
            "finished row to --output. Rerun the same command to resume after a crash or Ctrl-C."
        ),
    )
    add_config_file_argument(parser)
    add_endpoint_arguments(parser)
    parser.add_argument(
        "--api",
        choices=["chat", "completions"],
        default=argparse.SUPPRESS,
        help="'chat' (/chat/completions with messages; default) or 'completions' (/completions with text)",
    )
    add_dataclass_arguments(parser, GenerateConfig, exclude=(*ENDPOINT_FIELDS, "output", "api"))
    parser.add_argument(
        "--output",
        "-o",
        dest="output",
        default=argparse.SUPPRESS,
        metavar="OUT.jsonl",
        help="output JSONL file; rerunning the same command resumes it",
    )
    parser.set_defaults(func=run)


def run(args) -> int:
    from r1lab.generation import GenerateConfig, generate

    config = config_from_args(GenerateConfig, args)
    prepare_run(config)  # SIGTERM handling + the shard manifest `r1lab merge` checks
    stats = generate(config)
    return 1 if stats.rows_failed else 0
