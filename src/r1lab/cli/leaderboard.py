"""``r1lab leaderboard RUN_DIR...``: one table across evaluation runs, as Markdown and HTML."""

from __future__ import annotations

import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "leaderboard",
        help="compare evaluation runs: one Markdown/HTML table across runs and benchmarks",
        description="Collect RUN_DIR/<benchmark>/results.json of each `r1lab evaluate` run into one table.",
    )
    parser.add_argument(
        "run_dirs", nargs="+", metavar="RUN_DIR", help="`r1lab evaluate --output-dir` directories"
    )
    parser.add_argument("--metric", default="pass@1", help="metric to rank by, e.g. pass@1, pass@4, cons@64")
    parser.add_argument("--output", metavar="PATH.md", help="also write the Markdown table here")
    parser.add_argument("--html", metavar="PATH.html", help="write a self-contained HTML page here")
    parser.set_defaults(func=run)


def run(args) -> int:
    from r1lab.evaluation.leaderboard import build_leaderboard

    text = build_leaderboard(
        args.run_dirs, metric=args.metric, markdown_path=args.output, html_path=args.html
    )
    sys.stdout.write(text)
    return 0
