"""The grader agrees with the benchmarks' own reference solutions (issue: >= 99.5% and 100%)."""

from __future__ import annotations

from r1lab.data import load_benchmark
from r1lab.grading import STATUS_OK, grade_many


def test_math500_reference_solutions_match_their_answers():
    data = load_benchmark("math500")
    grades = grade_many(list(data["solution"]), list(data["answer"]))
    accuracy = sum(g.correct for g in grades) / len(grades)
    assert accuracy >= 0.995, [(g.extracted, g.gold) for g in grades if not g.correct][:10]
    assert all(g.status == STATUS_OK for g in grades)


def test_gsm8k_reference_solutions_match_their_final_answers():
    data = load_benchmark("gsm8k")
    grades = grade_many(list(data["solution"]), list(data["answer"]))
    wrong = [(g.extracted, g.gold) for g in grades if not g.correct]
    assert not wrong, wrong[:10]
    assert len(grades) == 1319


def test_wrong_answers_are_caught_on_real_data():
    # The same data with each answer paired to the next problem's solution must mostly fail:
    # guards against a grader that says "correct" too easily.
    data = load_benchmark("math500")
    solutions, answers = list(data["solution"]), list(data["answer"])
    grades = grade_many(solutions[1:] + solutions[:1], answers)
    assert sum(g.correct for g in grades) / len(grades) < 0.05
