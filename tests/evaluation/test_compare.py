"""Paired comparison statistics against hand-computed cases, and `r1lab compare` on run directories."""

import itertools
import json
import logging
import math

import pytest

from r1lab.cli import main
from r1lab.errors import DataError
from r1lab.evaluation.compare import compare_runs, paired_bootstrap_interval, sign_test
from r1lab.evaluation.leaderboard import build_leaderboard

# ----------------------------------------------------------------------------- statistics


def test_bootstrap_interval_of_opposite_problems_is_minus_one_to_one_and_contains_zero():
    # Two problems, B better on one and worse on the other: d = [+1, -1]. Resampling two problems
    # gives means -1, 0, 0, +1 with probability 1/4, 1/2, 1/4, so the 2.5th percentile is -1 and
    # the 97.5th is +1: the interval must be exactly [-1, 1], which contains zero.
    low, high = paired_bootstrap_interval([1.0, -1.0])
    assert (low, high) == (-1.0, 1.0)
    assert low <= 0 <= high


def test_bootstrap_interval_hand_computed_case_excludes_zero():
    # d = [1, 1, 1, 0]: the resampled mean is k/4 with k ~ Binomial(4, 3/4).
    # P(k = 0) = 1/256 = 0.4% < 2.5% and P(k <= 1) = 13/256 = 5.1% > 2.5%: the 2.5th percentile is 1/4.
    # P(k = 4) = 81/256 = 31.6% > 2.5%: the 97.5th percentile is 1.
    assert paired_bootstrap_interval([1.0, 1.0, 1.0, 0.0]) == (0.25, 1.0)


def test_bootstrap_interval_matches_exact_enumeration():
    diffs = [0.5, -0.25, 1.0, 0.0, 0.25]
    means = sorted(sum(c) / len(c) for c in itertools.product(diffs, repeat=len(diffs)))  # all 5^5 resamples

    def exact(q):
        position = (len(means) - 1) * q
        low = math.floor(position)
        return means[low] + (means[min(low + 1, len(means) - 1)] - means[low]) * (position - low)

    low, high = paired_bootstrap_interval(diffs, resamples=40_000)
    assert low == pytest.approx(exact(0.025), abs=0.05)
    assert high == pytest.approx(exact(0.975), abs=0.05)


def test_bootstrap_of_a_constant_difference_is_that_constant():
    assert paired_bootstrap_interval([0.5] * 7) == (0.5, 0.5)
    with pytest.raises(ValueError):
        paired_bootstrap_interval([])


@pytest.mark.parametrize(
    ("wins", "losses", "expected"),
    [
        (8, 0, 2 / 256),  # 2 * (1/2)^8
        (3, 0, 0.25),  # 2 * (1/2)^3
        (5, 5, 1.0),
        (0, 0, 1.0),
        (1, 9, 2 * 11 / 1024),  # 2 * (C(10,0) + C(10,1)) / 2^10
        (6, 2, 2 * 37 / 256),  # 2 * (1 + 8 + 28) / 2^8
    ],
)
def test_sign_test_hand_computed(wins, losses, expected):
    assert sign_test(wins, losses) == pytest.approx(expected)


# ----------------------------------------------------------------------------- run directories

SETTINGS = {
    "model": "m",
    "num_samples": 2,
    "temperature": 0.6,
    "top_p": 0.95,
    "max_tokens": 64,
    "prompt_template": "{problem}",
    "system_prompt": None,
    "api": "chat",
    "extra_body": {},
}


def write_run(
    root, name, correct, *, benchmark="math500", settings=None, golds=None, model=None, server=None
):
    """An evaluation output dir with details.jsonl, settings.json, results.json and a viewer."""
    out = root / name / benchmark
    out.mkdir(parents=True)
    details = []
    for i, flags in enumerate(correct):
        details.append(
            {
                "id": f"p{i}",
                "problem": f"What is {i}+{i}?",
                "gold": (golds or {}).get(i, str(2 * i)),
                "generations": [f"\\boxed{{{2 * i if ok else -1}}}" for ok in flags],
                "extracted": [str(2 * i) if ok else "-1" for ok in flags],
                "correct": list(flags),
                "grade_status": ["ok"] * len(flags),
                "clusters": [0 if ok else 1 for ok in flags],
                "finish_reasons": ["stop"] * len(flags),
                "completion_tokens": [10] * len(flags),
            }
        )
    (out / "details.jsonl").write_text("".join(json.dumps(d) + "\n" for d in details))
    (out / "settings.json").write_text(json.dumps({**SETTINGS, **(settings or {}), "model": model or name}))
    rates = [sum(f) / len(f) for f in correct]
    mean = sum(rates) / len(rates)
    se = (sum((r - mean) ** 2 for r in rates) / (len(rates) - 1)) ** 0.5 / len(rates) ** 0.5
    results = {
        "benchmark": benchmark,
        "model": model or name,
        "num_samples": len(correct[0]),
        "metrics": {"pass@1": mean, "pass@1_stderr": se},
        **({"environment": {"server": server}} if server else {}),
    }
    (out / "results.json").write_text(json.dumps(results))
    (out / "viewer.html").write_text("<html></html>")
    return root / name


