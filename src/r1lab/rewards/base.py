"""What every reward function shares: TRL's calling convention, completion text, lengths, gold answers.

A reward is a dataclass instance (picklable, unlike a closure: TRL's async rollout workers pickle
reward functions) whose fields are its parameters, called TRL's way::

    reward(completions, **columns) -> list[float | None]

``completions`` are strings, or chat messages ``[{"role": "assistant", "content": ...}]``; TRL
also passes ``prompts``, ``completion_ids`` and every dataset column as keyword arguments. None
means "no opinion" (TRL leaves it out of the weighted sum), used when the gold answer is unusable.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, ClassVar

from r1lab.data.text import message_content, message_role
from r1lab.errors import ConfigError

logger = logging.getLogger(__name__)


def completion_text(completion: Any) -> str:
    """The text of one completion: a string, or the assistant turns of a message list."""
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return message_content(completion)
    if isinstance(completion, Sequence):
        turns = [m for m in completion if isinstance(m, Mapping)]
        assistant = [m for m in turns if message_role(m) in (None, "assistant")]
        return "".join(message_content(m) for m in (assistant or turns))
    return str(completion)


class Reward:
    """Base class: subclasses are dataclasses that set ``name``/``low``/``high`` and implement ``__call__``."""

    name: ClassVar[str] = ""
    #: Short statement of what the reward measures (for the docs table and ``--help``).
    summary: ClassVar[str] = ""

    @property
    def __name__(self) -> str:  # TRL logs each reward under its function's __name__
        return self.name

    def bounds(self) -> tuple[float, float]:
        """The closed range every non-None value lies in, for these parameters."""
        raise NotImplementedError

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        raise NotImplementedError


def log_extra(kwargs: Mapping[str, Any], column: str, values: list[Any]) -> None:
    """Add a column to TRL's completions table when running inside GRPOTrainer (no-op elsewhere)."""
    logger_fn = kwargs.get("log_extra")
    if callable(logger_fn):
        logger_fn(column, values)


def log_metric(kwargs: Mapping[str, Any], name: str, value: float) -> None:
    """Log a scalar through TRL's ``log_metric`` hook when running inside GRPOTrainer (no-op elsewhere)."""
    logger_fn = kwargs.get("log_metric")
    if callable(logger_fn) and value == value:  # skip NaN
        logger_fn(name, value)


def gold_answers(kwargs: Mapping[str, Any], column: str | None, reward: str, count: int) -> list[Any]:
    """The gold-answer column TRL passed: ``column``, or else ``answer``, else ``solution``."""
    names = [column] if column else ["answer", "solution"]
    for name in names:
        if name in kwargs and kwargs[name] is not None:
            values = list(kwargs[name])
            if len(values) != count:
                raise ConfigError(
                    f"{reward}: {len(values)} values in column {name!r} for {count} completions"
                )
            return values
    passed = ", ".join(sorted(k for k in kwargs if k not in ("trainer_state", "log_extra", "log_metric")))
    raise ConfigError(
        f"{reward}: needs the gold answers in dataset column {' or '.join(repr(n) for n in names)}; "
        f"the columns passed are: {passed or '(none)'}"
    )


@lru_cache(maxsize=4)
def _load_tokenizer(name: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(name)


def completion_lengths(
    completions: Sequence[Any],
    kwargs: Mapping[str, Any],
    tokenizer: Any,
    reward: str,
    *,
    tokens_only: bool = False,
) -> list[int]:
    """Each completion's length in tokens: TRL's ``completion_ids``, else ``tokenizer``; else characters.

    ``tokenizer`` may be a tokenizer object or a name/path to load. With ``tokens_only`` a missing
    token source is a ConfigError, not a silent switch to characters.
    """
    ids = kwargs.get("completion_ids")
    if ids is not None:
        ids = list(ids)
        if len(ids) != len(completions):
            raise ConfigError(f"{reward}: {len(ids)} completion_ids for {len(completions)} completions")
        return [len(x) for x in ids]
    if tokenizer is not None:
        tok = _load_tokenizer(tokenizer) if isinstance(tokenizer, str) else tokenizer
        return [len(tok(completion_text(c), add_special_tokens=False)["input_ids"]) for c in completions]
    if tokens_only:
        raise ConfigError(
            f"{reward}: counts tokens: call it with completion_ids (GRPOTrainer passes them) or set `tokenizer`"
        )
    return [len(completion_text(c)) for c in completions]


def prompt_groups(kwargs: Mapping[str, Any], count: int) -> list[int]:
    """A group id per completion: completions of the same prompt share one (the whole batch without prompts)."""
    prompts = kwargs.get("prompts")
    if prompts is None or len(prompts) != count:
        return [0] * count
    ids: dict[str, int] = {}
    return [ids.setdefault(_key(p), len(ids)) for p in prompts]


def _key(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    try:
        return json.dumps(prompt, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(prompt)


def reward_fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def check_positive(value: float, name: str, reward: str) -> None:
    if not value > 0:
        raise ConfigError(f"{reward}: {name} must be positive, got {value}")


RewardFunc = Callable[..., list[float | None]]
