"""The reward registry: names -> reward classes, and `get_reward_funcs` to build them with parameters.

Parameters come flat (``max_len=500``: given to every selected reward that has such a field) or
per reward (``cosine={"max_len": 500}``: only that one). A parameter no selected reward takes is
an error with the nearest valid name, never silently ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from r1lab.config import suggest
from r1lab.errors import ConfigError
from r1lab.rewards.base import Reward
from r1lab.rewards.code import CodeReward
from r1lab.rewards.countdown import CountdownReward
from r1lab.rewards.format import FormatReward, ReasoningStepsReward, TagCountReward
from r1lab.rewards.length import CosineReward, LengthReward, SoftOverlongReward
from r1lab.rewards.math import AccuracyReward
from r1lab.rewards.repetition import RepetitionReward

REWARDS: dict[str, type[Reward]] = {
    cls.name: cls
    for cls in (
        AccuracyReward,
        FormatReward,
        TagCountReward,
        ReasoningStepsReward,
        LengthReward,
        CosineReward,
        RepetitionReward,
        SoftOverlongReward,
        CountdownReward,
        CodeReward,
    )
}


def get_reward_funcs(names: str | Iterable[str], **params: Any) -> list[Reward]:
    """Reward callables for ``names`` (in order), each with TRL's signature and a distinct ``__name__``."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    names = list(names)
    unknown = [n for n in names if n not in REWARDS]
    if unknown:
        raise ConfigError(
            f"unknown reward {unknown[0]!r}{suggest(unknown[0], REWARDS)}; the rewards are: {', '.join(REWARDS)}"
        )
    if len(set(names)) != len(names):
        raise ConfigError(f"reward names repeat: {', '.join(names)}")
    per_reward = {k: v for k, v in params.items() if k in REWARDS}
    flat = {k: v for k, v in params.items() if k not in REWARDS}
    for key, value in per_reward.items():
        if key not in names:
            raise ConfigError(
                f"parameters given for reward {key!r}, which is not selected ({', '.join(names)})"
            )
        if not isinstance(value, Mapping):
            raise ConfigError(f"parameters for reward {key!r} must be a mapping, got {type(value).__name__}")
    fields = {name: {f.name for f in dataclasses.fields(REWARDS[name])} for name in names}
    accepted = set().union(*fields.values()) if fields else set()
    for key in flat:
        if key not in accepted:
            raise ConfigError(
                f"reward parameter {key!r}{suggest(key, accepted)} is taken by none of {', '.join(names)}; "
                f"they take: {', '.join(sorted(accepted)) or '(nothing)'}"
            )
    funcs = []
    for name in names:
        own = dict(per_reward.get(name, {}))
        for key in own:
            if key not in fields[name]:
                raise ConfigError(f"reward {name!r} has no parameter {key!r}{suggest(key, fields[name])}")
        kwargs = {k: v for k, v in flat.items() if k in fields[name]} | own
        try:
            funcs.append(REWARDS[name](**kwargs))
        except TypeError as exc:
            raise ConfigError(f"reward {name!r}: {exc}") from None
    return funcs
