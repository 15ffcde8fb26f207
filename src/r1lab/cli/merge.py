"""``r1lab merge SHARD_OUTPUTS... --output OUT``: one output from the shards of a job array, checked.

Also ``prepare_run``: the one call ``r1lab generate`` and ``r1lab evaluate`` make before they start,
which handles SIGTERM (``generation/preempt.py``) and writes each output's shard manifest, the
record ``r1lab merge`` uses to refuse shards of different runs and to find missing rows.
"""

from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "merge",
        help="merge the shard outputs of a job array into one, checking every input row is there once",
        description=(
            "Combine the outputs of `r1lab generate --shard-index i --num-shards k` (or of sharded "
            "`r1lab evaluate` runs: OUTPUT_DIR/<benchmark>/generations.jsonl) and their stats into "
            "--output. Refuses shards of different runs (input, model or sampling settings differ), "
            "and reports ids missing, written twice, or failed. Exit status 0 when complete."
        ),
    )
    parser.add_argument("shards", nargs="+", metavar="SHARD_OUTPUT", help="the shards' output JSONL files")
    parser.add_argument("--output", "-o", required=True, metavar="OUT.jsonl", help="the merged output")
    parser.add_argument(
        "--input",
        metavar="SOURCE",
        help="check against this input instead of the one the shards recorded (e.g. a moved file)",
    )
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="write the merge even when rows (or whole shards) are missing; they are reported",
    )
    parser.set_defaults(func=run)


def run(args) -> int:
    import logging

    from r1lab.generation.merge import merge_shards

    report = merge_shards(args.shards, args.output, input=args.input, allow_missing=args.allow_missing)
    if not report.complete:
        logging.getLogger(__name__).warning("incomplete: %s", report.summary())
        return 1
    return 0


def prepare_run(config) -> None:
    """Before a generate/evaluate run: SIGTERM ends it cleanly, and each output records its run."""
    from r1lab.generation import preempt
    from r1lab.generation.config import GenerateConfig
    from r1lab.generation.merge import generate_run, sampling_fields, write_manifest

    preempt.install()
    if isinstance(config, GenerateConfig):
        write_manifest(config.output, generate_run(config), config.shard_index)
        return
    from r1lab.evaluation.config import benchmark_dir_name
    from r1lab.evaluation.runner import GENERATIONS_FILE

    for benchmark in config.benchmarks:
        name = benchmark_dir_name(benchmark)
        run = {
            "kind": "evaluate",
            "input": benchmark,
            "problem_column": config.problem_column,
            "answer_column": config.answer_column,
            "id_column": config.id_column,
            "split": config.split,
            "limit": config.limit,
            "num_samples": config.samples_for(name),
            **sampling_fields(config),
        }
        # The runner's settings.json already refuses a resume with other settings.
        write_manifest(
            Path(config.output_dir) / name / GENERATIONS_FILE, run, config.shard_index, strict=False
        )
