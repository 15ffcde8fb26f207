"""Reward functions for GRPO with TRL's signature, and the registry that builds them by name.

    from r1lab.rewards import get_reward_funcs
    funcs = get_reward_funcs(["accuracy", "format"])       # pass to GRPOTrainer(reward_funcs=funcs)
    funcs[0](["<think>2+2</think> \\boxed{4}"], answer=["4"])  # [1.0]

Every reward that judges answers goes through `r1lab.grading`; the exact semantics, parameters
and range of each are in docs/rewards.md.
"""

from r1lab.rewards.base import Reward, completion_text
from r1lab.rewards.code import CodeReward, extract_code, parse_tests
from r1lab.rewards.countdown import CountdownReward, extract_equation
from r1lab.rewards.format import FormatReward, ReasoningStepsReward, TagCountReward
from r1lab.rewards.length import CosineReward, LengthReward, SoftOverlongReward
from r1lab.rewards.math import AccuracyReward
from r1lab.rewards.registry import REWARDS, get_reward_funcs
from r1lab.rewards.repetition import RepetitionReward
from r1lab.rewards.sandbox import SandboxLimits, SandboxResult, run_python

__all__ = [
    "REWARDS",
    "AccuracyReward",
    "CodeReward",
    "CosineReward",
    "CountdownReward",
    "FormatReward",
    "LengthReward",
    "ReasoningStepsReward",
    "RepetitionReward",
    "Reward",
    "SandboxLimits",
    "SandboxResult",
    "SoftOverlongReward",
    "TagCountReward",
    "completion_text",
    "extract_code",
    "extract_equation",
    "get_reward_funcs",
    "parse_tests",
    "run_python",
]
