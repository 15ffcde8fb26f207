"""Grading: find a response's final answer and check it against the gold answer with math-verify.

One path for rewards, evaluation and data filtering::

    from r1lab.grading import grade, grade_many, cluster_answers
    grade("<think>...</think> The answer is \\boxed{\\frac12}", "0.5")  # Grade(correct=True, ...)

Verification runs in worker processes with a hard deadline per item (`r1lab.grading.pool`), so it
is bounded in time and safe to call from threads and from inside TRL reward functions.
"""

from r1lab.grading.answers import Extraction, gold_answer
from r1lab.grading.extract import TIERS, extract_answer, find_answer
from r1lab.grading.files import KEEP_CHOICES, GradeConfig, GradeStats, grade_file, grade_rows
from r1lab.grading.grader import DEFAULT_TIMEOUT_S, cluster_answers, grade, grade_many
from r1lab.grading.pool import GradingPool, get_pool, shutdown_pool
from r1lab.grading.verify import (
    STATUS_ERROR,
    STATUS_NO_ANSWER,
    STATUS_OK,
    STATUS_TIMEOUT,
    STATUS_UNPARSEABLE_GOLD,
    STATUSES,
    Grade,
)

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "STATUSES",
    "TIERS",
    "STATUS_ERROR",
    "STATUS_NO_ANSWER",
    "STATUS_OK",
    "STATUS_TIMEOUT",
    "STATUS_UNPARSEABLE_GOLD",
    "Extraction",
    "Grade",
    "GradeConfig",
    "GradeStats",
    "KEEP_CHOICES",
    "GradingPool",
    "cluster_answers",
    "extract_answer",
    "find_answer",
    "get_pool",
    "gold_answer",
    "grade",
    "grade_file",
    "grade_rows",
    "grade_many",
    "shutdown_pool",
]
