"""``r1lab evaluate``: benchmarks through a model server, scored with DeepSeek-R1's protocol."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from r1lab.config import add_dataclass_arguments, from_dict, load_yaml
from r1lab.errors import ConfigError

logger = logging.getLogger(__name__)

#: Fields given their own, friendlier flags below (singular, repeatable).
CUSTOM_FLAGS = ("benchmarks", "base_urls", "extra_body")


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
    parser.add_argument(
        "--base-url",
        dest="base_urls",
        action="extend",
        nargs="+",
        default=argparse.SUPPRESS,
        metavar="URL",
        help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1; repeat for several servers",
    )
    parser.add_argument(
        "--extra-body",
        dest="extra_body",
        default=argparse.SUPPRESS,
        metavar="JSON",
        help="JSON object merged into every request, e.g. '{\"seed\": 0}'",
    )
    parser.add_argument(
        "--config", dest="config_file", metavar="YAML", help="read options from a YAML file first"
    )
    add_dataclass_arguments(parser, EvalConfig, exclude=CUSTOM_FLAGS)
    parser.set_defaults(func=run)


def run(args) -> int:
    from r1lab.evaluation import EvalConfig, evaluate

    options = load_yaml(args.config_file) if args.config_file else {}
    fields = set(EvalConfig.__dataclass_fields__)
    options.update({k: v for k, v in vars(args).items() if k in fields})
    if isinstance(options.get("extra_body"), str):
        try:
            options["extra_body"] = json.loads(options["extra_body"])
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--extra-body: not valid JSON: {exc}") from None
    config = from_dict(EvalConfig, options, where=args.config_file or "command line")
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
