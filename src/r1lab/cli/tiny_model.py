"""``r1lab tiny-model DIR``: build the tiny local model and tokenizer."""

from __future__ import annotations

import logging

from r1lab.config import add_dataclass_arguments, from_args

logger = logging.getLogger(__name__)


def register(subparsers) -> None:
    from r1lab.models.config import TinyModelConfig

    parser = subparsers.add_parser(
        "tiny-model",
        help="build a ~1M-parameter model + byte tokenizer for tests and demos (no download)",
        description="Build a tiny Qwen3/Llama causal LM with a byte-level tokenizer and save it to DIR.",
    )
    parser.add_argument("output_dir", metavar="DIR", help="where to save the model and tokenizer")
    add_dataclass_arguments(parser, TinyModelConfig)
    parser.set_defaults(func=run)


def run(args) -> int:
    from r1lab.models.factory import TinyModelConfig, build_tiny_model

    path = build_tiny_model(args.output_dir, from_args(TinyModelConfig, args))
    logger.info("tiny model saved to %s", path)
    return 0
