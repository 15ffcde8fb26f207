"""``r1lab view GENERATIONS_OR_RUN_DIR``: write the trace viewer page for any generate/grade/evaluate output."""

from __future__ import annotations

import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "view",
        help="write a self-contained HTML trace viewer for a generate/grade output or an evaluation run",
        description=(
            "Render every sample of a generations file (r1lab generate), a graded file (r1lab grade), "
            "a details.jsonl, or every benchmark of an `r1lab evaluate` output dir as one offline HTML "
            "page per file: problems with gold answers and pass rates, samples with their outcome, "
            "filters and search. Evaluation dirs get viewer.html next to details.jsonl."
        ),
    )
    parser.add_argument(
        "target", metavar="GENERATIONS_OR_RUN_DIR", help="a .jsonl/.parquet file or a run directory"
    )
    parser.add_argument("--output", metavar="PATH.html", help="where to write the page (one input file only)")
    parser.add_argument(
        "--answer-column", default="answer", help="gold answer column of generate/grade output"
    )
    parser.add_argument("--title", help="page title (default: the benchmark and model, or the file name)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from r1lab.errors import ConfigError
    from r1lab.evaluation.samples import find_viewable, write_viewer_for

    sources = find_viewable(args.target)
    if args.output and len(sources) > 1:
        raise ConfigError(f"--output names one page, but {args.target} holds {len(sources)} files to view")
    for source in sources:
        page = write_viewer_for(source, args.output, title=args.title, answer_column=args.answer_column)
        sys.stdout.write(f"{page}\n")
    return 0
