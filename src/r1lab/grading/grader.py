"""The one grading path: extract in the caller, verify in the pool, one `Grade` per response.

Rewards, evaluation and data filtering all call these functions, so an answer is judged the same
way everywhere: the same extraction, ``verify(gold, prediction)`` in that order, the same outcome
for an unparseable gold (status "unparseable_gold": neither correct nor wrong).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from r1lab.errors import R1labError
from r1lab.formats import AUTO, check_format
from r1lab.grading.answers import Extraction, gold_extraction
from r1lab.grading.extract import find_answer
from r1lab.grading.pool import TaskFailed, TaskTimeout, get_pool, run_tasks
from r1lab.grading.restatement import restates_problem
from r1lab.grading.verify import (
    STATUS_ERROR,
    STATUS_NO_ANSWER,
    STATUS_OK,
    STATUS_TIMEOUT,
    STATUS_UNPARSEABLE_GOLD,
    Grade,
    ItemTimeout,
    run_op,
    same_text,
)

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 5.0
#: `Grade.tier` of a candidate that only restates the problem's own expression (status no_answer).
RESTATED = "restated"


def grade(
    response: str | None,
    gold: Any,
    timeout: float = DEFAULT_TIMEOUT_S,
    finish_reason: str | None = None,
    *,
    problem: str | None = None,
    response_format: str = AUTO,
) -> Grade:
    """Grade one response against one gold answer (LaTeX, a number, or a solution with ``\\boxed{}``)."""
    problems = None if problem is None else [problem]
    return grade_many(
        [response],
        [gold],
        timeout=timeout,
        finish_reasons=[finish_reason],
        problems=problems,
        response_format=response_format,
    )[0]


def grade_many(
    responses: Sequence[str | None],
    golds: Sequence[Any],
    timeout: float = DEFAULT_TIMEOUT_S,
    workers: int | None = None,
    finish_reasons: Sequence[str | None] | None = None,
    *,
    problems: Sequence[str | None] | None = None,
    response_format: str = AUTO,
) -> list[Grade]:
    """Grade responses against golds pairwise, in parallel, each within ``timeout`` seconds.

    ``finish_reasons`` (optional, parallel to ``responses``): a response that ended with
    ``"length"`` was cut off, and counts only an answer it stated (boxed, ``####``, "final
    answer"); without one it is ``no_answer``, whatever numbers its reasoning holds.

    ``problems`` (optional, parallel to ``responses``): the problem texts. With them, an answer
    that only restates the problem's own expression is ``no_answer`` (`r1lab.grading.restatement`),
    and an "answer is" sentence copied from the problem is not read as the conclusion.

    ``response_format``: "auto" (detected per response) or a name of `r1lab.formats.FORMATS`.

    ``workers``: None for the shared pool (one process per core), N for a shared pool of N, 0 to
    verify in this process (no hard time bound: math-verify's timer works only on the main thread).
    Identical (answer, gold) pairs are verified once.
    """
    if len(responses) != len(golds):
        raise R1labError(f"grade_many: {len(responses)} responses but {len(golds)} gold answers")
    finish_reasons = _parallel(finish_reasons, len(responses), "finish reasons")
    problems = _parallel(problems, len(responses), "problems")
    check_format(response_format)
    found = [
        find_answer(
            r if isinstance(r, str) or r is None else str(r),
            finish_reason=_reason(f),
            response_format=response_format,
            problem=_reason(p),
        )
        for r, f, p in zip(responses, finish_reasons, problems, strict=True)
    ]
    gold_found = [gold_extraction(g) for g in golds]
    restated = [
        f is not None and g is not None and restates_problem(f.parts, _reason(p), g.answer)
        for f, g, p in zip(found, gold_found, problems, strict=True)
    ]
    found_before = found
    found = [None if r else f for f, r in zip(found, restated, strict=True)]
    extracted = [f.answer if f else None for f in found]
    gold_texts = [g.answer if g else None for g in gold_found]
    # A missing prediction still needs the gold checked: an unreadable gold decides the outcome.
    # The parts of a multi-box answer travel along: boxes that all equal the gold are right.
    keys = [_check_key(pred, gold) for pred, gold in zip(found, gold_found, strict=True) if gold is not None]
    unique = list(dict.fromkeys(keys))
    outcomes = dict(zip(unique, _run("check", unique, timeout, workers), strict=True))
    grades = []
    for pred_found, gold_found_one, pred, gold in zip(found, gold_found, extracted, gold_texts, strict=True):
        grades.append(_grade_one(pred_found, gold_found_one, pred, gold, outcomes))
    return [
        replace(g, tier=RESTATED, span=f.span) if r and f is not None else g
        for g, f, r in zip(grades, found_before, restated, strict=True)
    ]


def _grade_one(
    pred_found: Extraction | None, gold_found: Extraction | None, pred: str | None, gold: str | None, outcomes
) -> Grade:
    where = {"tier": pred_found.tier, "span": pred_found.span} if pred_found else {}
    if gold is None or gold_found is None:
        return Grade(False, pred, STATUS_UNPARSEABLE_GOLD, None, **where)
    outcome = outcomes[_check_key(pred_found, gold_found)]
    if outcome == STATUS_UNPARSEABLE_GOLD:
        return Grade(False, pred, STATUS_UNPARSEABLE_GOLD, gold, **where)
    if pred is None:
        return Grade(False, None, STATUS_NO_ANSWER, gold)
    if isinstance(outcome, TaskTimeout):
        return Grade(False, pred, STATUS_TIMEOUT, gold, **where)
    if isinstance(outcome, TaskFailed):
        logger.warning("grading %r against %r failed: %s", pred[:80], gold[:80], outcome)
        return Grade(False, pred, STATUS_ERROR, gold, **where)
    return Grade(outcome == "correct", pred, STATUS_OK, gold, **where)


def _parallel(values: Sequence[Any] | None, count: int, what: str) -> list[Any]:
    if values is None:
        return [None] * count
    if len(values) != count:
        raise R1labError(f"grade_many: {count} responses but {len(values)} {what}")
    return list(values)


def _check_key(pred: Extraction | None, gold: Extraction) -> tuple:
    """The ``check`` operation's arguments: (answer, gold, answer parts, gold parts)."""
    pred_parts = pred.parts if pred and len(pred.parts) > 1 else ()
    gold_parts = gold.parts if len(gold.parts) > 1 else ()
    return (pred.answer if pred else "", gold.answer, pred_parts, gold_parts)


def _reason(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def cluster_answers(
    answers: Sequence[str | None], timeout: float = DEFAULT_TIMEOUT_S, workers: int | None = None
) -> list[int | None]:
    """Equivalence-class ids for extracted answers, so "0.5" and "\\frac{1}{2}" vote together.

    Classes are numbered 0, 1, ... in order of first appearance; a missing answer gets None. An
    answer joins the first earlier class whose representative (its first member) math-verify
    judges equal to it, with the representative as gold; a comparison that times out is unequal.
    """
    representatives: list[str] = []
    class_of: dict[str, int] = {}
    ids: list[int | None] = []
    for answer in answers:
        if answer is None or not str(answer).strip():
            ids.append(None)
            continue
        answer = str(answer)
        known = next((cid for text, cid in class_of.items() if same_text(text, answer)), None)
        if known is None:
            known = _first_equivalent(representatives, answer, timeout, workers)
            if known is None:
                representatives.append(answer)
                known = len(representatives) - 1
            class_of[answer] = known
        ids.append(known)
    return ids


def _first_equivalent(representatives: list[str], answer: str, timeout: float, workers: int | None):
    if not representatives:
        return None
    results = _run("equivalent", [(rep, answer) for rep in representatives], timeout, workers)
    return next((index for index, same in enumerate(results) if same is True), None)


def _run(op: str, arg_list: list[tuple], timeout: float, workers: int | None) -> list[Any]:
    """Run operations in the pool (or in this process with ``workers=0``); failures come back as values."""
    if not arg_list:
        return []
    if workers == 0:
        return [_run_here(op, args, timeout) for args in arg_list]
    return run_tasks(get_pool(workers), op, arg_list, timeout)


def _run_here(op: str, args: tuple, timeout: float) -> Any:
    try:
        return run_op(op, args, timeout)
    except ItemTimeout:
        return TaskTimeout(f"{op} ran past {timeout:g} s")
    except Exception as exc:
        return TaskFailed(f"{type(exc).__name__}: {exc}")


__all__ = ["DEFAULT_TIMEOUT_S", "RESTATED", "Grade", "cluster_answers", "grade", "grade_many"]
