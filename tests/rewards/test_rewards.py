"""Each reward's exact semantics, on hand-made completions in both TRL formats."""

from __future__ import annotations

import math

import pytest

from r1lab.errors import ConfigError
from r1lab.rewards import (
    AccuracyReward,
    CosineReward,
    CountdownReward,
    FormatReward,
    LengthReward,
    ReasoningStepsReward,
    RepetitionReward,
    SoftOverlongReward,
    TagCountReward,
    extract_equation,
)


def chat(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def test_accuracy_strings_and_messages_and_unparseable_gold():
    reward = AccuracyReward()
    completions = [
        "<think>2+2</think>\n\\boxed{4}",
        chat("<think>hm</think> \\boxed{5}"),
        "\\boxed{1}",
        "no answer",
    ]
    assert reward(completions, answer=["4", "4", "\\frac{", "3"]) == [1.0, 0.0, None, 0.0]
    # Open-R1 datasets call the gold column `solution`; a whole solution with \boxed{} works as gold
    assert reward(["\\boxed{\\frac{1}{2}}"], solution=["so $\\boxed{0.5}$"]) == [1.0]
    assert AccuracyReward(answer_column="gold")(["\\boxed{2}"], gold=[2]) == [1.0]


def test_accuracy_needs_a_gold_column():
    with pytest.raises(ConfigError, match="answer"):
        AccuracyReward()(["\\boxed{1}"], prompts=["p"])


def test_accuracy_logs_through_trl_hooks():
    logged, metrics = {}, {}
    AccuracyReward()(
        ["\\boxed{4}", "\\boxed{1}"],
        answer=["4", "\\frac{"],
        log_extra=lambda k, v: logged.setdefault(k, v),
        log_metric=lambda k, v: metrics.setdefault(k, v),
    )
    assert logged == {"extracted": ["4", "1"], "grade_status": ["ok", "unparseable_gold"]}
    assert metrics == {
        "grading/timeout_share": 0.0,
        "grading/no_answer_share": 0.0,
        "grading/unparseable_gold_share": 0.5,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>\nreasoning\n</think>\n\nThe answer is 4.", 1.0),
        ("reasoning that started in a pre-filled think\n</think>\nanswer", 1.0),
        ("<think>reasoning</think>", 0.0),  # no answer
        ("<think></think> answer", 0.0),  # no reasoning
        ("<think>a</think> b </think> c", 0.0),  # two closings
        ("<think>a <think> b</think> c", 0.0),  # nested opening
        ("answer first <think>a</think> b", 0.0),  # think not at the start
        ("just an answer", 0.0),
        ("<think>unclosed reasoning", 0.0),
    ],
)
def test_format(text, expected):
    assert FormatReward()([text]) == [expected]
    assert FormatReward()([chat(text)]) == [expected]


def test_format_prefilled_switch_and_answer_tags():
    with_tag, without_tag = "<think>r</think> a", "r</think> a"
    assert FormatReward(think_prefilled=True)([with_tag, without_tag]) == [0.0, 1.0]
    assert FormatReward(think_prefilled=False)([with_tag, without_tag]) == [1.0, 0.0]
    tagged = FormatReward(answer_tags=True)
    assert tagged(
        ["<think>r</think>\n<answer>4</answer>", "<think>r</think> 4", "<think>r</think><answer></answer>"]
    ) == [
        1.0,
        0.0,
        0.0,
    ]


def test_tag_count_partial_credit():
    reward = TagCountReward()
    texts = ["<think>r</think> a", "r</think> a", "<think>r", "nothing", "<think>a</think></think>"]
    assert reward(texts) == [1.0, 1.0, 0.5, 0.0, 0.5]
    tagged = TagCountReward(answer_tags=True)
    assert tagged(["<think>r</think><answer>a</answer>", "<think>r</think><answer>a", "x"]) == [
        1.0,
        0.75,
        0.0,
    ]


def test_reasoning_steps():
    reward = ReasoningStepsReward()
    text = "Step 1: read\nStep 2: add\nFinally, done"
    assert reward([text, "First, a. Next, b.", "nothing"]) == [1.0, pytest.approx(2 / 3), 0.0]
    assert ReasoningStepsReward(min_steps=1)(["First, a"]) == [1.0]


