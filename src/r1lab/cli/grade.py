"""``r1lab grade``: grade generations against gold answers; filter for distillation or RL data."""

from __future__ import annotations

import sys

from r1lab.config import add_dataclass_arguments, from_args


def register(subparsers) -> None:
    from r1lab.grading.files import GradeConfig

    parser = subparsers.add_parser(
        "grade",
        help="grade generations with math-verify: adds extracted/correct/grade_status, prints accuracy",
        description="Grade every generation of every row against the gold answer (only the text after "
        "</think> counts; a generation whose finish_reasons entry is 'length' counts only an answer it stated) "
        "and add `extracted`, `correct` and `grade_status` lists. "
        "Example: r1lab grade --input gen.jsonl --output graded.jsonl --keep correct --pass-rate 0.1 0.9",
    )
    add_dataclass_arguments(parser, GradeConfig)
    parser.set_defaults(func=run)


def run(args) -> int:
    from r1lab.grading.files import GradeConfig, grade_file

    stats = grade_file(from_args(GradeConfig, args))
    sys.stdout.write(stats.summary() + "\n")
    return 0
