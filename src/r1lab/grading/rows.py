"""The one front door for grading rows of generations: flatten, grade in one call, regroup.

`r1lab grade` (`r1lab.grading.files`) and `r1lab evaluate` (`r1lab.evaluation.runner`) both hold
rows with several generations each; both grade them here, so the rules for finish reasons, the
problem text and the response format are the same in both, and so are the columns they add:

=================  =====================================================================
``extracted``      list[str | None]: the answer found in each generation
``correct``        list[bool]
``grade_status``   list[str]: ok / no_answer / timeout / unparseable_gold / error
``answer_tiers``   list[str | None]: the tier that read the answer (`TIERS`), "restated"
                   (a copy of the problem's expression: no answer), None when none
``answer_spans``   list[[start, end] | None]: where in the generation the answer was read
                   (character offsets into the generation's text)
=================  =====================================================================
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from r1lab.formats import AUTO
from r1lab.grading.grader import DEFAULT_TIMEOUT_S, grade_many
from r1lab.grading.verify import Grade

logger = logging.getLogger(__name__)

#: The columns `grade_fields` adds to a row, one entry per generation.
GRADE_COLUMNS = ("extracted", "correct", "grade_status", "answer_tiers", "answer_spans")


def row_finish_reasons(value: Any, count: int) -> list[str | None]:
    """One finish reason per generation from a row's ``finish_reasons`` value.

    A list is read entry by entry (the first ``count``; missing entries are None: unknown); a
    string is the reason of a row with one generation. A generation that ended with "length"
    was cut off: only an answer it stated counts.
    """
    if isinstance(value, str):
        value = [value] if count == 1 else []
    if not isinstance(value, (list, tuple)):
        return [None] * count
    given = [v if isinstance(v, str) else None for v in list(value)[:count]]
    return given + [None] * (count - len(given))


def grade_samples(
    samples: Sequence[Sequence[str | None]],
    golds: Sequence[Any],
    *,
    finish_reasons: Sequence[Any] | None = None,
    problems: Sequence[str | None] | None = None,
    response_format: str = AUTO,
    timeout: float = DEFAULT_TIMEOUT_S,
    workers: int | None = None,
) -> list[list[Grade]]:
    """Grade each row's generations against its gold in one `grade_many` call; one list per row.

    ``finish_reasons``: per row, its ``finish_reasons`` value (see `row_finish_reasons`).
    ``problems``: per row, its problem text (an answer that only restates it is no answer).
    """
    rows = len(samples)
    reasons_by_row = finish_reasons if finish_reasons is not None else [None] * rows
    problems_by_row = problems if problems is not None else [None] * rows
    responses, flat_golds, reasons, flat_problems = [], [], [], []
    for texts, gold, reason, problem in zip(samples, golds, reasons_by_row, problems_by_row, strict=True):
        responses += list(texts)
        flat_golds += [gold] * len(texts)
        reasons += row_finish_reasons(reason, len(texts))
        flat_problems += [problem if isinstance(problem, str) else None] * len(texts)
    grades = grade_many(
        responses,
        flat_golds,
        timeout=timeout,
        workers=workers,
        finish_reasons=reasons,
        problems=flat_problems if problems is not None else None,
        response_format=response_format,
    )
    out, position = [], 0
    for texts in samples:
        out.append(grades[position : position + len(texts)])
        position += len(texts)
    return out


def grade_fields(grades: Sequence[Grade]) -> dict[str, list[Any]]:
    """The columns a graded row gains (`GRADE_COLUMNS`), one entry per generation."""
    return {
        "extracted": [g.extracted for g in grades],
        "correct": [bool(g.correct) for g in grades],
        "grade_status": [g.status for g in grades],
        "answer_tiers": [g.tier for g in grades],
        "answer_spans": [list(g.span) if g.span else None for g in grades],
    }


__all__ = ["GRADE_COLUMNS", "grade_fields", "grade_samples", "row_finish_reasons"]
