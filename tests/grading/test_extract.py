"""Answer extraction: one table of (response, expected answer), plus hostile inputs."""

from __future__ import annotations

import pytest

from r1lab.grading import extract_answer, gold_answer
from r1lab.grading.extract import last_boxed

CASES = [
    # boxed, last one wins, nested braces, \fbox, \boxed with a space
    ("so \\boxed{3} and finally \\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
    ("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),
    ("the result is \\fbox{42}.", "42"),
    ("$\\boxed 5$", "5"),
    ("\\boxed{7} then a truncated \\boxed{12", "7"),
    ("$$\\boxed{x^{2}+1}$$", "x^{2}+1"),
    # think: only the text after the last </think> counts
    ("<think>maybe \\boxed{3}</think>\n\nThe answer is \\boxed{4}.", "4"),
    ("<think>I think \\boxed{3}</think>\n\nso it is 9", "9"),
    ("reasoning with pre-filled think \\boxed{1}</think> final: \\boxed{2}", "2"),
    # anchors
    ("The final answer is $\\frac{3}{4}$. I hope it is correct.", "\\frac{3}{4}"),
    ("The final answer is 12.", "12"),
    ("Final Answer: The final answer is: \\( x = 5 \\)", "x = 5"),
    ("Some work.\nAnswer: 1,000", "1000"),
    ("**Answer:** 17", "17"),
    ("Answer: $18", "18"),
    # GSM8K marker beats trailing numbers
    ("She makes 9 * 2 = $18 a day.\n#### 18", "18"),
    ("#### 1,234.5", "1234.5"),
    # last number
    ("He pays 3 + 4 = 7 dollars, and then 12 more.", "12"),
    ("The ratio is 3/4", "3/4"),
    ("temperature fell to -5", "-5"),
    # nothing
    ("", None),
    ("no numbers here", None),
    ("<think>\\boxed{5}</think>", None),
]


@pytest.mark.parametrize(("response", "expected"), CASES)
def test_extract_answer(response, expected):
    assert extract_answer(response) == expected


def test_after_think_can_be_switched_off():
    assert extract_answer("<think>\\boxed{5}</think>", after_think=False) == "5"


@pytest.mark.parametrize(
    ("gold", "expected"),
    [
        ("\\frac{1}{2}", "\\frac{1}{2}"),
        ("$p - q$", "p - q"),
        (18, "18"),
        (2.0, "2"),
        (0.25, "0.25"),
        ("Janet sells 9 eggs.\n#### 18", "18"),
        ("so the answer is $\\boxed{\\text{(C)}}$.", "\\text{(C)}"),
        ("", None),
        (None, None),
    ],
)
def test_gold_answer(gold, expected):
    assert gold_answer(gold) == expected


@pytest.mark.timeout(60)  # a quadratic scan of these would run for many minutes
def test_hostile_responses_are_linear_time():
    hostile = [
        "\\boxed{" * 20_000,
        "{" * 100_000 + "\\boxed{1}",
        "final answer is " * 10_000,
        "Answer: " * 10_000 + "3",
        "1," * 50_000,
        "x" * 100_000,
        "$" * 100_000,
        "$a$ and " * 20_000,
        "\\boxed{1} or " * 20_000,
        "<|im_start|>" * 10_000,
        "\\[" * 50_000,
        "The answer is " + "x is " * 20_000,
        "<think>" * 20_000 + "12",
    ]
    results = [extract_answer(text) for text in hostile]
    assert results[0] is None
    assert results[1] == "1"


def test_last_boxed_ignores_escaped_braces():
    assert last_boxed("\\boxed{\\}}") == "\\}"
