"""Countdown (TinyZero's rules): reach ``target`` using every number of ``nums`` exactly once.

The equation is evaluated by `r1lab.data.tasks.evaluate_countdown`, which parses it with ``ast``
and computes only integer literals, ``+ - * /`` and parentheses: never ``eval`` of model text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from r1lab.data.tasks import evaluate_countdown
from r1lab.errors import ConfigError
from r1lab.grading.extract import last_boxed
from r1lab.prompts import split_reasoning
from r1lab.rewards.base import Reward, completion_text

MAX_EQUATION_CHARS = 500
_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_LATEX_OPS = (
    ("\\times", "*"),
    ("\\cdot", "*"),
    ("×", "*"),
    ("·", "*"),
    ("\\div", "/"),
    ("÷", "/"),
    ("−", "-"),
    ("\\left", ""),
    ("\\right", ""),
    ("\\(", ""),
    ("\\)", ""),
    ("$", ""),
    ("\\{", "("),
    ("\\}", ")"),
    ("[", "("),
    ("]", ")"),
)
_FRAC_RE = re.compile(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}")
_NUMBER_RE = re.compile(r"\d+")
_ARITHMETIC_RUN_RE = re.compile(r"[\d+\-*/().\s]+")
_HAS_OP_RE = re.compile(r"\d\s*[-+*/]\s*[\d(]|\)\s*[-+*/]")


def extract_equation(completion: str) -> str | None:
    """The equation of a Countdown answer: the last <answer>...</answer>, else \\boxed{}, else the last line with an operation."""
    answer = split_reasoning(completion)[1]
    tagged = _ANSWER_RE.findall(answer)
    in_prose = False
    if tagged:
        candidate = tagged[-1]
    else:
        candidate = last_boxed(answer)
        if candidate is None:
            lines = [line for line in _plain(answer).splitlines() if _HAS_OP_RE.search(line)]
            candidate, in_prose = (lines[-1] if lines else None), True
    if candidate is None:
        return None
    equation = _plain(candidate)
    if "=" in equation:  # "(1+2)*3 = 9" or "9 = (1+2)*3": keep the side that computes
        sides = [s.strip() for s in equation.split("=")]
        equation = next((s for s in sides if _HAS_OP_RE.search(s)), sides[0])
    if in_prose:  # "So: 3 * (2 + 1)": the arithmetic run within the sentence
        runs = [r for r in _ARITHMETIC_RUN_RE.findall(equation) if _HAS_OP_RE.search(r)]
        equation = runs[-1] if runs else equation
    equation = equation.strip().rstrip(".").strip()
    return equation or None


def _plain(text: str) -> str:
    """LaTeX and typographic operators as plain ASCII arithmetic."""
    text = _FRAC_RE.sub(r"(\1)/(\2)", text)
    for latex, plain in _LATEX_OPS:
        text = text.replace(latex, plain)
    return text


@dataclass
class CountdownReward(Reward):
    name: ClassVar[str] = "countdown"
    summary: ClassVar[str] = (
        "TinyZero: score if the equation (last <answer>...</answer>, else \\boxed{}, else last line with an "
        "operation) uses each of `nums` exactly once with only + - * / and parentheses and equals `target` "
        "(within 1e-5); format_score if an equation is present but invalid or wrong; 0.0 if none"
    )

    format_score: float = field(
        default=0.1, metadata={"help": "reward for a present but invalid or wrong equation"}
    )
    score: float = field(default=1.0, metadata={"help": "reward for a correct equation"})
    nums_column: str = field(default="nums", metadata={"help": "column with the numbers (list[int])"})
    target_column: str = field(default="target", metadata={"help": "column with the target (int)"})

    def bounds(self) -> tuple[float, float]:
        return (min(0.0, self.format_score, self.score), max(0.0, self.format_score, self.score))

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        for column in (self.nums_column, self.target_column):
            if column not in kwargs:
                raise ConfigError(
                    f"countdown: needs dataset column {column!r} (rows from make_countdown have it)"
                )
        nums_list, targets = list(kwargs[self.nums_column]), list(kwargs[self.target_column])
        return [
            self.judge(completion_text(c), nums, target)
            for c, nums, target in zip(completions, nums_list, targets, strict=True)
        ]

    def judge(self, completion: str, nums: Sequence[int] | None, target: Any) -> float | None:
        if nums is None or target is None:
            return None
        equation = extract_equation(completion)
        if equation is None:
            return 0.0
        # Cheap guards before parsing: only the given numbers may appear, so a long chain is wrong.
        if len(equation) > MAX_EQUATION_CHARS or len(_NUMBER_RE.findall(equation)) != len(nums):
            return self.format_score
        try:
            value = evaluate_countdown(equation, [int(n) for n in nums])
        except (RecursionError, MemoryError, ValueError, TypeError, OverflowError):
            value = None
        if value is None:
            return self.format_score
        return self.score if abs(value - float(target)) < 1e-5 else self.format_score
