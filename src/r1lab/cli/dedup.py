"""``r1lab dedup``: remove exact (and with --near, near) duplicate rows."""

from __future__ import annotations

import sys

from r1lab.config import add_dataclass_arguments, from_args


def register(subparsers) -> None:
    from r1lab.data.dedup import DedupConfig

    parser = subparsers.add_parser(
        "dedup",
        help="remove duplicate rows: exact by normalized-text hash, near (--near) by MinHash + LSH",
        description="Keep the first occurrence of every problem (or of the --columns you name). "
        "Example: r1lab dedup --input data.jsonl --near --output unique.jsonl",
    )
    add_dataclass_arguments(parser, DedupConfig)
    parser.set_defaults(func=run)


def run(args) -> int:
    from r1lab.data.dedup import DedupConfig, dedup

    stats = dedup(from_args(DedupConfig, args))
    sys.stdout.write(stats.summary() + "\n")
    return 0
