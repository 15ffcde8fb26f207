"""``r1lab evaluate``: benchmarks through a model server, scored with DeepSeek-R1's protocol."""

from __future__ import annotations

import argparse
import logging
import sys

from r1lab.cli.common import (
    ENDPOINT_FIELDS,
    add_config_file_argument,
    add_endpoint_arguments,
    config_from_args,
)
from r1lab.cli.merge import prepare_run
from r1lab.config import add_dataclass_arguments

logger = logging.getLogger(__name__)

#: Fields given their own, friendlier flags below (singular, repeatable).
CUSTOM_FLAGS = ("benchmarks", *ENDPOINT_FIELDS)


def register(subparsers) -> None:
    from r1lab.evaluation.config import EvalConfig

    parser = subparsers.add_parser(
        "evaluate",
        help="score a model on MATH-500/AIME/AMC/GSM8K (pass@1, pass@k, cons@n) with DeepSeek's protocol",
        description=(
            "Sample every problem N times through an OpenAI-compatible server (or a local model served "
            "for the run), grade with math-verify, and write OUTPUT_DIR/<benchmark>/results.json, "
            "details.jsonl, report.md/.html and a length histogram. Rerunning resumes."
        ),
    )
    parser.add_argument(
        "--benchmark",
        dest="benchmarks",
        action="extend",
        nargs="+",
        default=argparse.SUPPRESS,
        metavar="NAME_OR_PATH",
        help="math500, aime24, aime25, amc23, gsm8k, a local file, or an HF dataset id; repeatable (default: math500)",
    )
    add_endpoint_arguments(parser)
    add_config_file_argument(parser)
    add_dataclass_arguments(parser, EvalConfig, exclude=CUSTOM_FLAGS)
    parser.set_defaults(func=run)


def run(args) -> int:
    from r1lab.evaluation import EvalConfig, evaluate

    config = config_from_args(EvalConfig, args)
    prepare_run(config)  # SIGTERM handling + the shard manifests `r1lab merge` checks
    results = evaluate(config)
    sys.stdout.write(summary_table(results) + "\n")
    if config.compare:
        from r1lab.evaluation.published import compare_table

        sys.stdout.write("\n" + compare_table(results))
    return 0


def summary_table(results: list[dict]) -> str:
    """One Markdown row per benchmark: pass@1 ± se, pass@n, cons@n, truncation, mean length."""
    from r1lab.report.render import fmt_number, markdown_table, percent

    headers = ["benchmark", "problems", "samples", "pass@1", "pass@n", "cons@n", "truncated", "mean tokens"]
    rows = []
    for r in results:
        m, n = r["metrics"], r["num_samples"]
        rows.append(
            [
                r["benchmark"],
                r["num_problems"],
                n,
                percent(m.get("pass@1"), m.get("pass@1_stderr")),
                percent(m.get(f"pass@{n}")) if n > 1 else "-",
                percent(m.get(f"cons@{n}")),
                percent(m.get("truncation_rate")),
                fmt_number((r.get("response_length") or {}).get("mean"), 0),
            ]
        )
    return markdown_table(headers, rows, numeric_columns=set(range(1, len(headers))))
