"""``r1lab merge SHARD_OUTPUTS... --output OUT``: one output from the shards of a job array, checked.

Also ``prepare_run``: the one call ``r1lab generate`` and ``r1lab evaluate`` make before they start,
which handles SIGTERM (``generation/preempt.py``) and refuses, before a model is served, to resume an
output with other settings (the manifest each run then writes is what ``r1lab merge`` checks).
"""

from __future__ import annotations


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
    """Before a generate/evaluate run: SIGTERM ends it cleanly, and a resume of another run is refused.

    The check is the run's own (``generation.merge.check_manifest`` over its ``RunSettings``), made
    here once more before any model is served so that a mistake costs a second; the run writes
    the manifest itself when it starts.
    """
    from r1lab.generation import preempt
    from r1lab.generation.config import GenerateConfig

    preempt.install()
    if isinstance(config, GenerateConfig):
        from r1lab.generation.merge import check_manifest, generate_inputs, run_identity
        from r1lab.generation.settings import RunSettings

        settings = RunSettings.from_config(config, num_samples=config.num_generations)
        run = run_identity(generate_inputs(config), settings, config.num_shards)
        check_manifest(config.output, run, config.shard_index)
        return
    from r1lab.evaluation.runner import check_resumes

    check_resumes(config)
