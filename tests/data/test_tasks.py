"""Procedural tasks: deterministic, correct answers, traces that reach them, a leak-free split."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from r1lab.data.tasks import (
    evaluate_countdown,
    make_arithmetic,
    make_countdown,
    make_task,
    shows_working,
    train_test_split,
)
from r1lab.errors import ConfigError


def _expression(problem: str) -> str:
    return re.fullmatch(r"What is (.+)\?", problem).group(1)


@pytest.mark.parametrize(
    "params",
    [
        {"digits": 2, "ops": "+"},
        {"digits": 3, "ops": "+-"},
        {"digits": 2, "ops": "+-*", "num_terms": 3},
        {"digits": 4, "ops": "*"},
    ],
)
def test_arithmetic_answers_are_the_value_of_the_expression(params):
    rows = make_arithmetic(200, seed=3, **params)
    assert len(rows) == 200
    for row in rows:
        assert int(row["answer"]) == eval(_expression(row["problem"]))  # digits and + - * ( ) only
        # the trace ends by stating the result it reached
        assert row["reasoning"].splitlines()[-1].endswith("=" + row["answer"])


def test_arithmetic_is_deterministic_by_seed_and_unique():
    assert make_arithmetic(50, seed=1) == make_arithmetic(50, seed=1)
    assert make_arithmetic(50, seed=1) != make_arithmetic(50, seed=2)
    rows = make_arithmetic(2000, digits=2)
    assert len({r["problem"] for r in rows}) == len({r["id"] for r in rows}) == 2000


@pytest.mark.parametrize("num_terms", [2, 3])
def test_short_traces_keep_only_the_result_lines_of_the_chosen_share(num_terms):
    full = make_arithmetic(1000, seed=4, ops="+-", num_terms=num_terms)
    mixed = make_arithmetic(1000, seed=4, ops="+-", num_terms=num_terms, short_trace_fraction=0.3)
    assert [r["problem"] for r in mixed] == [r["problem"] for r in full]  # same problems, same answers
    assert [r["answer"] for r in mixed] == [r["answer"] for r in full]
    short = 0
    for long_row, row in zip(full, mixed, strict=True):
        lines = row["reasoning"].splitlines()
        if row["reasoning"] == long_row["reasoning"]:
            assert shows_working(row["reasoning"])  # the column working is there
            continue
        short += 1
        assert lines == [line for line in long_row["reasoning"].splitlines() if line.startswith("so ")]
        assert len(lines) == num_terms - 1 and lines[-1].endswith("=" + row["answer"])
        assert not shows_working(row["reasoning"])
    assert 0.25 < short / len(full) < 0.35
    # the choice is fixed by the problem alone: a subset of the rows gets the same traces
    assert (
        make_arithmetic(100, seed=4, ops="+-", num_terms=num_terms, short_trace_fraction=0.3) == mixed[:100]
    )
    assert all(
        len(r["reasoning"].splitlines()) == num_terms - 1
        for r in make_arithmetic(50, seed=4, num_terms=num_terms, short_trace_fraction=1.0)
    )


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 99999), st.integers(0, 99999))
def test_addition_trace_carries_correctly(a, b):
    from r1lab.data.tasks import _add_trace

    lines = _add_trace(a, b)
    assert lines[-1] == f"so {a}+{b}={a + b}"
    written = [int(m.group(1)) for line in lines if (m := re.search(r"write (\d)$", line))]
    assert written == [int(d) for d in str(a + b)[::-1]][: len(written)]


def test_countdown_answers_reach_the_target_with_every_number_once():
    rows = make_countdown(300, num_numbers=4, seed=5)
    assert len({r["problem"] for r in rows}) == 300
    for row in rows:
        assert 1 <= row["target"] <= 100
        assert evaluate_countdown(row["answer"], row["nums"]) == row["target"]
        assert str(row["target"]) in row["problem"] and str(row["nums"]) in row["problem"]
        assert row["reasoning"].splitlines()[-1].endswith(f"={row['target']}")
    assert make_countdown(20, seed=9) == make_countdown(20, seed=9)


@pytest.mark.parametrize(
    ("expression", "nums", "expected"),
    [
        ("(3+5)*2", [2, 3, 5], 16.0),
        ("3+5", [2, 3, 5], None),  # 2 unused
        ("3+5+5", [3, 5], None),  # 5 used twice
        ("8/(2-2)", [8, 2, 2], None),  # division by zero
        ("__import__('os')", [1], None),
        ("2**3", [2, 3], None),  # only + - * /
        ("", [1], None),
    ],
)
def test_evaluate_countdown(expression, nums, expected):
    assert evaluate_countdown(expression, nums) == expected


def test_split_is_disjoint_order_independent_and_stable():
    rows = make_arithmetic(1000, seed=0)
    train, test = train_test_split(rows, 0.2, seed=0)
    assert len(train) + len(test) == 1000
    assert 120 < len(test) < 280
    assert not {r["problem"] for r in train} & {r["problem"] for r in test}
    train2, test2 = train_test_split(list(reversed(rows)), 0.2, seed=0)
    assert {r["id"] for r in test2} == {r["id"] for r in test}
    # a problem generated in another set lands on the same side
    other_train, other_test = train_test_split(make_arithmetic(500, seed=7), 0.2, seed=0)
    test_ids = {r["id"] for r in test}
    train_ids = {r["id"] for r in train}
    assert not {r["id"] for r in other_test} & train_ids
    assert not {r["id"] for r in other_train} & test_ids


def test_errors_read_well():
    with pytest.raises(ConfigError, match="could only find 100 distinct"):
        make_arithmetic(101, digits=1)
    with pytest.raises(ConfigError, match="unknown task 'countdwn'; tasks are: arithmetic, countdown"):
        make_task("countdwn", 3)
    with pytest.raises(ConfigError, match="did you mean 'digits'"):
        make_task("arithmetic", 3, digts=2)
    with pytest.raises(ConfigError, match="ops must be drawn from"):
        make_arithmetic(3, ops="/")
    with pytest.raises(ConfigError, match=r"short_trace_fraction must lie in \[0, 1\], got 1.5"):
        make_arithmetic(3, short_trace_fraction=1.5)
