"""Metric functions against hand-computed cases."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from r1lab.evaluation import metrics as M


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (4, 1, 1, 0.25),  # pass@1 is the share correct
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (4, 2, 2, 5 / 6),  # 1 - C(2,2)/C(4,2) = 1 - 1/6
        (10, 3, 4, 5 / 6),  # 1 - C(7,4)/C(10,4) = 1 - 35/210
        (5, 0, 3, 0.0),
        (5, 5, 3, 1.0),
        (5, 3, 3, 1.0),  # n - c < k: every draw of 3 holds a correct one
        (64, 1, 64, 1.0),
    ],
)
def test_pass_at_k_hand_computed(n, c, k, expected):
    assert M.pass_at_k(n, c, k) == pytest.approx(expected)


@given(st.integers(1, 200).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_equals_binomial_formula(args):
    n, c, k = args
    exact = 1.0 - math.comb(n - c, k) / math.comb(n, k)
    assert M.pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-9)


def test_pass_at_k_rejects_impossible_counts():
    with pytest.raises(ValueError):
        M.pass_at_k(4, 5, 1)
    with pytest.raises(ValueError):
        M.pass_at_k(4, 1, 5)


def test_pass_at_k_mean_over_problems():
    correct = [[True, False, False, False], [True, True, False, False]]
    assert M.pass_at_k_mean(correct, 1) == pytest.approx((0.25 + 0.5) / 2)
    assert M.pass_at_k_mean(correct, 2) == pytest.approx((0.5 + 5 / 6) / 2)


def test_k_values():
    assert M.k_values(1) == [1]
    assert M.k_values(4) == [1, 2, 4]
    assert M.k_values(64) == [1, 2, 4, 8, 16, 32, 64]
    assert M.k_values(6) == [1, 2, 4, 6]


def test_standard_error_hand_computed():
    # mean 0.5; sample variance = 4 * 0.25 / 3 = 1/3; se = sqrt(1/3) / sqrt(4)
    assert M.standard_error([1, 0, 1, 0]) == pytest.approx(math.sqrt(1 / 3) / 2)
    assert M.standard_error([0.25, 0.75]) == pytest.approx(0.25)  # stdev 0.3536 / sqrt 2
    assert M.standard_error([1.0, 1.0, 1.0]) == 0.0
    assert M.standard_error([0.5]) is None


def test_majority_vote_counts_equivalence_classes():
    # Samples answered 1/2 (class 0) twice, 3 (class 1) three times; 3 is wrong.
    assert M.majority_vote([0, 1, 0, 1, 1], [True, False, True, False, False]) is False
    # Answers missing (None) never vote: one real answer beats four blanks.
    assert M.majority_vote([None, None, 2, None, None], [False, False, True, False, False]) is True
    assert M.majority_vote([None, None], [False, False]) is False


def test_majority_vote_tie_goes_to_the_first_seen_class():
    assert M.majority_vote([1, 0, 0, 1], [False, True, True, False]) is False
    assert M.majority_vote([0, 1, 1, 0], [True, False, False, True]) is True


def test_cons_at_n_mean():
    clusters = [[0, 0, 1], [0, 1, 1], [None, None, None]]
    correct = [[True, True, False], [True, False, False], [False, False, False]]
    assert M.cons_at_n(clusters, correct) == pytest.approx(1 / 3)


def test_truncation_rate_and_length_stats():
    assert M.truncation_rate([["stop", "length"], ["length", "stop"], ["stop", "stop"]]) == pytest.approx(
        2 / 6
    )
    stats = M.length_stats([10, 20, 30, 40, 100])
    assert stats == {"mean": 40.0, "median": 30.0, "p90": pytest.approx(76.0), "max": 100}
    assert M.length_stats([]) == {"mean": None, "median": None, "p90": None, "max": None}


def test_breakdown_by_level_sorts_numerically():
    table = M.breakdown([2, 10, 2, None], [[True, False], [True, True], [False, False], [True, True]])
    assert list(table) == ["2", "10"]
    assert table["2"]["num_problems"] == 2
    assert table["2"]["pass@1"] == pytest.approx(0.25)
    assert table["10"]["pass@1"] == 1.0


def test_summarize_keys_and_values():
    correct = [[True, False, False, False], [True, True, True, False], [False] * 4]
    clusters = [[0, 1, 1, 2], [0, 0, 0, 1], [None] * 4]
    reasons = [["stop"] * 4, ["stop", "stop", "stop", "length"], ["length"] * 4]
    m = M.summarize(correct, cluster_ids=clusters, finish_reasons=reasons)
    assert m["pass@1"] == pytest.approx((0.25 + 0.75 + 0) / 3)
    assert m["pass@1_stderr"] == pytest.approx(M.standard_error([0.25, 0.75, 0.0]))
    assert m["pass@2"] == pytest.approx((0.5 + 1.0 + 0) / 3)
    assert m["pass@4"] == pytest.approx(2 / 3)
    assert m["cons@4"] == pytest.approx(1 / 3)  # problem 1 votes the wrong class 1, problem 2 the right one
    assert m["truncation_rate"] == pytest.approx(5 / 12)
    assert all(0.0 <= v <= 1.0 for v in m.values())


def test_majority_vote_groups_equivalent_answers_with_the_verifier():
    from r1lab.grading import cluster_answers

    # Three ways to write 1/2 (correct) against two ways to write 3/4 (wrong).
    answers = ["3/4", "0.5", "\\frac{1}{2}", None, "\\frac34", "1/2"]
    correct = [False, True, True, False, False, True]
    clusters = cluster_answers(answers)
    assert clusters[1] == clusters[2] == clusters[5] and clusters[0] == clusters[4] and clusters[3] is None
    assert M.majority_vote(clusters, correct) is True  # 3 votes for 1/2 beat 2 for 3/4
    # As plain strings all six differ, and the tie would go to the first, wrong, answer.
    assert M.majority_vote(list(range(len(answers))), correct) is False
