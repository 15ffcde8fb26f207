"""Accuracy: is the final answer right? Through `r1lab.grading`, the one grading path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from r1lab.formats import AUTO, check_format, format_names
from r1lab.grading import (
    DEFAULT_TIMEOUT_S,
    STATUS_NO_ANSWER,
    STATUS_TIMEOUT,
    STATUS_UNPARSEABLE_GOLD,
    Grade,
    grade_many,
)
from r1lab.rewards.base import Reward, check_positive, completion_text, gold_answers, log_extra, log_metric


def grade_completions(
    completions: Sequence[Any],
    kwargs: dict[str, Any],
    reward: Reward,
    column: str | None,
    timeout: float,
    workers: int | None,
    *,
    response_format: str = AUTO,
    problem_column: str | None = "problem",
) -> list[Grade]:
    """Grade a batch of completions against the gold column TRL passed (shared by the length rewards).

    The problem column, when TRL passes it, goes along: a completion that only restates the
    problem's expression earns nothing (a policy must not learn to copy the problem).
    """
    golds = gold_answers(kwargs, column, reward.name, len(completions))
    problems = kwargs.get(problem_column) if problem_column else None
    if problems is not None:
        problems = list(problems)
        if len(problems) != len(completions):
            problems = None
    return grade_many(
        [completion_text(c) for c in completions],
        golds,
        timeout=timeout,
        workers=workers,
        problems=problems,
        response_format=response_format,
    )


@dataclass
class AccuracyReward(Reward):
    name: ClassVar[str] = "accuracy"
    summary: ClassVar[str] = (
        "1.0 if the final answer (after </think>) equals the gold answer under math-verify, else 0.0; "
        "None when the gold answer cannot be parsed (TRL then leaves the item out)"
    )

    answer_column: str | None = field(
        default=None, metadata={"help": "gold-answer column (default: 'answer', else 'solution')"}
    )
    timeout: float = field(default=DEFAULT_TIMEOUT_S, metadata={"help": "seconds to grade one completion"})
    workers: int | None = field(default=None, metadata={"help": "grading processes (default: one per core)"})
    format: str = field(
        default=AUTO,
        metadata={
            "help": "response format: auto (detected per completion) or one of "
            + ", ".join(name for name in format_names() if name != AUTO)
        },
    )
    problem_column: str | None = field(
        default="problem",
        metadata={
            "help": "column with the problem text: a completion that only restates its expression earns 0"
        },
    )

    def __post_init__(self) -> None:
        check_positive(self.timeout, "timeout", self.name)
        check_format(self.format)

    def bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        grades = grade_completions(
            completions,
            kwargs,
            self,
            self.answer_column,
            self.timeout,
            self.workers,
            response_format=self.format,
            problem_column=self.problem_column,
        )
        # Inside GRPOTrainer: what was graded goes to the completions table, and how often grading
        # timed out or met an unreadable gold goes to the logged metrics. Only this reward logs, so
        # the table's extra columns stay one value per completion when length/cosine also grade.
        log_extra(kwargs, "extracted", [g.extracted for g in grades])
        log_extra(kwargs, "grade_status", [g.status for g in grades])
        log_metric(
            kwargs, "grading/timeout_share", sum(g.status == STATUS_TIMEOUT for g in grades) / len(grades)
        )
        # Responses that state no final answer (cut off mid-reasoning, or never concluding) earn
        # nothing; how often that happens is the first thing to watch when rewards stay flat.
        log_metric(
            kwargs, "grading/no_answer_share", sum(g.status == STATUS_NO_ANSWER for g in grades) / len(grades)
        )
        log_metric(
            kwargs,
            "grading/unparseable_gold_share",
            sum(g.status == STATUS_UNPARSEABLE_GOLD for g in grades) / len(grades),
        )
        return [None if g.status == STATUS_UNPARSEABLE_GOLD else float(g.correct) for g in grades]
