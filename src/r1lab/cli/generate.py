"""``r1lab generate``: stream completions from OpenAI-compatible servers into a resumable JSONL file."""

from __future__ import annotations

import argparse
import json

from r1lab.config import add_dataclass_arguments, from_dict, load_yaml


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('must be a JSON object, e.g. \'{"stop": ["</answer>"]}\'')
    return value


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
    parser.add_argument("--config", metavar="YAML", help="read options from a YAML file (command line wins)")
    parser.add_argument(
        "--base-url",
        "--base-urls",
        dest="base_urls",
        nargs="+",
        action="extend",
        default=argparse.SUPPRESS,
        metavar="URL",
        help="OpenAI-compatible base URL, e.g. http://host:8000/v1; repeat for several servers",
    )
    parser.add_argument(
        "--extra-body",
        dest="extra_body",
        type=_json_object,
        default=argparse.SUPPRESS,
        metavar="JSON",
        help="JSON object merged into every request body, e.g. '{\"seed\": 0}'",
    )
    parser.add_argument(
        "--api",
        choices=["chat", "completions"],
        default=argparse.SUPPRESS,
        help="'chat' (/chat/completions with messages; default) or 'completions' (/completions with text)",
    )
    add_dataclass_arguments(parser, GenerateConfig, exclude=("base_urls", "extra_body", "output", "api"))
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
    import dataclasses

    from r1lab.errors import ConfigError
    from r1lab.generation import GenerateConfig, generate

    values = load_yaml(args.config) if args.config else {}
    names = {f.name for f in dataclasses.fields(GenerateConfig)}
    values.update({k: v for k, v in vars(args).items() if k in names})
    if "output" not in values:
        raise ConfigError("--output is required")
    config = from_dict(GenerateConfig, values, where=args.config or "command line")
    stats = generate(config)
    return 1 if stats.rows_failed else 0
