"""``r1lab convert``: turn a reasoning dataset into the canonical SFT layout (``messages`` with <think>)."""

from __future__ import annotations

import sys

from r1lab.config import add_dataclass_arguments, from_args


def register(subparsers) -> None:
    from r1lab.data.convert import LAYOUTS, ConvertConfig, layout_names

    layouts = "; ".join(
        f"{spec.name}: {' + '.join(spec.columns)} ({spec.description})" for spec in LAYOUTS.values()
    )
    parser = subparsers.add_parser(
        "convert",
        help="convert generate/grade output, chat messages, OpenThoughts/Stratos, OpenR1-Math, dolphin-r1 to SFT rows",
        description="Write rows with `id` and `messages`, the reasoning inside <think>...</think> before the "
        f"answer. Layouts: {layouts}. Example: r1lab convert --input graded.jsonl --from r1lab --output sft.jsonl",
    )
    parser.add_argument(
        "--from",
        "--layout",
        dest="layout",
        default="auto",
        choices=layout_names(),
        metavar="LAYOUT",
        help=f"input layout, detected from the columns by default; one of: {', '.join(layout_names())}",
    )
    add_dataclass_arguments(parser, ConvertConfig, exclude=["layout"])
    parser.set_defaults(func=run)


def run(args) -> int:
    from r1lab.data.convert import ConvertConfig, convert

    stats = convert(from_args(ConvertConfig, args))
    sys.stdout.write(stats.summary() + "\n")
    return 0
