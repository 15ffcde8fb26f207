"""The registry: names, parameters (flat or per reward), errors, and what TRL needs of a reward."""

from __future__ import annotations

import pickle

import pytest

from r1lab.errors import ConfigError
from r1lab.rewards import REWARDS, get_reward_funcs

NAMES = [
    "accuracy",
    "format",
    "tag_count",
    "reasoning_steps",
    "length",
    "cosine",
    "repetition",
    "soft_overlong",
    "countdown",
    "code",
]


def test_every_name_builds_with_a_distinct_name_and_pickles():
    funcs = get_reward_funcs(NAMES, max_completion_len=128)
    assert [f.__name__ for f in funcs] == NAMES == list(REWARDS)
    for func in funcs:
        clone = pickle.loads(pickle.dumps(func))  # TRL's async rollout workers pickle reward functions
        assert clone == func and clone.__name__ == func.__name__
        low, high = func.bounds()
        assert low <= high


def test_flat_and_per_reward_parameters():
    cosine, length = get_reward_funcs(["cosine", "length"], timeout=2.0, cosine={"max_len": 64})
    assert (cosine.max_len, cosine.timeout, length.timeout) == (64, 2.0, 2.0)
    (fmt,) = get_reward_funcs("format", answer_tags=True)
    assert fmt.answer_tags


def test_errors_name_what_is_valid():
    with pytest.raises(ConfigError, match=r"unknown reward 'acuracy' \(did you mean 'accuracy'\?\).*format"):
        get_reward_funcs(["acuracy"])
    with pytest.raises(ConfigError, match=r"'max_lenn' \(did you mean 'max_len'\?\)"):
        get_reward_funcs(["cosine"], max_lenn=5)
    with pytest.raises(ConfigError, match="not selected"):
        get_reward_funcs(["format"], cosine={"max_len": 5})
    with pytest.raises(ConfigError, match="no parameter"):
        get_reward_funcs(["format"], format={"max_len": 5})
    with pytest.raises(ConfigError, match="max_completion_len"):
        get_reward_funcs(["soft_overlong"])
    with pytest.raises(ConfigError, match="repeat"):
        get_reward_funcs(["format", "format"])
