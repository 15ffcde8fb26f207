"""``r1lab decontaminate``: flag or drop rows that share a word n-gram with benchmark problems."""

from __future__ import annotations

import sys

from r1lab.config import add_dataclass_arguments, from_args


def register(subparsers) -> None:
    from r1lab.data.decontaminate import DecontaminateConfig

    parser = subparsers.add_parser(
        "decontaminate",
        help="flag (or --drop) training rows sharing an n-gram with MATH-500/AIME/AMC/GSM8K problems",
        description="Add contaminated_<benchmark> columns to every row: true when one of the checked texts "
        "shares a run of --ngram words (lowercased, punctuation at word ends ignored) with a problem of that benchmark. "
        "Example: r1lab decontaminate --input data.jsonl --against math500,aime24 --drop --output clean.jsonl",
    )
    add_dataclass_arguments(parser, DecontaminateConfig)
    parser.set_defaults(func=run)


def run(args) -> int:
    from r1lab.data.decontaminate import DecontaminateConfig, decontaminate

    stats = decontaminate(from_args(DecontaminateConfig, args))
    sys.stdout.write(stats.summary() + "\n")
    return 0
