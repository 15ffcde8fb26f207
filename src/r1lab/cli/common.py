"""Options several subcommands share: the server endpoints, a JSON request extra, a YAML config file.

``generate`` and ``evaluate`` both talk to OpenAI-compatible servers, so both spell those options
the same way, through these helpers, and both merge ``--config`` YAML with the command line alike.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import TypeVar

from r1lab.config import from_dict, load_yaml

T = TypeVar("T")

#: Dataclass fields these helpers give their own flags (exclude them from add_dataclass_arguments).
ENDPOINT_FIELDS = ("base_urls", "extra_body")


def json_object(text: str) -> dict:
    """argparse type: a JSON object given on the command line."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object, e.g. '{\"seed\": 0}'")
    return value


def add_endpoint_arguments(parser: argparse.ArgumentParser) -> None:
    """``--base-url`` (repeatable) and ``--extra-body JSON``."""
    parser.add_argument(
        "--base-url",
        "--base-urls",
        dest="base_urls",
        nargs="+",
        action="extend",
        default=argparse.SUPPRESS,
        metavar="URL",
        help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1; repeat for several servers",
    )
    parser.add_argument(
        "--extra-body",
        dest="extra_body",
        type=json_object,
        default=argparse.SUPPRESS,
        metavar="JSON",
        help="JSON object merged into every request body, e.g. '{\"seed\": 0}' (a seed S is the row's: "
        "its i-th sample is asked with S + i, as vLLM seeds the i-th of n choices)",
    )


def add_config_file_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        dest="config_file",
        metavar="YAML",
        help="read options from a YAML file (command line wins)",
    )


def config_from_args(cls: type[T], args: argparse.Namespace) -> T:
    """The dataclass from ``--config`` YAML (if any) overlaid with the options typed on the command line."""
    config_file = getattr(args, "config_file", None)
    values = load_yaml(config_file) if config_file else {}
    names = {f.name for f in dataclasses.fields(cls)}
    values.update({k: v for k, v in vars(args).items() if k in names})
    return from_dict(cls, values, where=config_file or "command line")
