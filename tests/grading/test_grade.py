"""Grading through the pool: a table of (gold, response, correct) as in math-verify's own tests,
the outcome vocabulary, argument order, clustering, and calls from threads."""

from __future__ import annotations

import threading

import pytest

from r1lab.grading import (
    STATUS_NO_ANSWER,
    STATUS_OK,
    STATUS_UNPARSEABLE_GOLD,
    cluster_answers,
    grade,
    grade_many,
)

TABLE = [
    # (gold, response, correct)
    ("\\frac{1}{2}", "The answer is \\boxed{0.5}", True),
    ("0.5", "\\boxed{\\frac12}", True),
    ("\\frac{1}{2}", "\\boxed{\\frac{2}{3}}", False),
    ("18", "She makes $18.\n#### 18", True),
    ("1000", "Answer: 1,000", True),
    ("10\\%", "\\boxed{0.1}", True),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "\\boxed{(3, \\pi/2)}", True),
    ("p - q", "\\boxed{-q + p}", True),
    ("x^2+2x+1", "\\boxed{(x+1)^2}", True),
    ("\\sqrt{8}", "\\boxed{2\\sqrt{2}}", True),
    ("\\text{Evelyn}", "\\boxed{\\text{Evelyn}}", True),
    ("5", "<think>it is \\boxed{5}?</think>\n\nNo: \\boxed{6}", False),
    ("6", "<think>it is \\boxed{5}?</think>\n\nNo: \\boxed{6}", True),
    ("Janet sells 16 - 3 - 4 = 9 eggs.\n#### 18", "\\boxed{18}", True),  # gold as a GSM8K solution
    ("so it is $\\boxed{\\frac{3}{4}}$.", "The final answer is $0.75$", True),  # gold as a MATH solution
    ("7", "\\boxed{7.0000001}", False),
]


def test_table():
    golds, responses, expected = zip(*TABLE, strict=True)
    grades = grade_many(list(responses), list(golds))
    mismatches = [
        (g, r, e, got)
        for g, r, e, got in zip(golds, responses, expected, grades, strict=True)
        if got.correct != e
    ]
    assert not mismatches
    assert all(g.status == STATUS_OK for g in grades)


def test_gold_comes_first():
    # math-verify is asymmetric: an inequality gold accepts an interval answer, not the reverse.
    # Rewards and evaluation disagreed in Open-R1 when some call sites swapped the arguments.
    assert grade("\\boxed{(1,2)}", "1<x<2").correct
    assert not grade("\\boxed{1<x<2}", "(1,2)").correct


def test_outcomes():
    no_answer = grade("I do not know.", "3")
    assert (no_answer.correct, no_answer.status, no_answer.extracted) == (False, STATUS_NO_ANSWER, None)
    bad_gold = grade("\\boxed{3}", "\\frac{")
    assert (bad_gold.correct, bad_gold.status, bad_gold.extracted) == (False, STATUS_UNPARSEABLE_GOLD, "3")
    assert not bad_gold.counts
    # the gold decides: an unparseable gold stays unparseable whatever the response says
    assert grade("nothing", "").status == STATUS_UNPARSEABLE_GOLD
    broken = grade("\\boxed{\\frac{1}}", "2")  # a prediction math-verify cannot parse is simply wrong
    assert (broken.status, broken.correct) == (STATUS_OK, False)
    assert grade("\\boxed{\\frac{}", "2").status == STATUS_NO_ANSWER  # an unclosed box is no answer


def test_responses_of_other_types_and_length_mismatch():
    from r1lab.errors import R1labError

    assert grade(None, "1").status == STATUS_NO_ANSWER
    with pytest.raises(R1labError):
        grade_many(["a"], ["1", "2"])


def test_in_process_mode_agrees_with_the_pool():
    golds, responses, _ = zip(*TABLE, strict=True)
    assert grade_many(list(responses), list(golds), workers=0) == grade_many(list(responses), list(golds))


def test_cluster_answers():
    answers = ["0.5", "\\frac{1}{2}", None, "1/2", "3", " 3 ", "x+1", "1+x", "", "0.50"]
    assert cluster_answers(answers) == [0, 0, None, 0, 1, 1, 2, 2, None, 0]
    assert cluster_answers([]) == []


def test_safe_from_threads():
    results: dict[int, list] = {}

    def work(k: int) -> None:
        responses = [f"\\boxed{{{k + i}}}" for i in range(20)]
        golds = [str(k + i) if i % 2 == 0 else str(k + i + 1) for i in range(20)]
        results[k] = [g.correct for g in grade_many(responses, golds)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[k] == [i % 2 == 0 for i in range(20)] for k in range(6))
