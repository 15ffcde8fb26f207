"""Length-shaped rewards: Kimi 1.5's length penalty, cosine-scaled correctness, DAPO's overlong penalty.

Lengths are in tokens when TRL passes ``completion_ids`` (GRPOTrainer always does) or a
``tokenizer`` is set; otherwise in characters (``length`` and ``cosine`` only: ``soft_overlong`` is
defined on the token budget and refuses to guess). Correctness comes from the grading path, and an
unparseable gold gives None, exactly as in the accuracy reward.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from r1lab.errors import ConfigError
from r1lab.grading import DEFAULT_TIMEOUT_S, STATUS_UNPARSEABLE_GOLD
from r1lab.rewards.base import Reward, check_positive, completion_lengths, prompt_groups
from r1lab.rewards.math import grade_completions

_TOKENIZER_HELP = "tokenizer (object or name/path) to count tokens when completion_ids are not passed"


@dataclass
class LengthReward(Reward):
    name: ClassVar[str] = "length"
    summary: ClassVar[str] = (
        "Kimi 1.5: within each prompt's group, lambda = 0.5 - (len - min_len) / (max_len - min_len); "
        "correct -> lambda, wrong -> min(0, lambda); 0.0 for every member when all lengths are equal; "
        "None for an unparseable gold"
    )

    answer_column: str | None = field(
        default=None, metadata={"help": "gold-answer column (default: answer, else solution)"}
    )
    timeout: float = field(default=DEFAULT_TIMEOUT_S, metadata={"help": "seconds to grade one completion"})
    workers: int | None = field(default=None, metadata={"help": "grading processes (default: one per core)"})
    tokenizer: Any = field(default=None, metadata={"help": _TOKENIZER_HELP})

    def bounds(self) -> tuple[float, float]:
        return (-0.5, 0.5)

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        grades = grade_completions(completions, kwargs, self, self.answer_column, self.timeout, self.workers)
        lengths = completion_lengths(completions, kwargs, self.tokenizer, self.name)
        groups = prompt_groups(kwargs, len(completions))
        span: dict[int, tuple[int, int]] = {}  # (shortest, longest) of the judged members of each group
        for group, length, grade in zip(groups, lengths, grades, strict=True):
            if grade.status == STATUS_UNPARSEABLE_GOLD:
                continue
            low, high = span.get(group, (length, length))
            span[group] = (min(low, length), max(high, length))
        rewards: list[float | None] = []
        for grade, length, group in zip(grades, lengths, groups, strict=True):
            if grade.status == STATUS_UNPARSEABLE_GOLD:
                rewards.append(None)
                continue
            low, high = span[group]
            if high == low:
                rewards.append(0.0)
                continue
            lam = 0.5 - (length - low) / (high - low)
            rewards.append(lam if grade.correct else min(0.0, lam))
        return rewards


@dataclass
class CosineReward(Reward):
    name: ClassVar[str] = "cosine"
    summary: ClassVar[str] = (
        "correctness scaled by length on a cosine (Demystifying Long CoT, App. C.1): "
        "r = lo + (hi - lo)(1 + cos(pi * min(len, max_len) / max_len)) / 2 with (lo, hi) = "
        "(min_value_correct, max_value_correct) if correct, (max_value_wrong, min_value_wrong) if wrong: "
        "short correct answers earn most, short wrong ones lose most; None for an unparseable gold"
    )

    max_len: int = field(
        default=1000, metadata={"help": "length at which the schedule ends (tokens, or characters)"}
    )
    min_value_wrong: float = field(
        default=-1.0, metadata={"help": "reward of a wrong completion of length 0"}
    )
    max_value_wrong: float = field(
        default=-0.5, metadata={"help": "reward of a wrong completion of length max_len"}
    )
    min_value_correct: float = field(
        default=0.5, metadata={"help": "reward of a correct completion of length max_len"}
    )
    max_value_correct: float = field(
        default=1.0, metadata={"help": "reward of a correct completion of length 0"}
    )
    answer_column: str | None = field(
        default=None, metadata={"help": "gold-answer column (default: answer, else solution)"}
    )
    timeout: float = field(default=DEFAULT_TIMEOUT_S, metadata={"help": "seconds to grade one completion"})
    workers: int | None = field(default=None, metadata={"help": "grading processes (default: one per core)"})
    tokenizer: Any = field(default=None, metadata={"help": _TOKENIZER_HELP})

    def __post_init__(self) -> None:
        check_positive(self.max_len, "max_len", self.name)

    def bounds(self) -> tuple[float, float]:
        values = (self.min_value_wrong, self.max_value_wrong, self.min_value_correct, self.max_value_correct)
        return (min(values), max(values))

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        grades = grade_completions(completions, kwargs, self, self.answer_column, self.timeout, self.workers)
        lengths = completion_lengths(completions, kwargs, self.tokenizer, self.name)
        rewards: list[float | None] = []
        for grade, length in zip(grades, lengths, strict=True):
            if grade.status == STATUS_UNPARSEABLE_GOLD:
                rewards.append(None)
                continue
            cosine = math.cos(math.pi * min(length, self.max_len) / self.max_len)
            if grade.correct:
                low, high = self.min_value_correct, self.max_value_correct
            else:
                low, high = self.max_value_wrong, self.min_value_wrong
            rewards.append(low + 0.5 * (high - low) * (1.0 + cosine))
        return rewards


@dataclass
class SoftOverlongReward(Reward):
    name: ClassVar[str] = "soft_overlong"
    summary: ClassVar[str] = (
        "DAPO eq. 13 on token counts: 0 up to max_completion_len - soft_punish_cache tokens, then falling "
        "linearly to -1 at max_completion_len, -1 beyond"
    )

    max_completion_len: int | None = field(
        default=None, metadata={"help": "L_max in tokens: set it to GRPO's max_completion_length (required)"}
    )
    soft_punish_cache: int | None = field(
        default=None,
        metadata={
            "help": "L_cache in tokens: the soft zone before L_max (default: L_max // 5, DAPO's ratio)"
        },
    )
    tokenizer: Any = field(default=None, metadata={"help": _TOKENIZER_HELP})

    def __post_init__(self) -> None:
        if self.max_completion_len is None:
            raise ConfigError(
                "soft_overlong: set max_completion_len (GRPO's max_completion_length, in tokens) in reward_params"
            )
        check_positive(self.max_completion_len, "max_completion_len", self.name)
        if self.soft_punish_cache is None:
            self.soft_punish_cache = max(1, self.max_completion_len // 5)
        if not 0 < self.soft_punish_cache <= self.max_completion_len:
            raise ConfigError(
                f"soft_overlong: need 0 < soft_punish_cache <= max_completion_len, got "
                f"{self.soft_punish_cache} and {self.max_completion_len}"
            )

    def bounds(self) -> tuple[float, float]:
        return (-1.0, 0.0)

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        lengths = completion_lengths(completions, kwargs, self.tokenizer, self.name, tokens_only=True)
        limit, cache = self.max_completion_len, self.soft_punish_cache
        assert limit is not None and cache is not None
        rewards: list[float | None] = []
        for length in lengths:
            if length <= limit - cache:
                rewards.append(0.0)
            elif length <= limit:
                rewards.append((limit - cache - length) / cache)
            else:
                rewards.append(-1.0)
        return rewards