def test_length_kimi_per_prompt_group():
    reward = LengthReward()
    completions = ["\\boxed{4}", "\\boxed{4}", "\\boxed{5}", "\\boxed{4}", "\\boxed{9}"]
    ids = [[0] * 10, [0] * 30, [0] * 20, [0] * 5, [0] * 5]
    prompts = ["p", "p", "p", "q", "q"]
    rewards = reward(completions, answer=["4", "4", "4", "4", "4"], completion_ids=ids, prompts=prompts)
    # group p: lengths 10, 30, 20 -> lambda 0.5, -0.5, 0.0; the wrong one keeps min(0, lambda)
    # group q: equal lengths -> 0
    assert rewards == [0.5, -0.5, 0.0, 0.0, 0.0]


def test_cosine_matches_the_formula():
    reward = CosineReward(max_len=100)
    rewards = reward(
        ["\\boxed{1}", "\\boxed{1}", "\\boxed{2}", "\\boxed{2}", "\\boxed{1}"],
        answer=["1", "1", "1", "1", "\\frac{"],
        completion_ids=[[0] * 0, [0] * 50, [0] * 0, [0] * 500, [0]],
    )
    assert rewards[0] == pytest.approx(1.0)  # correct, shortest
    assert rewards[1] == pytest.approx(0.5 + 0.25 * (1 + math.cos(math.pi / 2)))
    assert rewards[2] == pytest.approx(-1.0)  # wrong and short: the largest penalty
    assert rewards[3] == pytest.approx(-0.5)  # wrong and at/over max_len
    assert rewards[4] is None


def test_soft_overlong_dapo():
    reward = SoftOverlongReward(max_completion_len=100, soft_punish_cache=20)
    ids = [[0] * n for n in (0, 80, 90, 100, 101, 10_000)]
    assert reward([""] * 6, completion_ids=ids) == [0.0, 0.0, -0.5, -1.0, -1.0, -1.0]
    assert SoftOverlongReward(max_completion_len=100).soft_punish_cache == 20
    with pytest.raises(ConfigError, match="max_completion_len"):
        SoftOverlongReward()
    with pytest.raises(ConfigError, match="completion_ids"):
        reward(["text"])


def test_soft_overlong_counts_with_a_tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    reward = SoftOverlongReward(max_completion_len=10, soft_punish_cache=5, tokenizer=tokenizer)
    assert reward(["abcd", "abcdefghijkl"]) == [0.0, -1.0]  # byte tokenizer: one token per character


def test_repetition():
    reward = RepetitionReward(ngram_size=2)
    assert reward(["a b c d", "a a a a a", "a", ""]) == [0.0, pytest.approx(-0.75), 0.0, 0.0]
    tokens = RepetitionReward(ngram_size=2, unit="tokens", max_penalty=-0.5)
    assert tokens(["x", "y"], completion_ids=[[1, 2, 3, 4], [5, 5, 5, 5, 5]]) == [0.0, pytest.approx(-0.375)]
    with pytest.raises(ConfigError):
        RepetitionReward(max_penalty=0.5)


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("<think>try</think> <answer>(1 + 2) * 3</answer>", 1.0),
        ("<think>try</think> \\boxed{(1+2) \\times 3}", 1.0),
        ("<think>t</think> So: 3 * (2 + 1) = 9", 1.0),
        ("<answer>9 = 3*(1+2)</answer>", 1.0),
        ("<answer>(1 + 2) * 3 + 1</answer>", 0.1),  # uses 1 twice
        ("<answer>1 + 2 + 3</answer>", 0.1),  # wrong value
        ("<answer>(1+2)**3</answer>", 0.1),  # power is not allowed
        ("<answer>__import__('os').system('true')</answer>", 0.1),  # never evaluated
        ("<answer>3/(2-2)*1</answer>", 0.1),
        ("I give up", 0.0),
        ("", 0.0),
    ],
)
def test_countdown(completion, expected):
    assert CountdownReward()([completion], nums=[[1, 2, 3]], target=[9]) == [expected]


def test_countdown_exact_division_and_columns():
    reward = CountdownReward()
    assert reward(["<answer>(7 - 1) / 3</answer>"], nums=[[7, 1, 3]], target=[2]) == [1.0]
    assert reward(["<answer>1+1</answer>"], nums=[None], target=[2]) == [None]
    with pytest.raises(ConfigError, match="nums"):
        reward(["x"], target=[1])
    assert extract_equation("<think>x</think> \\frac{6}{3} + 1") == "(6)/(3) + 1"
