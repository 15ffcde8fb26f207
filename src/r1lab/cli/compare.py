"""``r1lab compare RUN_A RUN_B``: paired comparison of two evaluations of the same benchmark(s)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="is B really better than A? pass@1 difference with a paired bootstrap CI, sign test, flipped problems",
        description=(
            "Compare two `r1lab evaluate` runs (or two benchmark directories) problem by problem: the "
            "pass@1 difference B - A with a paired bootstrap interval over problems, a sign test, and the "
            "problems that flipped each way, linked into each run's viewer.html. Runs that used other "
            "problems or sampling settings are refused."
        ),
    )
    parser.add_argument(
        "run_a", metavar="RUN_A", help="the baseline run (an --output-dir, or OUTPUT_DIR/<benchmark>)"
    )
    parser.add_argument("run_b", metavar="RUN_B", help="the run compared against it")
    parser.add_argument("--max-flips", type=int, default=20, help="flipped problems printed per direction")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling")
    parser.add_argument("--html", metavar="PATH.html", help="also write a page linking every flipped problem")
    parser.add_argument("--json", metavar="PATH.json", help="also write the comparisons as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    from r1lab.evaluation.compare import compare_runs, comparison_markdown, write_comparison_html

    comparisons = compare_runs(args.run_a, args.run_b, seed=args.seed)
    sys.stdout.write(comparison_markdown(comparisons, max_flips=args.max_flips) + "\n")
    if args.html:
        write_comparison_html(comparisons, args.html)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps([c.to_dict() for c in comparisons], indent=2), encoding="utf-8")
    return 0
