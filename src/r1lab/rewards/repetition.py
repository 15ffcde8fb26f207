"""Repetition penalty: the share of repeated n-grams (Demystifying Long CoT, App. C.2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from r1lab.errors import ConfigError
from r1lab.rewards.base import Reward, check_positive, completion_text


@dataclass
class RepetitionReward(Reward):
    name: ClassVar[str] = "repetition"
    summary: ClassVar[str] = (
        "(1 - unique n-grams / all n-grams) * max_penalty over lowercased words (unit=words, Open-R1) or "
        "completion_ids (unit=tokens, TRL); 0.0 below ngram_size units"
    )

    ngram_size: int = field(default=3, metadata={"help": "n of the n-grams"})
    max_penalty: float = field(
        default=-1.0, metadata={"help": "reward of a fully repetitive completion (<= 0)"}
    )
    unit: str = field(
        default="words", metadata={"help": "words (whitespace split, lowercased) or tokens (completion_ids)"}
    )

    def __post_init__(self) -> None:
        check_positive(self.ngram_size, "ngram_size", self.name)
        if self.max_penalty > 0:
            raise ConfigError(f"repetition: max_penalty must be <= 0, got {self.max_penalty}")
        if self.unit not in ("words", "tokens"):
            raise ConfigError(f"repetition: unit must be 'words' or 'tokens', got {self.unit!r}")

    def bounds(self) -> tuple[float, float]:
        return (self.max_penalty, 0.0)

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        if self.unit == "tokens":
            ids = kwargs.get("completion_ids")
            if ids is None:
                raise ConfigError("repetition: unit=tokens needs completion_ids (GRPOTrainer passes them)")
            units: list[Sequence[Any]] = [list(x) for x in ids]
        else:
            units = [completion_text(c).lower().split() for c in completions]
        return [self.penalty(u) for u in units]

    def penalty(self, units: Sequence[Any]) -> float:
        n = self.ngram_size
        if len(units) < n:
            return 0.0
        ngrams = [tuple(units[i : i + n]) for i in range(len(units) - n + 1)]
        repeated = 1.0 - len(set(ngrams)) / len(ngrams)
        return repeated * self.max_penalty if repeated else 0.0