def test_compare_counts_flips_and_links_them_into_the_viewers(tmp_path, capsys):
    # 20 problems, 2 samples: B gains on p0..p9 (0 -> 1), loses on p10 (1 -> 0.5), ties on the rest.
    a = [[False, False]] * 10 + [[True, True]] + [[True, False]] * 9
    b = [[True, True]] * 10 + [[True, False]] + [[True, False]] * 9
    run_a, run_b = write_run(tmp_path, "base", a), write_run(tmp_path, "sft", b)
    (c,) = compare_runs(run_a, run_b)
    assert c.num_problems == 20 and c.num_samples == 2
    assert c.pass_at_1_a == pytest.approx(0.275) and c.pass_at_1_b == pytest.approx(0.75)
    assert c.difference == pytest.approx(0.475)  # (10 * 1 - 0.5) / 20
    assert (c.b_better, c.a_better, c.ties) == (10, 1, 9)
    assert c.sign_p == pytest.approx(2 * 12 / 2048)  # 2 * (C(11,0) + C(11,1)) / 2^11
    assert [f["id"] for f in c.to_b] == [f"p{i}" for i in range(10)] and [f["id"] for f in c.to_a] == ["p10"]
    low, high = c.interval
    # a resample without any of the ten gains has probability 2^-20: the interval is clear of zero
    assert 0.2 < low < c.difference < high < 0.75
    assert not c.within_noise and c.verdict() == "B is better"

    assert (
        main(
            [
                "compare",
                str(run_a),
                str(run_b),
                "--html",
                str(tmp_path / "cmp.html"),
                "--json",
                str(tmp_path / "c.json"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "difference B - A: +47.5 points, 95% CI [" in out
    assert "B higher on 10, A higher on 1, tied on 9 of 20 problems" in out
    assert f"{run_b}/math500/viewer.html#problem=p0" in out
    page = (tmp_path / "cmp.html").read_text()
    assert (
        'href="sft/math500/viewer.html#problem=p3"' in page
        and 'href="base/math500/viewer.html#problem=p10"' in page
    )
    saved = json.loads((tmp_path / "c.json").read_text())
    assert saved[0]["within_noise"] is False and saved[0]["interval"] == [low, high]


def test_compare_equal_runs_is_within_noise(tmp_path, capsys):
    a = [[True, False], [False, True], [True, True], [False, False]]
    b = [[False, True], [True, False], [True, True], [False, False]]  # same pass rates, other samples
    (c,) = compare_runs(write_run(tmp_path, "a", a), write_run(tmp_path, "b", b))
    assert c.difference == 0 and c.interval == (0.0, 0.0) and c.within_noise
    assert c.sign_p == 1.0 and not c.to_a and not c.to_b
    swapped = [[True], [False]]
    (c,) = compare_runs(write_run(tmp_path, "x", swapped), write_run(tmp_path, "y", swapped[::-1]))
    assert c.interval == (-1.0, 1.0) and c.within_noise and c.verdict().startswith("within noise")


def test_compare_refuses_other_settings_and_other_problems(tmp_path, capsys, caplog):
    flags = [[True, False]] * 3
    base = write_run(tmp_path, "base", flags)
    hot = write_run(tmp_path, "hot", flags, settings={"temperature": 1.0, "max_tokens": 128})
    with pytest.raises(
        DataError, match=r"different sampling settings \(max_tokens: 64 vs 128; temperature: 0.6 vs 1.0\)"
    ):
        compare_runs(base, hot)
    fewer = write_run(tmp_path, "fewer", flags[:2])
    with pytest.raises(DataError, match=r"different problems: 1 only in A \(e.g. \['p2'\]\), 0 only in B"):
        compare_runs(base, fewer)
    other_gold = write_run(tmp_path, "gold", flags, golds={1: "7"})
    with pytest.raises(DataError, match="different gold answers"):
        compare_runs(base, other_gold)
    other_bench = write_run(tmp_path, "gsm", flags, benchmark="gsm8k")
    with pytest.raises(DataError, match=r"no benchmark in common: A has \['math500'\], B has \['gsm8k'\]"):
        compare_runs(base, other_bench)
    # on the command line: one clear line, no traceback
    assert main(["compare", str(base), str(hot)]) == 2
    assert "different sampling settings" in caplog.text and "Traceback" not in caplog.text


def test_leaderboard_marks_scores_within_noise_of_the_best(tmp_path):
    # a and b are paired on the same problems: b is a hair better, well within noise; c is far behind.
    a = [[True], [False]] * 10
    b = [[True], [False]] * 9 + [[True], [True]]
    c = [[False], [False]] * 9 + [[True], [False]]
    runs = [write_run(tmp_path, name, flags) for name, flags in (("a", a), ("b", b), ("c", c))]
    text = build_leaderboard(runs)
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines()[2:5]}
    assert "≈" in rows["a"] and "≈" not in rows["b"] and "≈" not in rows["c"]
    assert "within noise of the column's best" in text


def test_compare_warns_when_the_runs_were_served_in_different_dtypes(tmp_path, caplog):
    correct = [[True, False]] * 4
    bf16 = {"kind": "vllm", "mode": "dtype bfloat16, eager", "version": "0.32.0"}
    fp32 = {**bf16, "mode": "dtype float32, eager"}
    a = write_run(tmp_path, "base", correct, server=bf16)
    b = write_run(tmp_path, "trained", correct, server=fp32)
    c = write_run(tmp_path, "again", correct, server=fp32)
    with caplog.at_level(logging.WARNING, logger="r1lab.evaluation.compare"):
        compare_runs(b, c)
        assert not caplog.records  # served alike: nothing to say
        compare_runs(a, b)
    assert "vllm dtype bfloat16, eager vs vllm dtype float32, eager" in caplog.text
