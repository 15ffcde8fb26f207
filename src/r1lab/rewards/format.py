"""Format rewards: the think-then-answer layout, its tags, and visible reasoning steps.

Chat templates of reasoning models (Qwen3, R1-Distill) often pre-fill ``<think>`` in the prompt,
so the completion starts inside the reasoning and holds only ``</think>``. ``think_prefilled``
says what to expect: None (default) accepts both, True requires no ``<think>``, False requires it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from r1lab.prompts import THINK_END, THINK_START
from r1lab.rewards.base import Reward, completion_text

ANSWER_START, ANSWER_END = "<answer>", "</answer>"

_PREFILLED_HELP = (
    "None: accept completions with or without the opening <think> (the chat template may pre-fill it); "
    "True: the template pre-fills it, so the completion must not repeat it; False: it must start with <think>"
)
_ANSWER_TAGS_HELP = (
    "also require the answer inside <answer>...</answer> after </think> (R1-Zero/TinyZero layout)"
)


def think_tag_ok(text: str, think_prefilled: bool | None) -> bool:
    """The opening-tag rule: exactly one <think> at the start, or none when pre-filled."""
    opens = text.count(THINK_START)
    if opens == 1:
        return think_prefilled is not True and text.lstrip().startswith(THINK_START)
    return opens == 0 and think_prefilled is not False and THINK_END in text


@dataclass
class FormatReward(Reward):
    name: ClassVar[str] = "format"
    summary: ClassVar[str] = (
        "1.0 if the completion is <think>reasoning</think> then a non-empty answer (one think block, "
        "non-empty reasoning, no think tags in the answer; <think> may be pre-filled), else 0.0"
    )

    think_prefilled: bool | None = field(default=None, metadata={"help": _PREFILLED_HELP})
    answer_tags: bool = field(default=False, metadata={"help": _ANSWER_TAGS_HELP})

    def bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        return [self.score(completion_text(c)) for c in completions]

    def score(self, text: str) -> float:
        if text.count(THINK_END) != 1 or not think_tag_ok(text, self.think_prefilled):
            return 0.0
        head, _, answer = text.partition(THINK_END)
        reasoning = head.split(THINK_START, 1)[-1]
        if not reasoning.strip() or not answer.strip():
            return 0.0
        if self.answer_tags:
            inner = answer.strip()
            if not (inner.startswith(ANSWER_START) and inner.endswith(ANSWER_END)):
                return 0.0
            inner = inner[len(ANSWER_START) : -len(ANSWER_END)]
            if not inner.strip() or ANSWER_START in inner or ANSWER_END in inner:
                return 0.0
        return 1.0


@dataclass
class TagCountReward(Reward):
    name: ClassVar[str] = "tag_count"
    summary: ClassVar[str] = (
        "partial credit per tag rule, a denser signal than format: 0.5 for the <think> rule (one at the start, "
        "or none when pre-filled and </think> present) + 0.5 for exactly one </think>; with answer_tags "
        "0.25 each for those two and for exactly one <answer> and one </answer>"
    )

    think_prefilled: bool | None = field(default=None, metadata={"help": _PREFILLED_HELP})
    answer_tags: bool = field(default=False, metadata={"help": _ANSWER_TAGS_HELP})

    def bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        return [self.score(completion_text(c)) for c in completions]

    def score(self, text: str) -> float:
        rules = [think_tag_ok(text, self.think_prefilled), text.count(THINK_END) == 1]
        if self.answer_tags:
            rules += [text.count(ANSWER_START) == 1, text.count(ANSWER_END) == 1]
        return sum(rules) / len(rules)


#: Open-R1's step markers: "Step 1:", numbered lines, bullets, and ordinal transition words.
STEP_PATTERN = re.compile(r"(Step \d+:|^\d+\.|\n-|\n\*|First,|Second,|Next,|Finally,)", re.MULTILINE)


@dataclass
class ReasoningStepsReward(Reward):
    name: ClassVar[str] = "reasoning_steps"
    summary: ClassVar[str] = (
        "min(1, markers / min_steps): counts step markers ('Step 1:', '1.' at a line start, '-'/'*' bullets, "
        "'First,', 'Second,', 'Next,', 'Finally,') anywhere in the completion (Open-R1)"
    )

    min_steps: int = field(default=3, metadata={"help": "markers needed for the full reward"})

    def __post_init__(self) -> None:
        from r1lab.rewards.base import check_positive

        check_positive(self.min_steps, "min_steps", self.name)

    def bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        return [min(1.0, len(STEP_PATTERN.findall(completion_text(c))) / self.min_steps) for c in completions]
